// What the direct path sends is exactly what the backend imports: one table, in core/validate (contract §5.3).
export {
  isImportedRecordType,
  MAPPED_QUANTITY_TYPES as MAPPED_RECORD_TYPES,
  SERIES_BY_SHORT_TYPE,
  SLEEP_TYPE,
} from '../validate/mapped-types.js';

/** The pseudo type used for Workouts in counts and filters. */
export const WORKOUT_TYPE = 'Workout';
