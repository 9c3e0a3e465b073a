/**
 * After an upload followed to its end (--wait): what the backend reports it imported next to what the
 * backend-import model predicted for what was sent, and the backend's errors in plain words. A run whose
 * import came short, or failed, is a failure (exit 1), with advice only where a re-run can succeed.
 */

import type { BatchOutcome } from '../types.js';

export interface Verification {
  /** Items the model predicts the backend imports from the units followed (each sent sample is one). */
  predicted: number;
  /** Items the backend reports processed (sync events' items_processed) for those units. */
  imported: number;
  /** Units the backend reported on, and of them the failed ones. */
  units: number;
  failed: number;
  /** The backend imported everything predicted and no task failed. */
  ok: boolean;
}

/** The batches this run sent and followed: skipped ones (sent by an earlier run) are not compared. */
export function verifyBatches(batches: readonly BatchOutcome[]): Verification {
  let predicted = 0;
  let imported = 0;
  let units = 0;
  let failed = 0;
  for (const b of batches) {
    if (b.state !== 'completed' && b.state !== 'failed') continue;
    units++;
    predicted += b.records;
    if (b.state === 'failed') failed++;
    else imported += b.itemsProcessed ?? 0;
  }
  return { predicted, imported, units, failed, ok: failed === 0 && imported >= predicted };
}

/** What a summary (`/summaries/data`, contract §4.5) counts of a user, as the comparison reads it. */
export interface SummaryCounts {
  records: number;
  workouts: number;
  sleepSessions: number;
  bySeries: Readonly<Record<string, number>>;
}

/** What the model predicts the backend stores from the document sent (s3/predict.ts). */
export interface PredictedCounts {
  records: number;
  workouts: number;
  sleep: number;
  /** Of records, those the server may have already (sent again on purpose): they may add no row. */
  resent: number;
  bySeries: Readonly<Record<string, { predicted: number; resent: number }>>;
}

/**
 * An import whose events carry no counts (S3), verified by the user's summary before and after: the
 * fields of a batch verification (`predicted`: rows expected to be new, records less those sent again
 * plus workouts; `imported`: rows the summary gained), then what they are made of.
 */
export interface SummaryVerification extends Verification {
  /** How the wait ended: the import's terminal event, or (no events) the summary reaching the prediction, staying the same, or the time bound. */
  settled: 'events' | 'reached' | 'stable' | 'timeout';
  records: { predicted: number; resent: number; imported: number };
  workouts: { predicted: number; imported: number };
  /** Sleep samples sent, and sleep sessions the summary gained (samples join into sessions; not compared). */
  sleep: { predicted: number; sessions: number };
  /** Per backend series: records expected new, and rows the summary gained. */
  bySeries: Record<string, { predicted: number; imported: number }>;
  /**
   * sdk: of the rows predicted and not gained, as many as the summary held before in the same series
   * (and of workouts): a sample sent by an upload this ledger does not know of (another machine, a
   * lost ledger) is stored again as the same row, so these may be rows the server had, not rows lost.
   * Present only when there are any.
   */
  alreadyThere?: { records: number; workouts: number };
}

/**
 * The comparison: the backend fell short when it gained fewer records than the model predicts are new,
 * or fewer workouts than were sent, or when its task failed.
 */
export function verifySummary(
  predicted: PredictedCounts,
  before: SummaryCounts,
  after: SummaryCounts,
  how: {
    units: number;
    failed: number;
    settled: SummaryVerification['settled'];
    /** Rows sent may be on the server already, stored again as the same rows (the sdk route, §6.3). */
    mayBeThere?: boolean;
  },
): SummaryVerification {
  const gained = (a: number, b: number) => Math.max(0, a - b);
  const records = {
    predicted: Math.max(0, predicted.records - predicted.resent),
    resent: predicted.resent,
    imported: gained(after.records, before.records),
  };
  const workouts = { predicted: predicted.workouts, imported: gained(after.workouts, before.workouts) };
  const bySeries: SummaryVerification['bySeries'] = {};
  for (const [series, p] of Object.entries(predicted.bySeries))
    bySeries[series] = {
      predicted: Math.max(0, p.predicted - p.resent),
      imported: gained(after.bySeries[series] ?? 0, before.bySeries[series] ?? 0),
    };
  for (const [series, n] of Object.entries(after.bySeries))
    if (!(series in bySeries) && n > (before.bySeries[series] ?? 0))
      bySeries[series] = { predicted: 0, imported: gained(n, before.bySeries[series] ?? 0) };
  // A row the server had before cannot be more than the series held before: a shortfall beyond that
  // is rows lost, whatever else was sent before.
  const there = { records: 0, workouts: 0 };
  if (how.mayBeThere) {
    for (const [series, n] of Object.entries(bySeries))
      there.records += Math.min(Math.max(0, n.predicted - n.imported), before.bySeries[series] ?? 0);
    there.workouts = Math.min(Math.max(0, workouts.predicted - workouts.imported), before.workouts);
  }
  return {
    predicted: records.predicted + workouts.predicted,
    imported: records.imported + workouts.imported,
    units: how.units,
    failed: how.failed,
    ok:
      how.failed === 0 &&
      records.imported + there.records >= records.predicted &&
      workouts.imported + there.workouts >= workouts.predicted,
    settled: how.settled,
    records,
    workouts,
    sleep: { predicted: predicted.sleep, sessions: gained(after.sleepSessions, before.sleepSessions) },
    bySeries,
    ...(there.records + there.workouts > 0 ? { alreadyThere: there } : {}),
  };
}

