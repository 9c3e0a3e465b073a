/**
 * `upload --wait` over S3: whether the backend imported what the model predicts of the document sent.
 * An S3 import's events carry no counts (current page §2.3), and a server before August 2026 emits none
 * at all, so the user's summary (`/summaries/data`, contract §4.5) is read before the upload and after
 * the import: after its terminal event when there is one, else once the summary has reached the
 * prediction and stays the same over a poll, has stopped changing for `settle`, or has not changed at
 * all within FIRST_CHANGE_MS. The prediction (predict.ts) is made while the server imports.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { repairPlanFor } from '../../reader/repair.js';
import { WORKOUT_TYPE } from '../../selection/mapped-types.js';
import type { ExportFilterPlan, FilterStats } from '../shared/export-filter.js';
import type { KnownRanges } from '../shared/imported.js';
import type { Incremental } from '../shared/incremental.js';
import { sameCounts, summaryReader, summaryUnreadable } from '../shared/summary.js';
import {
  type PredictedCounts,
  type SummaryCounts,
  type SummaryVerification,
  stoppedAt,
  verifySummary,
} from '../shared/verify.js';
import type { UploadEvents, UploadOptions, UploadPorts } from '../types.js';
import { predictImport } from './predict.js';
import type { ExportHead } from './preflight.js';
import type { S3UploadResult, S3Verification } from './result.js';

/** Without events: how long the summary may stay as it was before the import is given up on. */
export const FIRST_CHANGE_MS = 15 * 60 * 1000;
/** Without events: the import is taken as over once the summary has not changed for this long. */
export const DEFAULT_SETTLE_MS = 2 * 60 * 1000;
/** Without events: the longest wait, however long the summary keeps changing. */
const MAX_WAIT_MS = 4 * 60 * 60 * 1000;

export interface S3VerifyRun {
  opts: UploadOptions;
  ports: UploadPorts;
  onEvent: UploadEvents;
  userId: string;
  inc: Incremental;
}

/** The document an upload sent: the prediction is made of it. */
export interface S3SentDocument {
  source: ExportSource;
  head: ExportHead;
  filter: ExportFilterPlan | null;
  stats: FilterStats;
}

export interface S3Verify {
  /** The result with its verification once the import is over; as it is when nothing was sent. */
  finish(result: S3UploadResult, sent: S3SentDocument): Promise<S3UploadResult>;
}

/** With --wait (not a dry run): the summary before anything is sent, and what the ledger says the user has. */
export async function startVerify(run: S3VerifyRun): Promise<S3Verify | null> {
  const { opts, ports, userId } = run;
  if (!opts.wait || opts.dryRun) return null;
  const summary = summaryReader(ports, userId);
  const unverified = (err: unknown): null => summaryUnreadable(ports, run.onEvent, err);
  let before: SummaryCounts;
  try {
    before = await summary();
  } catch (err) {
    return unverified(err);
  }
  // Read now: once this upload is recorded, its own ranges would be in it.
  const ranges: KnownRanges = {};
  for (const [type, r] of Object.entries(run.inc.ledger.read().types))
    if (type !== WORKOUT_TYPE) ranges[type] = r;

  return {
    async finish(result, sent) {
      if (result.status !== 'uploaded') return result;
      const events = result.imported !== undefined;
      if (!events)
        run.onEvent({
          type: 'notice',
          message:
            'This server reports nothing when it imports from S3: waiting for the user’s summary to show the import.',
        });
      const prediction = await predictImport(
        sent.source,
        { ...repairPlanFor(sent.head), filter: sent.filter },
        ranges,
        sent.stats.sent.workouts,
        {
          signal: ports.signal,
          onProgress: (bytes) =>
            run.onEvent({ type: 'progress', pass: 'check', bytes, total: sent.source.size }),
        },
      );
      const predicted: PredictedCounts = prediction;
      let waited: Awaited<ReturnType<typeof settle>>;
      try {
        waited = events
          ? { after: await summary(), settled: 'events' as const }
          : await settle(run, summary, before, predicted);
      } catch (err) {
        unverified(err);
        return result;
      }
      const failed = result.imported?.stage === 'failed' ? 1 : 0;
      const verification: S3Verification = verifySummary(predicted, before, waited.after, {
        units: result.transport === 'post' ? result.parts.length : 1,
        failed,
        settled: waited.settled,
      });
      if (failed) {
        const w = stoppedAt(
          result.imported?.error ?? null,
          prediction.workoutOrder,
          verification.workouts.imported,
        );
        if (w) {
          verification.stoppedAt = { activity: w.activity, startDate: w.startDate };
          verification.learnt = learn(run, prediction.workoutOrder, verification.workouts.imported + 1);
        }
      }
      return { ...result, verification };
    },
  };
}

/**
 * The server has the first `n` workouts sent (those its task stored, and the one it already had): the
 * ledger records them, so an upload again leaves them out. 0 when the ledger cannot be written.
 */
function learn(run: S3VerifyRun, order: readonly { key: string }[], n: number): number {
  try {
    run.inc.ledger.add(
      order.slice(0, n).map((w) => w.key),
      {},
      new Date(run.ports.clock.now()),
    );
    return n;
  } catch {
    return 0;
  }
}

/** Polls the summary until the import looks over (see the module comment). */
async function settle(
  run: S3VerifyRun,
  summary: () => Promise<SummaryCounts>,
  before: SummaryCounts,
  predicted: PredictedCounts,
): Promise<{ after: SummaryCounts; settled: SummaryVerification['settled'] }> {
  const { clock, signal } = run.ports;
  const settleMs = run.opts.waitSettleMs ?? DEFAULT_SETTLE_MS;
  const pollMs = Math.min(5000, Math.max(250, settleMs / 4));
  const firstChangeMs = Math.max(FIRST_CHANGE_MS, settleMs);
  const wantRecords = Math.max(0, predicted.records - predicted.resent);
  const reached = (s: SummaryCounts) =>
    s.records - before.records >= wantRecords && s.workouts - before.workouts >= predicted.workouts;
  const start = clock.now();
  let last = before;
  let changedAt: number | null = null;
  for (;;) {
    await clock.sleep(pollMs, signal);
    const now = await summary();
    const t = clock.now();
    if (!sameCounts(now, last)) {
      last = now;
      changedAt = t;
      if (t - start < MAX_WAIT_MS) continue;
      return { after: now, settled: 'timeout' };
    }
    if (reached(now)) return { after: now, settled: 'reached' };
    if (changedAt !== null && t - changedAt >= settleMs) return { after: now, settled: 'stable' };
    if ((changedAt === null && t - start >= firstChangeMs) || t - start >= MAX_WAIT_MS)
      return { after: now, settled: 'timeout' };
  }
}
