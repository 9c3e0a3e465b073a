/**
 * What the backend's import of a whole export comes to: what it imports, what it skips and why, what
 * apple-import repairs on the way, and whether the import task fails (or imports nothing) and why.
 * From a tally of every element (tally.ts) and the scan's facts about the document as a whole.
 */

import { count } from '../../io/text.js';
import type { DefectKind, ScanSummary } from '../reader/types.js';
import {
  FAIL_VALUE_OUT_OF_RANGE,
  IMPORT_RECORD,
  IMPORT_SLEEP,
  IMPORT_WORKOUT,
  OUTCOME_KEYS,
  SKIP_FOREIGN_NAMESPACE,
  SKIP_INVALID_DATE,
  SKIP_INVALID_STATISTIC,
  SKIP_INVALID_VALUE,
  SKIP_MISSING_ATTRIBUTE,
  SKIP_MISSING_START_DATE,
  SKIP_NOT_IMPORTED,
  SKIP_OLD_DATE_FORMAT,
  SKIP_UNKNOWN_SLEEP_STAGE,
  SKIP_UNMAPPED_TYPE,
} from './judge.js';
import type { ImportTally, WorkoutCollision } from './tally.js';

/** The repairs the upload makes, beyond the DTD and illegal characters it always repairs. */
export interface UploadRepairs {
  /** Dates in the iOS 8-era compact form are rewritten into the backend's format. */
  dates?: boolean;
  /** Later workouts with the key of an earlier one are left out. */
  workoutCollisions?: boolean;
}

/**
 * What `upload` repairs, with every method: compact dates are rewritten (direct: as it serializes;
 * s3: in the filtered document, core/upload/shared/export-filter.ts) and the later of two workouts
 * with one key is left out.
 */
export const UPLOAD_REPAIRS: UploadRepairs = { dates: true, workoutCollisions: true };

export type FailReason =
  | 'not-an-export'
  | 'foreign-namespace'
  | 'truncated'
  | 'not-well-formed'
  | 'workout-collision'
  | 'value-out-of-range'
  | 'nothing-to-import';

export interface ImportOutcome {
  /**
   * What the backend stores: time-series records once per row key (series, device model, start:
   * contract §5.8, the upsert keeps one row for each, so two apps' samples of one type at one start on
   * one device model, or an exact repeat, are one row), sleep samples once per distinct element, and
   * workouts once per key. `itemsProcessed`: what the import counts as processed when the file is sent
   * as it is (every Record it reads, repeats included).
   */
  willImport: { records: number; workouts: number; sleep: number; total: number; itemsProcessed: number };
  /** Distinct elements the backend does not import, by reason (OUTCOME_KEYS) and then type. */
  willSkip: { total: number; byReason: Record<string, { total: number; byType: Record<string, number> }> };
  /** Defects apple-import repairs before the backend sees the export, by kind. */
  willRepair: { total: number; byKind: Record<string, number> };
  /** Of willSkip, the elements skipped for a defect (not for a type or element the backend never reads). */
  partialSkips: number;
  /** Why the import task would fail or import nothing; empty when it completes. */
  fails: { reason: FailReason; message: string }[];
  /** The first workouts whose key collides with an earlier one's (repaired, or failing the task). */
  collisions: WorkoutCollision[];
}

/** The scan's facts the outcome needs (a ScanSummary has them; validate's report too). */
export type ImportScanFacts = Pick<ScanSummary, 'rootSeen' | 'repairable' | 'illegalCharCount'> & {
  /** Defect kinds seen, with how often, whether the repair fixes them, and the first one's message. */
  defects: { kind: DefectKind; count: number; repairable: boolean; message: string | undefined }[];
};

const SKIPS = [
  SKIP_UNMAPPED_TYPE,
  SKIP_INVALID_VALUE,
  SKIP_INVALID_DATE,
  SKIP_OLD_DATE_FORMAT,
  SKIP_MISSING_START_DATE,
  SKIP_UNKNOWN_SLEEP_STAGE,
  SKIP_MISSING_ATTRIBUTE,
  SKIP_INVALID_STATISTIC,
  SKIP_FOREIGN_NAMESPACE,
  SKIP_NOT_IMPORTED,
];

/** Skips by design, not for a defect: no warning. */
const BY_DESIGN = new Set([SKIP_UNMAPPED_TYPE, SKIP_NOT_IMPORTED]);

