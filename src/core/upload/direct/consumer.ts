/**
 * The sending half of a direct upload: takes each batch from the queue in order and, unless a re-run
 * finds the server has it already (resume.ts), records it in the ledger, sends it (sender.ts) and, with
 * --wait, follows it to its end on the status feed before the next one: one batch at a time per user
 * (contract §9.8).
 */
import type { BatchOutput } from '../../../adapters/batch-output.js';
import { AppError } from '../../../errors.js';
import type { SyncTracker } from '../../sync/tracker.js';
import type { LedgerBatch } from '../shared/ledger.js';
import { batchFilename } from '../shared/naming.js';
import type { BatchOutcome, UploadEvents } from '../types.js';
import type { BatchQueue, QueuedBatch } from './batch-queue.js';
import type { BodyPool } from './batcher.js';
import type { DirectLedgerWriter } from './ledger-entry.js';
import { type ResumeDeps, resumeDecision } from './resume.js';
import { type SendDeps, type SendTrack, sendBatch } from './sender.js';

export interface ConsumerDeps {
  queue: BatchQueue;
  ledger: DirectLedgerWriter;
  resume: ResumeDeps;
  send: SendDeps;
  /** Set with --wait. */
  tracker: SyncTracker | null;
  bodies: BodyPool;
  /** A dry run with --out: where each batch's document is written. */
  output: BatchOutput | null;
  fingerprint: string;
  runId: string;
  dryRun: boolean;
  failFast: boolean;
  /** Stops the whole run (the reader too), with the reason. */
  stop(reason: unknown): void;
  onEvent: UploadEvents;
}

export class BatchConsumer {
  sent = 0;
  skipped = 0;
  failed = 0;
  records = 0;
  bytesSent = 0;
  /** --fail-fast stopped the run at a failed batch. */
  stoppedEarly = false;
  readonly outcomes: BatchOutcome[] = [];

  constructor(private readonly deps: ConsumerDeps) {}

  /** Until the queue is empty and closed; throws once interrupted (the batch in flight has had its answer). */
  async run(): Promise<void> {
    for (;;) {
      const item = await this.deps.queue.take();
      if (!item) return;
      if ((await this.one(item)) === 'stop') return;
    }
  }

  private async one(item: QueuedBatch): Promise<'next' | 'stop'> {
    const { deps } = this;
    const { batch } = item;
    this.records += batch.records;
    const outcome: BatchOutcome = {
      seq: batch.seq,
      filename: batchFilename(deps.fingerprint, deps.runId, batch.seq),
      records: batch.records,
      bytes: batch.body.length,
      byType: batch.byType,
      state: 'planned',
      taskId: null,
      itemsProcessed: null,
      error: null,
      attempts: 0,
    };
    this.outcomes.push(outcome);
    const done = () =>
      deps.onEvent({ type: 'done', unit: 'batch', index: batch.seq, of: null, batch: { ...outcome } });
    if (deps.dryRun) {
      try {
        await deps.output?.write(batch.seq, batch.body);
      } finally {
        deps.bodies.give(batch.body);
      }
      done();
      return 'next';
    }
    const body = batch.body;
    const digest = await (item.digest as Promise<string>);
    const before = deps.ledger.previous.get(batch.seq);
    const decision = await resumeDecision(deps.resume, batch.seq, before, digest, (b) => deps.ledger.save(b));
    if (decision.skip) {
      outcome.state = 'skipped';
      outcome.filename = decision.skip.filename;
      outcome.taskId = decision.skip.taskId;
      this.skipped++;
      deps.bodies.give(body);
      done();
      return 'next';
    }
    deps.tracker?.watch(outcome.filename);
    const earlier = decision.earlier;
    deps.ledger.save({
      seq: batch.seq,
      filename: outcome.filename,
      taskId: null,
      records: batch.records,
      sha256: digest,
      pending: true,
      ...(earlier ? { earlier } : {}),
    });
    deps.onEvent({
      type: 'started',
      unit: 'batch',
      index: batch.seq,
      of: null,
      bytes: body.length,
      attempt: 1,
    });
    const track: SendTrack = { uncertain: false };
    let result: Awaited<ReturnType<typeof sendBatch>>;
    try {
      result = await sendBatch(
        {
          ...deps.send,
          onRetry: (info) => deps.onEvent({ type: 'retry', unit: 'batch', index: batch.seq, ...info }),
          onDrain: (info) => deps.onEvent({ type: 'drain', unit: 'batch', index: batch.seq, ...info }),
        },
        outcome.filename,
        body,
        track,
      );
    } catch (err) {
      // No attempt can have reached the server: a re-run need not look for this one on the feed.
      if (!track.uncertain) deps.ledger.restore(batch.seq, before);
      throw err;
    }
    // Accepted: the server has read the whole body, so no write still refers to it.
    deps.bodies.give(body);
    outcome.state = 'sent';
    outcome.taskId = result.taskId;
    outcome.attempts = result.attempts;
    this.sent++;
    this.bytesSent += body.length;
    const accepted = {
      seq: batch.seq,
      filename: outcome.filename,
      taskId: result.taskId,
      records: batch.records,
      sha256: digest,
    };
    deps.ledger.save(accepted);
    done();
    if (deps.send.signal.aborted) throw deps.send.signal.reason;
    return deps.tracker ? this.follow(deps.tracker, outcome, accepted) : 'next';
  }

  /** --wait: the batch's import, to its end. */
  private async follow(
    tracker: SyncTracker,
    outcome: BatchOutcome,
    accepted: LedgerBatch,
  ): Promise<'next' | 'stop'> {
    const { deps } = this;
    const fate = await tracker.terminal(outcome.filename);
    tracker.forget(outcome.filename);
    outcome.itemsProcessed = fate.itemsProcessed;
    const imported = () =>
      deps.onEvent({ type: 'imported', unit: 'batch', index: outcome.seq, batch: { ...outcome } });
    if (fate.stage !== 'failed') {
      outcome.state = 'completed';
      deps.ledger.save({ ...accepted, fate: 'completed' });
      imported();
      return 'next';
    }
    outcome.state = 'failed';
    outcome.error = fate.error;
    this.failed++;
    deps.ledger.save({ ...accepted, fate: 'failed', ...(fate.error ? { error: fate.error } : {}) });
    imported();
    if (!deps.failFast) return 'next';
    this.stoppedEarly = true;
    deps.stop(new AppError('IMPORT_FAILED', 'stopped at the first failed batch'));
    return 'stop';
  }
}
