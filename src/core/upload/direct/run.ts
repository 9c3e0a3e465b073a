import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../adapters/clock.js';
import type { ExportSource } from '../../../adapters/export-source.js';
import { AppError, isAbortError } from '../../../errors.js';
import { mergeSummaries } from '../../reader/parallel-scan.js';
import { ExportScanner, type ScanResult } from '../../reader/scanner.js';
import type { ScanSummary } from '../../reader/types.js';
import type { FilterSpec } from '../../selection/filters.js';
import { type BatchFate, filenameOf, type SyncFeed, SyncTracker } from '../../sync/tracker.js';
import { type Batch, type BatchLimits, BodyPool, XmlBatcher } from './batcher.js';
import { Sha256Offload } from './hash-offload.js';
import {
  addCounts,
  Deduper,
  type NormalizationReport,
  type NormalizedSample,
  SampleSelector,
  type SelectionCounts,
} from './normalize.js';
import { type ParallelOptions, ParallelRanges } from './parallel.js';
import { COPIED, FROM_CORRELATION, type RangeLog, STRIDE } from './range-log.js';
import { type SendDeps, type SendTrack, sendBatch } from './sender.js';
import { documentHeader } from './serialize.js';
import { SourceWindow } from './source-window.js';

/** What the ledger keeps per accepted batch (resume sends only what is missing). */
export interface LedgerBatch {
  seq: number;
  filename: string;
  taskId: string | null;
  records: number;
  /** sha256 of the batch body: a re-run skips batch N only if it is byte-identical. */
  sha256: string;
  fate?: 'completed' | 'failed';
  error?: string;
  /** Written before the POST: if the run dies before the answer, the next run asks the feed. */
  pending?: boolean;
  /**
   * Filenames of earlier sends of this same body whose answers were lost too (a pending batch sent again
   * after the grace period): the feed may still show any of them.
   */
  earlier?: string[];
}

export interface LedgerEntry {
  version: 1;
  server: string;
  userId: string;
  source: string;
  /** The export's sampled fingerprint (adapters/fingerprint.ts), recorded once a pass has finished. */
  fingerprint: string | null;
  filters: string;
  limits: BatchLimits;
  batches: LedgerBatch[];
  /** Every batch was accepted (and, with --wait, none failed) in a pass that finished. */
  complete: boolean;
  updatedAt: string;
}

export interface LedgerStore {
  get(): LedgerEntry | undefined;
  put(entry: LedgerEntry): void;
  delete(): void;
}

export interface DirectRunOptions {
  server: string;
  userId: string;
  filters: FilterSpec;
  limits: BatchLimits;
  wait: boolean;
  dryRun: boolean;
  force: boolean;
  failFast: boolean;
  /**
   * How long a re-run watches the feed for a batch left pending before sending it again (default 60 s):
   * an accepted batch appears only once its import starts (contract §3.4, §4.3), and until then it may
   * wait in the server's queue.
   */
  pendingGraceMs?: number;
  /** After Ctrl-C, how long to wait for the answer to a batch sent in full (default 30 s, sender.ts). */
  drainMs?: number;
}

export interface DirectRunDeps {
  source: ExportSource;
  ledger: LedgerStore;
  post: SendDeps['post'];
  feed: SyncFeed;
  clock: Clock;
  signal: AbortSignal;
  /** Overrides for tests; defaults as in sender.ts. */
  send?: Partial<Pick<SendDeps, 'baseDelayMs' | 'acceptanceChecks' | 'maxAttempts' | 'random'>>;
  pollIntervalMs?: number;
  runId?: string;
  /** Tuning of the worker threads for a plain file (tests force them on small files). */
  parallel?: ParallelOptions;
}

export interface BatchOutcome {
  seq: number;
  filename: string;
  records: number;
  bytes: number;
  byType: Record<string, number>;
  state: 'planned' | 'skipped' | 'sent' | 'completed' | 'failed';
  taskId: string | null;
  itemsProcessed: number | null;
  error: string | null;
  attempts: number;
}

export interface DirectCallbacks {
  onBytes?(read: number, total: number): void;
  onBatch?(b: BatchOutcome): void;
  onRetry?(seq: number, info: { attempt: number; delayMs: number; reason: string }): void;
  onFate?(seq: number, fate: BatchFate): void;
  onConnection?(state: string, detail?: string): void;
  /** Ctrl-C came while a batch sent in full awaited its answer; the run waits for it up to `waitMs`. */
  onDrain?(seq: number, info: { waitMs: number }): void;
  /**
   * A batch left pending by an earlier run is not on the feed: `waiting` once before watching for up to
   * `waitMs`, `resending` when it did not appear.
   */
  onPending?(seq: number, info: { filename: string; phase: 'waiting' | 'resending'; waitMs: number }): void;
}