/** A workout sent, in the order the backend writes them, as a failure names it. */
export interface SentWorkout {
  key: string;
  /** workoutActivityType as exported. */
  activity: string;
  startDate: string;
}

/**
 * The workout an S3 import stopped at, when its error is the unique key of one the server has: the
 * task writes (and commits) the workouts one at a time in order, so those it stored before failing are
 * the first ones sent, and the one after them is the one the server had (its retries stop at the first,
 * stored by the first attempt). null when that cannot be told.
 */
export function stoppedAt(
  error: string | null,
  sent: readonly SentWorkout[],
  workoutsStored: number,
): SentWorkout | null {
  if (error === null || !UNIQUE.test(error)) return null;
  return sent[workoutsStored] ?? null;
}

/** What a failure's advice may rest on, beyond the error's text. */
export interface ImportErrorContext {
  /** The s3 method takes no filter flags: its advice names --method direct. */
  method?: 'direct' | 's3';
  /** The workout the server already has, when it is known which. */
  workout?: SentWorkout | null;
  /**
   * The ledger now records the workouts the server has of those sent (the one named and those stored
   * before it): an upload again with --force leaves them out.
   */
  learnt?: number;
}

/** A backend import error in plain words, and whether sending the same again can succeed. */
export interface PlainError {
  message: string;
  /** Sending the same unit again may succeed (a transient failure). */
  retryable: boolean;
  /** What to do instead, when a re-run as it is cannot succeed. */
  hint?: string;
}

const UNIQUE = /UniqueViolation|event_record_detail_pkey|duplicate key value violates unique constraint/;
const OVERFLOW = /NumericValueOutOfRange|numeric field overflow/i;

/**
 * `error`: the failed event's text; `unit`: what failed, e.g. "batch 3" or "the import".
 */
export function plainImportError(
  error: string | null,
  unit: string,
  context: ImportErrorContext = {},
): PlainError {
  const text = error ?? 'no reason given';
  if (UNIQUE.test(text) && context.method === 's3') {
    const w = context.workout;
    const which = w
      ? `workout ${w.activity.replace(/^HKWorkoutActivityType/, '')} from ${w.startDate}`
      : 'a workout with the start, end and device model of one of the workouts sent';
    const records =
      '--method direct --exclude-types Workout sends the records alone (they are safe to send again)';
    return {
      message: `the server already has ${which} (imported before, but not by an upload recorded in this ledger), so ${unit} stopped there and failed`,
      retryable: false,
      hint:
        context.learnt !== undefined && context.learnt > 0
          ? `upload it again with --force: the workouts the server now has of those sent (${context.learnt}) are recorded and left out, though should it have more of them each stops the import the same way; or ${records}`
          : records,
    };
  }
  if (UNIQUE.test(text))
    return {
      message:
        `the server already has a workout with the start, end and device model of one of the workouts in ${unit} ` +
        '(imported before, but not by an upload recorded in this ledger), so its import stopped there',
      retryable: false,
      hint: 'send the rest with --exclude-types Workout (records are safe to send again); the workouts are on the server already',
    };
  if (OVERFLOW.test(text))
    return {
      message: `a value in ${unit} does not fit the backend's database column (at most ±9,999,999.999), so its import failed`,
      retryable: false,
      hint:
        context.method === 's3'
          ? '`apple-import validate` names the record; leave its type out with --method direct --exclude-types'
          : '`apple-import validate` names the record; leave its type out with --exclude-types',
    };
  return { message: `${unit} failed on the server: ${text.split('\n')[0]}`, retryable: true };
}
