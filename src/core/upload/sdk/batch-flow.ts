/**
 * What becomes of each batch the reader makes: written out (`--dry-run --out`), skipped (the ledger says
 * the server has it) or sent, one in flight per user (contract §9.8), with a batch holding sleep never
 * imported while another of the user's batches may be (the backend's sleep lock, §5.5); where the feed
 * is followed, each batch's end is recorded in the ledger as it is seen.
 */
import type { BatchOutput } from '../../../adapters/batch-output.js';
import type { Clock } from '../../../adapters/clock.js';
import { sdkRequestId } from '../shared/naming.js';
import type { BatchOutcome, SdkRoute, UploadEvents, UploadOptions } from '../types.js';
import type { SdkBatch } from './batcher.js';
import type { SdkLedgerWriter } from './ledger-entry.js';
import { addPrediction, type BatchPrediction } from './predict.js';
import { sendSdkBatch } from './sender.js';
import type { SdkImportWatcher } from './watch.js';

/** Without --wait, how long a batch holding sleep waits for the ones before it to be imported. */
const PACING_TIMEOUT_MS = 5 * 60_000;

export interface SdkBatchOutcome extends BatchOutcome {
  /** What the batch holds, by collection. */
  byCollection: SdkBatch['byCollection'];
  /** With --wait: what the backend reports it saved and dropped. */
  recordsSaved: number | null;
  workoutsSaved: number | null;
  sleepSaved: number | null;
  droppedCount: number | null;
}

export interface SdkBatchFlowDeps {
  opts: Pick<UploadOptions, 'dryRun' | 'wait' | 'failFast'>;
  fingerprint: string;
  runId: string;
  ledger: SdkLedgerWriter;
  /** null on a dry run. */
  route: SdkRoute | null;
  /** `--dry-run --out`: where the batches go instead. */
  output: BatchOutput | null;
  /** null when the feed is not followed (a dry run, an SDK token). */
  watcher: SdkImportWatcher | null;
  /** What the batches sent are expected to add (summed as they are sent). */
  predicted: BatchPrediction;
  clock: Clock;
  signal: AbortSignal;
  onEvent: UploadEvents;
}

type Unsettled = { outcome: SdkBatchOutcome; row: { seq: number; records: number; sha256: string } };

export class SdkBatchFlow {
  readonly outcomes: SdkBatchOutcome[] = [];
  readonly counts = { sent: 0, skipped: 0, failed: 0, records: 0, bytes: 0 };
  /** --fail-fast saw a batch fail: the reader stops. */
  stoppedEarly = false;
  /** Sent, and their end not yet seen, oldest first. */
  private readonly unsettled: Unsettled[] = [];
  /** The batch sent last holds sleep: the next one waits for its end. */
  private afterSleep = false;
  private warnedSleep = false;
  private pacing: boolean;

  constructor(private readonly d: SdkBatchFlowDeps) {
    this.pacing = d.watcher !== null;
  }

