/**
 * The backend's XML import, element by element (contract §5.1–5.6, current §3; the code is
 * `XMLService.parse_xml` in open-wearables, whose order of checks this keeps): whether an element is
 * imported, as what, and if not, why. Pure and allocation-free: a consumer fills ElementFields (from a
 * tape or from decoded strings) and gets an outcome code; `verdict` says which field decided and what
 * apple-import would repair.
 *
 * The sandbox's importer (src/sandbox/backend/xml-import.ts) is a second, independent reading of the
 * same contract on purpose: tests hold the two to the same counts, so neither can drift alone.
 */

import { SLEEP_STAGES } from '../selection/mapped-types.js';
import {
  appleShapeDate,
  backendDate,
  isCompactDate,
  isoDate,
  lastAppleShape,
  strptimeDate,
} from './dates.js';
import {
  type ElementFields,
  F_ACTIVITY,
  F_CREATION,
  F_END,
  F_SOURCE_NAME,
  F_START,
  F_VALUE,
  F_XMLNS,
} from './fields.js';
import { KIND_QUANTITY, KIND_SLEEP, type RecordType } from './record-types.js';
import { judgeValue, VALUE_INVALID, VALUE_OUT_OF_RANGE } from './values.js';

/** Imported: a time-series sample, a sleep sample, a workout. */
export const IMPORT_RECORD = 0;
export const IMPORT_SLEEP = 1;
export const IMPORT_WORKOUT = 2;
/** A Record type outside the metric map: dropped without a word (§5.2). */
export const SKIP_UNMAPPED_TYPE = 3;
/** `invalid_value`: no value, a blank one, or not a decimal (§5.3 step 2). */
export const SKIP_INVALID_VALUE = 4;
/** `invalid_date`: startDate, endDate or creationDate not in `%Y-%m-%d %H:%M:%S %z` (§5.3 step 3). */
export const SKIP_INVALID_DATE = 5;
/** The same skip for a date in the iOS 8-era compact form, which apple-import can rewrite. */
export const SKIP_OLD_DATE_FORMAT = 6;
/** `missing_startDate`. */
export const SKIP_MISSING_START_DATE = 7;
/** `unknown_sleep_stage` (§5.5). */
export const SKIP_UNKNOWN_SLEEP_STAGE = 8;
/** A Workout without workoutActivityType, sourceName, startDate or endDate (§5.6: the task logs it as skipped). */
export const SKIP_MISSING_ATTRIBUTE = 9;
/** A Workout whose heart-rate statistic is NaN or infinite: `int()` of it raises and the workout is skipped. */
export const SKIP_INVALID_STATISTIC = 10;
/** In a default namespace: ElementTree names it `{ns}Record`, which the import never matches. */
export const SKIP_FOREIGN_NAMESPACE = 11;
/** A top-level element the import never reads: ActivitySummary, ClinicalRecord, Audiogram, … (§5.2). */
export const SKIP_NOT_IMPORTED = 12;
/** Read, but its value does not fit the column: the chunk's insert fails, and the task (§5.4). */
export const FAIL_VALUE_OUT_OF_RANGE = 13;
export const OUTCOMES = 14;

/** Stable names of the outcomes: validate --json's willSkip keys. */
export const OUTCOME_KEYS: readonly string[] = [
  'record',
  'sleep',
  'workout',
  'unmapped-type',
  'invalid-value',
  'invalid-date',
  'old-date-format',
  'missing-start-date',
  'unknown-sleep-stage',
  'missing-attribute',
  'invalid-statistic',
  'foreign-namespace',
  'not-imported-element',
  'value-out-of-range',
];

export function isImported(outcome: number): boolean {
  return outcome <= IMPORT_WORKOUT;
}

export function isSkipped(outcome: number): boolean {
  return outcome >= SKIP_UNMAPPED_TYPE && outcome <= SKIP_NOT_IMPORTED;
}

/** Repairs apple-import can make to an element (verdict.repaired bits). */
export const REPAIR_DATE_FORMAT = 1;

export interface JudgeOptions {
  /** Dates in the compact form count as rewritten into the backend's format (the upload does it). */
  convertDates?: boolean;
}

/** What the last judge call found besides its outcome. */
export const verdict = {
  /** The field (fields.ts) whose value decided a skip or failure; -1 for none. */
  field: -1,
  /** REPAIR_* bits the outcome assumes. */
  repaired: 0,
  /** Instants of startDate and endDate (epoch ms; NaN when absent or unreadable). */
  startMs: Number.NaN,
  endMs: Number.NaN,
  /** Whether startDate was read, and appleShapeDate's reading of it (the report's months): see appleShape. */
  shaped: false,
  startShape: Number.NaN,
};

