/**
 * The direct method's pipeline, once the user and the export are known: the reader (producer.ts) builds
 * batches while it reads and the sender (consumer.ts) sends each as soon as it is complete, one at a time
 * (contract §9.8), with the queue between them (batch-queue.ts). Memory: the batch being built, at most
 * one waiting, and the one in flight.
 */
import { isAbortError } from '../../../errors.js';
import type { ScanSummary } from '../../reader/types.js';
import { SyncTracker } from '../../sync/tracker.js';
import { newRunId } from '../shared/naming.js';
import type { UploadEvents } from '../types.js';
import { BatchQueue } from './batch-queue.js';
import { BodyPool } from './batcher.js';
import { BatchConsumer } from './consumer.js';
import { Sha256Offload } from './hash-offload.js';
import { DirectLedgerWriter } from './ledger-entry.js';
import { BatchProducer } from './producer.js';
import { DEFAULT_PENDING_GRACE_MS } from './resume.js';
import type { DirectRunDeps, DirectRunOptions, DirectRunResult } from './types.js';

export async function runDirect(
  opts: DirectRunOptions,
  deps: DirectRunDeps,
  onEvent: UploadEvents = () => {},
): Promise<DirectRunResult> {
  const runId = deps.runId ?? newRunId();
  // Stops reading and sending at once: a failed send, --fail-fast, or the interrupt.
  const controller = new AbortController();
  const signal = AbortSignal.any([deps.signal, controller.signal]);
  const ledger = new DirectLedgerWriter(deps.ledger, opts, deps.source.displayName, deps.clock);
  const earlier = ledger.previous.size;
  if (earlier > 0) onEvent({ type: 'resume', unit: 'batch', done: earlier, total: null });

  // A dry run sends nothing, so it needs no digests.
  const hashes = opts.dryRun ? null : new Sha256Offload();
  const bodies = new BodyPool(opts.limits.maxBytes);
  const queue = new BatchQueue(signal);
  const producer = new BatchProducer({
    source: deps.source,
    filters: opts.filters,
    limits: opts.limits,
    queue,
    hashes,
    bodies,
    signal,
    ...(deps.parallel ? { parallel: deps.parallel } : {}),
    ...(opts.importedWorkouts ? { importedWorkouts: opts.importedWorkouts } : {}),
    onEvent,
  });
  const tracker =
    opts.wait && !opts.dryRun
      ? new SyncTracker(deps.feed, {
          clock: deps.clock,
          signal,
          ...(deps.pollIntervalMs !== undefined ? { pollIntervalMs: deps.pollIntervalMs } : {}),
          onConnection: (state, detail) =>
            onEvent({ type: 'connection', state, ...(detail ? { detail } : {}) }),
        })
      : null;
  const consumer = new BatchConsumer({
    queue,
    ledger,
    resume: {
      feed: deps.feed,
      clock: deps.clock,
      signal,
      graceMs: opts.pendingGraceMs ?? DEFAULT_PENDING_GRACE_MS,
      onEvent,
    },
    send: {
      post: deps.post,
      recent: deps.feed.recent,
      clock: deps.clock,
      signal,
      ...(opts.drainMs !== undefined ? { drainMs: opts.drainMs } : {}),
      ...deps.send,
    },
    tracker,
    bodies,
    output: deps.output ?? null,
    fingerprint: opts.fingerprint,
    runId,
    dryRun: opts.dryRun,
    failFast: opts.failFast,
    stop: (reason) => controller.abort(reason),
    onEvent,
  });

  let summary: ScanSummary | null = null;
  try {
    // Opened before the first upload so no event can be missed (contract §9.11).
    if (tracker) await tracker.start();
    const reading = producer.run(() => consumer.stoppedEarly);
    const sending = consumer.run().catch((err: unknown) => {
      // Stop reading at once: the reader may be waiting for the queue to drain.
      controller.abort(err);
      throw err;
    });
    const [p, c] = await Promise.allSettled([reading, sending]);
    if (c.status === 'rejected') {
      controller.abort(c.reason);
      throw c.reason;
    }
    if (p.status === 'fulfilled') summary = p.value;
    else if (!(consumer.stoppedEarly && isCancellation(p.reason))) throw p.reason;
  } finally {
    tracker?.stop();
    hashes?.close();
  }

  if (summary && !opts.dryRun) ledger.finish(consumer.failed === 0 && !consumer.stoppedEarly);
  return {
    runId,
    batches: consumer.outcomes,
    report: producer.report(),
    summary,
    sent: consumer.sent,
    skipped: consumer.skipped,
    failed: consumer.failed,
    records: consumer.records,
    bytesSent: consumer.bytesSent,
    stoppedEarly: consumer.stoppedEarly,
    reader: producer.reader,
    sentImports: producer.sentImports(),
  };
}

function isCancellation(err: unknown): boolean {
  return isAbortError(err) || (err as { code?: string } | null)?.code === 'CANCELLED';
}