  async onBatch(batch: SdkBatch): Promise<void> {
    const { opts, onEvent } = this.d;
    const requestId = sdkRequestId(this.d.fingerprint, this.d.runId, batch.seq);
    const outcome: SdkBatchOutcome = {
      seq: batch.seq,
      filename: requestId,
      records: batch.records,
      bytes: batch.body.length,
      byType: {},
      byCollection: batch.byCollection,
      state: 'planned',
      taskId: null,
      itemsProcessed: null,
      error: null,
      attempts: 0,
      recordsSaved: null,
      workoutsSaved: null,
      sleepSaved: null,
      droppedCount: null,
    };
    this.outcomes.push(outcome);
    this.counts.records += batch.records;
    const done = () =>
      onEvent({ type: 'done', unit: 'batch', index: batch.seq, of: null, batch: { ...outcome } });
    if (opts.dryRun) {
      await this.d.output?.write(batch.seq, batch.body);
      done();
      return;
    }
    if (this.d.ledger.accepted(batch.seq, batch.sha256)) {
      outcome.state = 'skipped';
      this.counts.skipped++;
      done();
      return;
    }
    // The backend's sleep service takes a per-user lock for at most 15 s and otherwise skips the batch's
    // sleep without a word (contract §5.5, §9.8): a batch holding sleep is never imported while another
    // of this user's batches may be.
    const holdsSleep = batch.byCollection.sleep > 0;
    if (this.pacing && (holdsSleep || this.afterSleep)) await this.settleAll();
    else if (!this.d.watcher && holdsSleep && !this.warnedSleep && this.outcomes.length > 1) {
      this.warnedSleep = true;
      onEvent({
        type: 'warning',
        message:
          'with an SDK token the import cannot be followed, so batches holding sleep are not kept apart from the others; a busy backend may skip their sleep (use an API key or a login)',
      });
    }
    onEvent({
      type: 'started',
      unit: 'batch',
      index: batch.seq,
      of: null,
      bytes: batch.body.length,
      attempt: 1,
    });
    const route = this.d.route as SdkRoute;
    outcome.attempts = await sendSdkBatch(
      {
        post: (body, id, requestSignal) => route.sync(body, id, requestSignal),
        clock: this.d.clock,
        signal: this.d.signal,
        onRetry: (info) => onEvent({ type: 'retry', unit: 'batch', index: batch.seq, ...info }),
        onDrain: (info) => onEvent({ type: 'drain', unit: 'batch', index: batch.seq, ...info }),
      },
      batch.body,
      requestId,
    );
    outcome.state = 'sent';
    this.counts.sent++;
    if (batch.predicted) addPrediction(this.d.predicted, batch.predicted);
    this.counts.bytes += batch.body.length;
    const row = { seq: batch.seq, records: batch.records, sha256: batch.sha256 };
    this.d.ledger.save(row);
    done();
    this.d.signal.throwIfAborted();
    if (this.pacing) this.unsettled.push({ outcome, row });
    this.afterSleep = holdsSleep;
    if (opts.wait) await this.settleAll();
  }

  /**
   * Waits for the end of every batch sent so far, oldest first, and records each. Without --wait, only
   * for so long: a backend whose feed shows nothing must not stall the upload (it goes on, with a word).
   */
  private async settleAll(): Promise<void> {
    const { opts, onEvent, ledger } = this.d;
    while (this.unsettled.length > 0) {
      const { outcome, row } = this.unsettled[0] as Unsettled;
      const end = await (this.d.watcher as SdkImportWatcher).end(opts.wait ? undefined : PACING_TIMEOUT_MS);
      if (end === null) {
        onEvent({
          type: 'warning',
          message: `batch ${outcome.seq} has not been imported after ${PACING_TIMEOUT_MS / 60_000} min; sending on (a busy backend may skip the sleep of batches imported at the same time)`,
        });
        // Which end is whose is no longer known: pacing stops for the rest of the run.
        this.unsettled.length = 0;
        this.pacing = false;
        return;
      }
      this.unsettled.shift();
      outcome.itemsProcessed = end.itemsProcessed;
      outcome.recordsSaved = end.recordsSaved;
      outcome.workoutsSaved = end.workoutsSaved;
      outcome.sleepSaved = end.sleepSaved;
      outcome.droppedCount = end.droppedCount;
      if (end.stage === 'completed') {
        outcome.state = 'completed';
        ledger.save({ ...row, fate: 'completed' });
      } else {
        outcome.state = 'failed';
        outcome.error = end.error;
        this.counts.failed++;
        ledger.save({ ...row, fate: 'failed', ...(end.error ? { error: end.error } : {}) });
      }
      onEvent({ type: 'imported', unit: 'batch', index: outcome.seq, batch: { ...outcome } });
      if (end.stage === 'failed' && opts.failFast) this.stoppedEarly = true;
    }
  }
}
