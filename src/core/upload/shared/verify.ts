/**
 * After an upload followed to its end (--wait): what the backend reports it imported next to what the
 * backend-import model predicted for what was sent, and the backend's errors in plain words. A run whose
 * import came short, or failed, is a failure (exit 1), with advice only where a re-run can succeed.
 */

import { count } from '../../../io/text.js';
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
 * `error`: the failed event's text; `unit`: e.g. "batch 3", with its workouts' count.
 */
export function plainImportError(error: string | null, unit: string, workouts: number): PlainError {
  const text = error ?? 'no reason given';
  if (UNIQUE.test(text))
    return {
      message:
        `the server already has a workout with the start, end and device of one of the ${count(workouts, 'workout')} in ${unit} ` +
        '(imported before, but not by an upload recorded in this ledger), so its import stopped there',
      retryable: false,
      hint: 'send the rest with --exclude-types Workout (records are safe to send again); the workouts are on the server already',
    };
  if (OVERFLOW.test(text))
    return {
      message: `a value in ${unit} does not fit the backend's database column (at most ±9,999,999.999), so its import failed`,
      retryable: false,
      hint: '`apple-import validate` names the record; leave its type out with --exclude-types',
    };
  return { message: `${unit} failed on the server: ${text.split('\n')[0]}`, retryable: true };
}