const SLEEP_DATES = [F_START, F_END];
const DATES = [F_START, F_END, F_CREATION];
const WORKOUT_REQUIRED = [F_ACTIVITY, F_START, F_END, F_SOURCE_NAME];

/** Records' and workouts' dates: strptime, or the compact form rewritten when allowed. */
function dateOf(f: ElementFields, field: number, convert: boolean): number {
  const a = f.start[field]!;
  const b = f.end[field]!;
  const t = strptimeDate(f.bytes, a, b);
  if (!Number.isNaN(t) || !convert || !isCompactDate(f.bytes, a, b)) return t;
  verdict.repaired |= REPAIR_DATE_FORMAT;
  return compactInstant(f, field);
}

function compactInstant(f: ElementFields, field: number): number {
  const text = Buffer.from(
    f.bytes.buffer,
    f.bytes.byteOffset + f.start[field]!,
    f.end[field]! - f.start[field]!,
  );
  const rewritten = Buffer.from(backendDate(text.toString('latin1'))!, 'latin1');
  return strptimeDate(rewritten, 0, rewritten.length);
}

/** The skip for an unreadable date in `field`. */
function badDate(f: ElementFields, field: number): number {
  verdict.field = field;
  return isCompactDate(f.bytes, f.start[field]!, f.end[field]!) ? SKIP_OLD_DATE_FORMAT : SKIP_INVALID_DATE;
}

function foreign(f: ElementFields): boolean {
  return f.start[F_XMLNS]! >= 0 && f.end[F_XMLNS]! > f.start[F_XMLNS]!;
}

function reset(): void {
  verdict.field = -1;
  verdict.repaired = 0;
  verdict.startMs = Number.NaN;
  verdict.endMs = Number.NaN;
  verdict.shaped = false;
}

/** Notes appleShapeDate's reading of startDate, which its reading for the backend has just made. */
function shaped(f: ElementFields): void {
  verdict.shaped = true;
  verdict.startShape = f.end[F_START]! - f.start[F_START]! === 25 ? lastAppleShape() : Number.NaN;
}

/**
 * A `Record` (top-level, in a Correlation, or anywhere: the import matches every Record end event):
 * IMPORT_RECORD, IMPORT_SLEEP, or why not.
 */
export function judgeRecord(f: ElementFields, type: RecordType, opts: JudgeOptions = {}): number {
  reset();
  if (foreign(f)) {
    verdict.field = F_XMLNS;
    return SKIP_FOREIGN_NAMESPACE;
  }
  const convert = opts.convertDates === true;
  if (type.kind === KIND_SLEEP) {
    // §5.5: the stage first, then both dates through fromisoformat (a missing one reads as 'None').
    if (!sleepStage(f)) {
      verdict.field = F_VALUE;
      return SKIP_UNKNOWN_SLEEP_STAGE;
    }
    for (const field of SLEEP_DATES) {
      const a = f.start[field]!;
      if (a < 0) {
        verdict.field = field;
        return SKIP_INVALID_DATE;
      }
      let t = isoDate(f.bytes, a, f.end[field]!);
      if (field === F_START) shaped(f);
      if (Number.isNaN(t)) {
        if (!convert || !isCompactDate(f.bytes, a, f.end[field]!)) return badDate(f, field);
        verdict.repaired |= REPAIR_DATE_FORMAT;
        t = compactInstant(f, field);
      }
      if (field === F_START) verdict.startMs = t;
      else verdict.endMs = t;
    }
    return IMPORT_SLEEP;
  }
  if (type.kind !== KIND_QUANTITY) return SKIP_UNMAPPED_TYPE;
  const value = judgeValue(f.bytes, f.start[F_VALUE]!, f.end[F_VALUE]!);
  if (value === VALUE_INVALID) {
    verdict.field = F_VALUE;
    return SKIP_INVALID_VALUE;
  }
  for (const field of DATES) {
    if (f.start[field]! < 0) continue;
    // endDate is often startDate again: the same bytes need no second reading.
    const t = field === F_END && sameAsStart(f) ? verdict.startMs : dateOf(f, field, convert);
    if (field === F_START) shaped(f);
    if (Number.isNaN(t)) return badDate(f, field);
    if (field === F_START) verdict.startMs = t;
    else if (field === F_END) verdict.endMs = t;
  }
  if (f.start[F_START]! < 0) {
    verdict.field = F_START;
    return SKIP_MISSING_START_DATE;
  }
  if (value === VALUE_OUT_OF_RANGE) {
    verdict.field = F_VALUE;
    return FAIL_VALUE_OUT_OF_RANGE;
  }
  return IMPORT_RECORD;
}

