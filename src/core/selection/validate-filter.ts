import { UsageError } from '../../errors.js';

/** `--since/--until/--types` as a predicate over Records and Workouts; shared with upload's batches. */
export interface RecordFilter {
  /** Inclusive local calendar day `YYYY-MM-DD`, compared with the first 10 characters of startDate. */
  since?: string;
  until?: string;
  /** Full identifiers after expansion (`HeartRate` → `HKQuantityTypeIdentifierHeartRate`). */
  types?: ReadonlySet<string>;
  /** The names as given, for the report. */
  typeNames?: string[];
}

const DAY_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const PREFIXES = [
  'HKQuantityTypeIdentifier',
  'HKCategoryTypeIdentifier',
  'HKDataType',
  'HKWorkoutActivityType',
];

/** Builds a filter from raw flag values; bad values are usage errors (exit 2). */
export function parseFilter(raw: { since?: string; until?: string; types?: string }): RecordFilter {
  const filter: RecordFilter = {};
  for (const key of ['since', 'until'] as const) {
    const v = raw[key]?.trim();
    if (v === undefined || v === '') continue;
    if (!DAY_RE.test(v)) throw new UsageError(`--${key} must be a date like 2024-01-31, got "${v}"`);
    filter[key] = v;
  }
  if (filter.since && filter.until && filter.since > filter.until)
    throw new UsageError(`--since ${filter.since} is after --until ${filter.until}`);
  if (raw.types !== undefined) {
    const names = raw.types
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    if (names.length === 0) throw new UsageError('--types needs at least one type, e.g. HeartRate,StepCount');
    const set = new Set<string>();
    for (const n of names) {
      set.add(n);
      if (!PREFIXES.some((p) => n.startsWith(p))) for (const p of PREFIXES) set.add(`${p}${n}`);
    }
    filter.types = set;
    filter.typeNames = names;
  }
  return filter;
}

export function isFilterActive(f: RecordFilter): boolean {
  return f.since !== undefined || f.until !== undefined || f.types !== undefined;
}

/**
 * Whether an element with this type and startDate is selected. Days are the export's own local days (the
 * date as written), never the importing machine's zone (format §2.8). A Workout matches `--types` by
 * `Workout` or its activity type.
 */
export function matchesFilter(
  f: RecordFilter,
  type: string | undefined,
  startDate: string | undefined,
  isWorkout = false,
): boolean {
  if (f.types !== undefined) {
    if (
      isWorkout
        ? !(f.types.has('Workout') || (type !== undefined && f.types.has(type)))
        : type === undefined || !f.types.has(type)
    )
      return false;
  }
  if (f.since !== undefined || f.until !== undefined) {
    if (startDate === undefined || startDate.length < 10) return false;
    const day = startDate.slice(0, 10);
    if (f.since !== undefined && day < f.since) return false;
    if (f.until !== undefined && day > f.until) return false;
  }
  return true;
}