function sorted(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

function describe(c: WorkoutCollision): string {
  const side = (w: WorkoutCollision['first']) => `${w.activity} from ${w.sourceName} (line ${w.line})`;
  return `${side(c.first)} and ${side(c.again)}, both at ${c.first.startDate}`;
}

export function summarizeImport(
  tally: ImportTally,
  scan: ImportScanFacts,
  repairs: UploadRepairs = UPLOAD_REPAIRS,
): ImportOutcome {
  const records = tally.total(IMPORT_RECORD, true) + tally.total(FAIL_VALUE_OUT_OF_RANGE, true);
  const sleep = tally.total(IMPORT_SLEEP, true);
  const workouts = tally.distinctWorkouts();
  const itemsProcessed =
    tally.total(IMPORT_RECORD) +
    tally.total(FAIL_VALUE_OUT_OF_RANGE) +
    tally.total(IMPORT_SLEEP) +
    tally.total(IMPORT_WORKOUT) -
    (repairs.workoutCollisions ? tally.collisions : 0);

  const byReason: ImportOutcome['willSkip']['byReason'] = {};
  let skipped = 0;
  let partialSkips = 0;
  for (const o of SKIPS) {
    const byType = tally.byType(o, true);
    let n = 0;
    for (const v of byType.values()) n += v;
    if (n === 0) continue;
    byReason[OUTCOME_KEYS[o]!] = { total: n, byType: sorted(byType) };
    skipped += n;
    if (!BY_DESIGN.has(o)) partialSkips += n;
  }

  const byKind: Record<string, number> = {};
  for (const d of scan.defects) {
    if (!d.repairable || d.count === 0) continue;
    byKind[d.kind] = d.kind === 'illegal-character' ? Math.max(d.count, scan.illegalCharCount) : d.count;
  }
  if (repairs.dates && tally.dateRepairs > 0) byKind['date-format'] = tally.dateRepairs;
  if (repairs.workoutCollisions && tally.collisions > 0) byKind['workout-collision'] = tally.collisions;
  const repaired = Object.values(byKind).reduce((a, b) => a + b, 0);

  const fails: ImportOutcome['fails'] = [];
  if (!scan.rootSeen)
    fails.push({
      reason: 'not-an-export',
      message: 'no <HealthData> root element: not an Apple Health export',
    });
  const foreign = scan.defects.find((d) => d.kind === 'foreign-namespace');
  if (foreign) fails.push({ reason: 'foreign-namespace', message: foreign.message ?? 'foreign namespace' });
  if (scan.defects.some((d) => d.kind === 'truncated' && d.count > 0))
    fails.push({ reason: 'truncated', message: 'the export is truncated (no closing </HealthData>)' });
  for (const d of scan.defects) {
    if (d.repairable || d.kind === 'truncated' || d.kind === 'foreign-namespace') continue;
    fails.push({ reason: 'not-well-formed', message: `not well-formed: ${d.message ?? d.kind}` });
  }
  if (fails.length === 0 && !scan.repairable)
    fails.push({ reason: 'not-well-formed', message: 'not well-formed beyond repair' });
  if (tally.collisions > 0 && !repairs.workoutCollisions) {
    const first = tally.collisionExamples[0];
    fails.push({
      reason: 'workout-collision',
      message:
        `${count(tally.collisions, 'workout')} ${tally.collisions === 1 ? 'starts and ends' : 'start and end'} when an earlier one from the same device model does, ` +
        `which the backend cannot store twice: its import task fails on the first${first ? ` (${describe(first)})` : ''}`,
    });
  }
  const tooLarge = tally.total(FAIL_VALUE_OUT_OF_RANGE, true);
  if (tooLarge > 0)
    fails.push({
      reason: 'value-out-of-range',
      message: `${count(tooLarge, 'record value')} ${tooLarge === 1 ? 'does' : 'do'} not fit the backend's database column (at most ±9,999,999.999): the insert fails, and the import task with it`,
    });
  const total = records + workouts + sleep;
  if (fails.length === 0 && total === 0)
    fails.push({
      reason: 'nothing-to-import',
      message: 'the backend would import nothing: no Record, Workout or sleep sample in a form it reads',
    });

  return {
    willImport: { records, workouts, sleep, total, itemsProcessed },
    willSkip: { total: skipped, byReason },
    willRepair: { total: repaired, byKind },
    partialSkips,
    fails,
    collisions: tally.collisionExamples,
  };
}