export interface DirectRunResult {
  runId: string;
  batches: BatchOutcome[];
  report: NormalizationReport;
  summary: ScanSummary | null;
  sent: number;
  skipped: number;
  failed: number;
  records: number;
  bytesSent: number;
  /** The pass stopped early (--fail-fast). */
  stoppedEarly: boolean;
  /** The export's sampled fingerprint; null when the pass did not finish. */
  fingerprint: string | null;
  /** Worker threads that scanned byte ranges (0: all on this thread), and where this thread took over. */
  reader: { threads: number; ranges: number; sequentialFrom: number | null };
  fingerprintChanged: boolean;
}

const HEAD_LIMIT = 8 * 1024 * 1024;
const DEFAULT_PENDING_GRACE_MS = 60_000;
/** Between looks at /sync/recent while waiting for a pending batch. */
const PENDING_POLL_MS = 2_000;

/** Reads just enough of the export to know the root's locale (the header of every batch). */
async function readRootLocale(source: ExportSource, signal: AbortSignal): Promise<string | null> {
  const scanner = new ExportScanner();
  let read = 0;
  for await (const chunk of source.open({ signal, start: 0, end: Math.min(source.size, HEAD_LIMIT) })) {
    scanner.write(chunk);
    read += chunk.length;
    if (scanner.result().rootContentStart !== null) break;
    if (read >= HEAD_LIMIT) break;
  }
  return scanner.result().locale;
}

/** A short id that makes filenames unique per run: `ai-<8 hex>`. */
export function newRunId(): string {
  return `ai-${randomBytes(4).toString('hex')}`;
}

export function batchFilename(runId: string, seq: number): string {
  return `${runId}-${String(seq).padStart(5, '0')}.xml`;
}

/**
 * Reads the export once, building batches as it goes and sending each as soon as it is complete, one at
 * a time (contract §9.8). Memory: the batch being built, at most one waiting, and the one in flight.
 */