function sameAsStart(f: ElementFields): boolean {
  const a = f.start[F_START]!;
  const b = f.start[F_END]!;
  const n = f.end[F_START]! - a;
  if (a < 0 || n !== f.end[F_END]! - b || Number.isNaN(verdict.startMs)) return false;
  const bytes = f.bytes;
  for (let i = 0; i < n; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

/** Sleep `value`s the backend maps, as bytes, by length (a handful). */
const STAGE_BYTES = [...SLEEP_STAGES.keys()].map((k) => Buffer.from(k, 'latin1'));

function sleepStage(f: ElementFields): boolean {
  const a = f.start[F_VALUE]!;
  if (a < 0) return false;
  const n = f.end[F_VALUE]! - a;
  const bytes = f.bytes;
  outer: for (const stage of STAGE_BYTES) {
    if (stage.length !== n) continue;
    for (let i = n - 1; i >= 0; i--) if (bytes[a + i] !== stage[i]) continue outer;
    return true;
  }
  return false;
}

/**
 * A `Workout`: IMPORT_WORKOUT or why not (§5.6). `badStatistic`: a direct WorkoutStatistics child
 * fails the import's `int()` (statisticFails). On import, verdict.startMs/endMs hold its instants,
 * which with its device model are its key in the backend (see workoutKey).
 */
export function judgeWorkout(f: ElementFields, badStatistic: boolean, opts: JudgeOptions = {}): number {
  reset();
  if (foreign(f)) {
    verdict.field = F_XMLNS;
    return SKIP_FOREIGN_NAMESPACE;
  }
  // The statistics are read before the workout itself.
  if (badStatistic) return SKIP_INVALID_STATISTIC;
  const convert = opts.convertDates === true;
  for (const field of DATES) {
    if (f.start[field]! < 0) continue;
    const t = dateOf(f, field, convert);
    if (field === F_START) shaped(f);
    if (Number.isNaN(t)) return badDate(f, field);
    if (field === F_START) verdict.startMs = t;
    else if (field === F_END) verdict.endMs = t;
  }
  for (const field of WORKOUT_REQUIRED) {
    if (f.start[field]! < 0) {
      verdict.field = field;
      return SKIP_MISSING_ATTRIBUTE;
    }
  }
  return IMPORT_WORKOUT;
}

/**
 * Whether a WorkoutStatistics child with this `type`, `minimum` and `maximum` (decoded text) makes
 * the import skip its workout: for a heart-rate statistic, `int(Decimal(v))` of NaN or an infinity raises.
 */
export function statisticFails(
  type: string | undefined,
  minimum: string | undefined,
  maximum: string | undefined,
): boolean {
  if (type === undefined || !type.toLowerCase().includes('heart')) return false;
  for (const v of [minimum, maximum]) {
    if (v === undefined) continue;
    const s = v.trim().toLowerCase().replace(/^[+-]/, '');
    if (s === 'inf' || s === 'infinity' || /^s?nan\d*$/.test(s)) return true;
  }
  return false;
}

/**
 * The device model the backend files a sample or workout under (contract §5.7): the `model:` field of
 * the decoded `device` string split on ", " as `_extract_device_info` splits it; null without one.
 */
export function deviceModel(device: string | undefined): string | null {
  if (!device) return null;
  let model: string | null = null;
  for (const part of device.replace(/^[<>]+|[<>]+$/g, '').split(', ')) {
    const colon = part.indexOf(':');
    if (colon < 0) continue;
    if (part.slice(0, colon).trim() === 'model') model = part.slice(colon + 1).trim();
  }
  return model;
}

/** A workout's key in the backend (event_record's unique index): its data source and its instants. */
export function workoutKey(model: string | null, startMs: number, endMs: number): string {
  return `${model ?? ''}\u0000${startMs}\u0000${endMs}`;
}

/**
 * appleShapeDate of startDate (the report's months, first and last dates): what the last judge call
 * read, or read now when it stopped before the dates.
 */
export function appleShape(f: ElementFields): number {
  if (verdict.shaped) return verdict.startShape;
  const a = f.start[F_START]!;
  return a < 0 ? Number.NaN : appleShapeDate(f.bytes, a, f.end[F_START]!);
}
