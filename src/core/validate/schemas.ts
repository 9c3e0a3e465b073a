import { z } from 'zod';
import { MAPPED_QUANTITY_TYPES, SLEEP_STAGES, SLEEP_TYPE } from '../selection/mapped-types.js';

/**
 * What the backend's parser accepts, as zod schemas (contract §5.3, §5.5, §5.6). The collector runs the
 * equivalent hand-written checks in `checkRecord`/`checkWorkout` first, because it sees millions of
 * elements; the schemas describe the rule and explain a failure.
 */

/** Python `%Y-%m-%d %H:%M:%S %z`, exactly: the backend's strptime format (contract §5.3 step 3). */
export const APPLE_DATE_RE =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:([0-5]\d|6[01]) [+-]\d{4}$/;

/** A decimal the backend's `Decimal(value)` accepts and its numeric column can hold (no NaN/Infinity). */
export const NUMERIC_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export const AppleDate = z.string().regex(APPLE_DATE_RE, 'expected YYYY-MM-DD HH:MM:SS ±HHMM');
export const NumericValue = z.string().regex(NUMERIC_RE, 'expected a decimal number');

export const RecordAttrs = z.object({
  type: z.string().min(1),
  sourceName: z.string().min(1),
  startDate: AppleDate,
  endDate: AppleDate,
  value: z.string().optional(),
});

export const QuantityRecordAttrs = RecordAttrs.extend({ value: NumericValue });

export const SleepRecordAttrs = RecordAttrs.extend({
  value: z.string().refine((v) => SLEEP_STAGES.has(v), 'unknown sleep stage'),
});

export const WorkoutAttrs = z.object({
  workoutActivityType: z.string().min(1),
  sourceName: z.string().min(1),
  startDate: AppleDate,
  endDate: AppleDate,
});

export type IssueKind =
  | 'missing-attribute'
  | 'malformed-date'
  | 'missing-value'
  | 'non-numeric-value'
  | 'unknown-sleep-stage';

export interface AttributeIssue {
  kind: IssueKind;
  attribute: string;
  value?: string;
}

function schemaFor(type: string | undefined): z.ZodType<unknown> {
  if (type === SLEEP_TYPE) return SleepRecordAttrs;
  if (type !== undefined && MAPPED_QUANTITY_TYPES.has(type)) return QuantityRecordAttrs;
  return RecordAttrs;
}

/** Turns zod issues into report issues (only runs on the rare failing element). */
function explain(
  schema: z.ZodType<unknown>,
  attrs: Record<string, string>,
  type: string | undefined,
): AttributeIssue[] {
  const result = schema.safeParse(attrs);
  if (result.success) return [];
  return result.error.issues.map((issue): AttributeIssue => {
    const attribute = String(issue.path[0] ?? '');
    const value = attrs[attribute];
    if (value === undefined)
      return {
        kind: attribute === 'value' && type !== undefined ? 'missing-value' : 'missing-attribute',
        attribute,
      };
    if (attribute === 'startDate' || attribute === 'endDate')
      return { kind: 'malformed-date', attribute, value };
    if (attribute === 'value')
      return { kind: type === SLEEP_TYPE ? 'unknown-sleep-stage' : 'non-numeric-value', attribute, value };
    return { kind: 'missing-attribute', attribute, value };
  });
}

/** Issues that make the backend skip (or fail on) this Record; empty when it imports cleanly. */
export function checkRecord(attrs: Record<string, string>): AttributeIssue[] {
  const type = attrs.type;
  const s = attrs.startDate;
  const e = attrs.endDate;
  const base =
    type !== undefined &&
    type !== '' &&
    attrs.sourceName !== undefined &&
    attrs.sourceName !== '' &&
    s !== undefined &&
    APPLE_DATE_RE.test(s) &&
    (e === s || (e !== undefined && APPLE_DATE_RE.test(e)));
  if (base) {
    if (type === SLEEP_TYPE) {
      if (attrs.value !== undefined && SLEEP_STAGES.has(attrs.value)) return [];
    } else if (MAPPED_QUANTITY_TYPES.has(type)) {
      if (attrs.value !== undefined && NUMERIC_RE.test(attrs.value)) return [];
    } else return [];
  }
  return explain(schemaFor(type), attrs, type);
}

/** Issues that make the backend fail this Workout (contract §5.6); empty when fine. */
export function checkWorkout(attrs: Record<string, string>): AttributeIssue[] {
  const s = attrs.startDate;
  const e = attrs.endDate;
  if (
    attrs.workoutActivityType &&
    attrs.sourceName &&
    s !== undefined &&
    e !== undefined &&
    APPLE_DATE_RE.test(s) &&
    APPLE_DATE_RE.test(e)
  )
    return [];
  return explain(WorkoutAttrs, attrs, undefined);
}

/** Epoch milliseconds of a well-formed Apple date (callers check the format first). */
export function appleDateToEpoch(d: string): number {
  const ms = Date.UTC(
    +d.slice(0, 4),
    +d.slice(5, 7) - 1,
    +d.slice(8, 10),
    +d.slice(11, 13),
    +d.slice(14, 16),
    +d.slice(17, 19),
  );
  const sign = d.charCodeAt(20) === 45 ? -1 : 1;
  const off = sign * (+d.slice(21, 23) * 60 + +d.slice(23, 25));
  return ms - off * 60000;
}