export async function runDirect(
  opts: DirectRunOptions,
  deps: DirectRunDeps,
  cb: DirectCallbacks = {},
): Promise<DirectRunResult> {
  const runId = deps.runId ?? newRunId();
  const controller = new AbortController();
  const signal = AbortSignal.any([deps.signal, controller.signal]);

  let entry = opts.force || opts.dryRun ? undefined : deps.ledger.get();
  if (entry?.complete && !opts.dryRun) {
    throw new AppError(
      'ALREADY_UPLOADED',
      `This export was already sent to this user (${entry.batches.length} batches, ${entry.updatedAt}).`,
      {
        hint: 'use --force to send it again (workouts already imported may make the batches fail, contract §5.6)',
      },
    );
  }
  if (opts.force && !opts.dryRun) deps.ledger.delete();
  const previous = new Map((entry?.batches ?? []).map((b) => [b.seq, b]));
  entry = {
    version: 1,
    server: opts.server,
    userId: opts.userId,
    source: deps.source.displayName,
    fingerprint: entry?.fingerprint ?? null,
    filters: opts.filters.canonical,
    limits: opts.limits,
    batches: [...(entry?.batches ?? [])],
    complete: false,
    updatedAt: new Date(deps.clock.now()).toISOString(),
  };
  const ledgerEntry = entry;
  const saveLedger = (b?: LedgerBatch) => {
    if (opts.dryRun) return;
    if (b) {
      const at = ledgerEntry.batches.findIndex((x) => x.seq === b.seq);
      if (at >= 0) ledgerEntry.batches[at] = b;
      else ledgerEntry.batches.push(b);
    }
    ledgerEntry.updatedAt = new Date(deps.clock.now()).toISOString();
    deps.ledger.put(ledgerEntry);
  };
  /** Puts a batch's entry back as it was before this run (or removes it, if it had none). */
  const restoreLedger = (seq: number, before: LedgerBatch | undefined) => {
    if (opts.dryRun) return;
    if (before) return saveLedger(before);
    const at = ledgerEntry.batches.findIndex((x) => x.seq === seq);
    if (at >= 0) ledgerEntry.batches.splice(at, 1);
    saveLedger();
  };

  const locale = await readRootLocale(deps.source, signal);
  const window = new SourceWindow();
  // Selection on this thread (a zip, a small file, or after a range cut that did not hold).
  const selector = new SampleSelector(opts.filters, window);
  // Apple's Records take 300–600 bytes each.
  const deduper = new Deduper(deps.source.size / 400);
  /** Selection counts of the ranges scanned by workers. */
  const selection: SelectionCounts = { dropped: {}, otherElements: {} };
  let exportDate: string | null = null;
  // A dry run sends nothing, so it needs no digests.
  const hashes = opts.dryRun ? null : new Sha256Offload();
  const bodies = new BodyPool(opts.limits.maxBytes);
  const outcomes: BatchOutcome[] = [];
  /** Finished batches not yet taken by the sender, with their sha256 on the way. */
  const queue: { batch: Batch; digest: Promise<string> | null }[] = [];
  const wake: { consumer: (() => void) | null; producer: (() => void) | null } = {
    consumer: null,
    producer: null,
  };
  let producing = true;
  let stoppedEarly = false;

  const batcher = new XmlBatcher(
    opts.limits,
    () => documentHeader(locale, exportDate),
    (b) => {
      const digest = hashes === null ? null : hashes.digest(b.body);
      // A failure surfaces where the sender awaits it; until then it is not unhandled.
      digest?.catch(() => {});
      queue.push({ batch: b, digest });
      wake.consumer?.();
    },
    window,
    bodies,
  );

  const tracker =
    opts.wait && !opts.dryRun
      ? new SyncTracker(deps.feed, {
          clock: deps.clock,
          signal,
          pollIntervalMs: deps.pollIntervalMs,
          onConnection: cb.onConnection,
        })
      : null;
  // Opened before the first upload so no event can be missed (contract §9.11).
  if (tracker) await tracker.start();

  const emit = (s: NormalizedSample) => {
    if (deduper.admit(s.fromCorrelation, s.hi, s.lo, s.type, s.xml === null)) batcher.add(s);
  };

  /** A worker's range, in file order: the decisions emit() makes, from the log. */
  const absorb = (log: RangeLog): void => {
    const output = Buffer.from(log.output.buffer, log.output.byteOffset, log.output.length);
    const m = log.samples;
    const dates = log.exportDates;
    let d = 0;
    let at = 0;
    for (let i = 0; i < log.count; i++) {
      while (d < dates.length && dates[d]![0] === i) exportDate = dates[d++]![1];
      const k = i * STRIDE;
      const flags = m[k]!;
      const type = log.types[m[k + 1]!]!;
      const length = m[k + 4]!;
      if (deduper.admit((flags & FROM_CORRELATION) !== 0, m[k + 2]!, m[k + 3]!, type, (flags & COPIED) !== 0))
        batcher.addBytes(type, output, at, at + length);
      at += length;
    }
    while (d < dates.length) exportDate = dates[d++]![1];
    addCounts(selection, log.counts);
  };

  /** Waits while the sender has more than one finished batch waiting. */
  const backpressure = async (): Promise<void> => {
    while (queue.length > 1 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        wake.producer = resolve;
      });
    }
  };

  /** Lets the reader run at most one finished batch ahead of the sender. */
  async function* gated(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of src) {
      await backpressure();
      if (signal.aborted) return;
      yield chunk;
    }
  }

  let fingerprintOf: string | null = null;
  const reader: DirectRunResult['reader'] = { threads: 0, ranges: 0, sequentialFrom: null };
  const producer = (async (): Promise<ScanSummary> => {
    const size = deps.source.size;
    const cancelled = () => new AppError('CANCELLED', 'scan cancelled', { cause: signal.reason });
    // Sampled (a few MiB read at fixed places), like the s3 method's: resume compares batch digests.
    const fingerprint = deps.source.fingerprint(signal);
    fingerprint.catch(() => {});
    const parts: { summary: ScanResult; lineShift: number }[] = [];
    let lineShift = 0;
    /** Everything before this offset has been handed to the batcher. */
    let done = 0;
    try {
      const parallel =
        deps.source.filePath === undefined
          ? null
          : await ParallelRanges.start(deps.source.filePath, size, opts.filters, deps.parallel);
      if (parallel) {
        reader.threads = parallel.threads;
        reader.ranges = parallel.ranges.length;
        try {
          for (const range of parallel.ranges) {
            const log = await parallel.next(signal);
            // A cut that did not fall between two elements: this range and the rest are scanned here.
            if (!range.last && !log.clean) break;
            await backpressure();
            if (signal.aborted) throw cancelled();
            absorb(log);
            parts.push({ summary: log.summary, lineShift });
            lineShift += log.lineFeeds;
            done = range.end;
            cb.onBytes?.(done, size);
          }
        } finally {
          parallel.close();
        }
      }
      if (parts.length === 0 || done < size) {
        if (parallel) reader.sequentialFrom = done;
        window.restart(done);
        const scanner = new ExportScanner(
          {
            onElement: (el) => {
              selector.accept(el, emit);
              if (el.name === 'ExportDate') exportDate = selector.exportDate;
              window.consumed(el.endOffset);
            },
          },
          {},
          done > 0 ? { offset: done } : undefined,
        );
        for await (const chunk of window.tap(gated(deps.source.open({ signal, start: done })))) {
          scanner.write(chunk);
          cb.onBytes?.(window.end, size);
        }
        if (signal.aborted) throw cancelled();
        scanner.end();
        parts.push({ summary: scanner.result(), lineShift });
      }
      if (!stoppedEarly) batcher.flush();
      const merged = parts.length === 1 ? parts[0]!.summary : mergeSummaries(parts);
      fingerprintOf = await fingerprint;
      return { ...merged, sha256: '' };
    } finally {
      producing = false;
      wake.consumer?.();
    }
  })();

  let sent = 0;
  let skipped = 0;
  let failed = 0;
  let records = 0;
  let bytesSent = 0;
  const sendDeps: SendDeps = {
    post: deps.post,
    recent: deps.feed.recent,
    clock: deps.clock,
    signal,
    drainMs: opts.drainMs,
    ...deps.send,
  };

  signal.addEventListener(
    'abort',
    () => {
      wake.producer?.();
      wake.consumer?.();
    },
    { once: true },
  );

  /**
   * Whether a batch an earlier run left pending reached the server. The feed names a batch only once its
   * import has started (contract §3.4, §4.3); one the server accepted may still wait in its queue, so a
   * miss is not an answer until the grace period has passed.
   */
  async function reachedServer(seq: number, filenames: string[]): Promise<boolean> {
    const names = new Set(filenames);
    const grace = opts.pendingGraceMs ?? DEFAULT_PENDING_GRACE_MS;
    const deadline = deps.clock.now() + grace;
    const info = { filename: filenames[0] as string, waitMs: grace };
    for (let look = 0; ; look++) {
      try {
        const events = await deps.feed.recent(200, signal);
        if (events.some((e) => names.has(filenameOf(e) ?? ''))) return true;
      } catch (err) {
        if (signal.aborted || isAbortError(err)) throw err;
        // The feed is unreachable: keep looking until the deadline, then fall back to a resend.
      }
      const left = deadline - deps.clock.now();
      if (left <= 0) break;
      if (look === 0) cb.onPending?.(seq, { ...info, phase: 'waiting' });
      await deps.clock.sleep(Math.min(PENDING_POLL_MS, left), signal);
    }
    cb.onPending?.(seq, { ...info, phase: 'resending' });
    return false;
  }

  const consumer = (async () => {
    for (;;) {
      // Interrupted: the batch in flight has had its answer (or given up on it); start no other.
      if (signal.aborted) throw signal.reason;
      const item = queue.shift();
      wake.producer?.();
      if (!item) {
        if (!producing) return;
        if (signal.aborted) throw signal.reason;
        await new Promise<void>((resolve) => {
          wake.consumer = resolve;
        });
        wake.consumer = null;
        continue;
      }
      const batch = item.batch;
      records += batch.records;
      const outcome: BatchOutcome = {
        seq: batch.seq,
        filename: batchFilename(runId, batch.seq),
        records: batch.records,
        bytes: batch.body.length,
        byType: batch.byType,
        state: 'planned',
        taskId: null,
        itemsProcessed: null,
        error: null,
        attempts: 0,
      };
      outcomes.push(outcome);
      if (opts.dryRun) {
        bodies.give(batch.body);
        cb.onBatch?.(outcome);
        continue;
      }
      const body = batch.body;
      const digest = await (item.digest as Promise<string>);
      const before = previous.get(batch.seq);
      /** Earlier sends of this body that may still reach the feed if it is sent again. */
      let earlier: string[] | undefined;
      if (before?.pending && before.sha256 === digest) {
        const names = [before.filename, ...(before.earlier ?? [])];
        if (await reachedServer(batch.seq, names)) {
          // Interrupted between sending and hearing back, but the server did take it.
          saveLedger({ ...before, pending: false });
          before.pending = false;
        } else {
          // Residual risk: an import still queued after the grace period (a backlog on the server's
          // workers), or whose events were evicted from the feed (200 per user, 24 h, contract §4.1), runs
          // twice. The body is byte-identical and records are upserted (§5.3), but its workouts collide and
          // the later task fails (§5.6). `earlier` keeps those names so a later run can still match them.
          earlier = names;
        }
      }
      if (before && !before.pending && before.sha256 === digest && before.fate !== 'failed') {
        outcome.state = 'skipped';
        outcome.filename = before.filename;
        outcome.taskId = before.taskId;
        skipped++;
        bodies.give(body);
        cb.onBatch?.(outcome);
        continue;
      }
      tracker?.watch(outcome.filename);
      saveLedger({
        seq: batch.seq,
        filename: outcome.filename,
        taskId: null,
        records: batch.records,
        sha256: digest,
        pending: true,
        ...(earlier ? { earlier } : {}),
      });
      const track: SendTrack = { uncertain: false };
      let result: Awaited<ReturnType<typeof sendBatch>>;
      try {
        result = await sendBatch(
          {
            ...sendDeps,
            onRetry: (info) => cb.onRetry?.(batch.seq, info),
            onDrain: (info) => cb.onDrain?.(batch.seq, info),
          },
          outcome.filename,
          body,
          track,
        );
      } catch (err) {
        // No attempt can have reached the server: a re-run need not look for this one on the feed.
        if (!track.uncertain) restoreLedger(batch.seq, before);
        throw err;
      }
      // Accepted: the server has read the whole body, so no write still refers to it.
      bodies.give(body);
      outcome.state = 'sent';
      outcome.taskId = result.taskId;
      outcome.attempts = result.attempts;
      sent++;
      bytesSent += body.length;
      const ledgerBatch: LedgerBatch = {
        seq: batch.seq,
        filename: outcome.filename,
        taskId: result.taskId,
        records: batch.records,
        sha256: digest,
      };
      saveLedger(ledgerBatch);
      cb.onBatch?.({ ...outcome });
      if (signal.aborted) throw signal.reason;
      if (!tracker) continue;
      // One batch at a time per user, each to its end (contract §9.8).
      const fate = await tracker.terminal(outcome.filename);
      tracker.forget(outcome.filename);
      outcome.itemsProcessed = fate.itemsProcessed;
      if (fate.stage === 'failed') {
        outcome.state = 'failed';
        outcome.error = fate.error;
        failed++;
        saveLedger({ ...ledgerBatch, fate: 'failed', error: fate.error ?? undefined });
        cb.onBatch?.({ ...outcome });
        if (opts.failFast) {
          stoppedEarly = true;
          controller.abort(new AppError('IMPORT_FAILED', 'stopped at the first failed batch'));
          return;
        }
      } else {
        outcome.state = 'completed';
        saveLedger({ ...ledgerBatch, fate: 'completed' });
        cb.onBatch?.({ ...outcome });
      }
    }
  })().catch((err: unknown) => {
    // Stop reading at once: the producer may be waiting for the queue to drain.
    controller.abort(err);
    throw err;
  });

  let summary: ScanSummary | null = null;
  try {
    const [p, c] = await Promise.allSettled([producer, consumer]);
    if (c.status === 'rejected') {
      controller.abort(c.reason);
      throw c.reason;
    }
    if (p.status === 'rejected') {
      if (!(stoppedEarly && (isAbortError(p.reason) || (p.reason as AppError)?.code === 'CANCELLED')))
        throw p.reason;
    } else {
      summary = p.value;
    }
  } finally {
    tracker?.stop();
    hashes?.close();
  }

  let fingerprintChanged = false;
  if (summary && !opts.dryRun) {
    fingerprintChanged = ledgerEntry.fingerprint !== null && ledgerEntry.fingerprint !== fingerprintOf;
    ledgerEntry.fingerprint = fingerprintOf;
    ledgerEntry.complete = failed === 0 && !stoppedEarly;
    saveLedger();
  }
  addCounts(selection, selector.counts);
  return {
    runId,
    batches: outcomes,
    report: deduper.report(selection),
    summary,
    sent,
    skipped,
    failed,
    records,
    bytesSent,
    stoppedEarly,
    fingerprint: fingerprintOf,
    fingerprintChanged,
    reader,
  };
}
