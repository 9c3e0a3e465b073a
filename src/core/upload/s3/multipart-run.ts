/**
 * `upload` to a current backend: one multipart upload of the padded repaired export (current page §2.2).
 * create (the exact size as `file_size`) → the parts the ledger does not have, in parallel
 * (multipart-send.ts), while one pass checks the whole export (multipart-body.ts) → complete with every
 * part and its ETag → 202 `{task_id}` (client mode) or 200 (sns) → with --wait, the import's events.
 *
 * When the backend's import needs the export changed (shared/export-filter.ts: compact dates, colliding
 * workouts, what the server has), the object is the filtered document instead, of the size the filter's
 * first pass measured; its parts are made in order from one pass (multipart-body.ts), and the ledger
 * records the digest of the filter's inputs so a resumed upload makes the same bytes.
 *
 * Nothing is completed unless the whole export passed the check. The ledger records the upload id, key,
 * part size and each part's ETag as it lands: an interrupted run (Ctrl-C, the network gone) keeps the
 * upload, and the same command sends only the missing parts and completes it; an upload S3 no longer
 * knows starts afresh once. Any other failure aborts the upload on the server.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import type { MultipartCompletion, MultipartUpload } from '../../../adapters/import-api.js';
import type { ServerInfo } from '../../../adapters/openapi.js';
import { ApiError, AppError, CancelledError, isAbortError } from '../../../errors.js';
import { paddedSize, repairPlanFor } from '../../reader/repair.js';
import type { ScanSummary } from '../../reader/types.js';
import {
  type ExportFilterPlan,
  type FilterInputs,
  type FilterStats,
  filterDigest,
} from '../shared/export-filter.js';
import type { LedgerSlot, S3LedgerEntry } from '../shared/ledger.js';
import { LEDGER_VERSION } from '../shared/ledger.js';
import { newRunId, objectFilename } from '../shared/naming.js';
import { isRetryable, retryDelayMs, S3_RETRY } from '../shared/retry.js';
import type { UploadEvents, UploadOptions, UploadPorts } from '../types.js';
import { watchImport } from './follow-import.js';
import { FilterNeeded, type Measure, measureInWorker, plainVerdict } from './measure.js';
import { layoutParts, partBodies } from './multipart-body.js';
import { sendMultipartParts, UploadGoneError } from './multipart-send.js';
import { type ExportHead, planUpload, repairsOf } from './preflight.js';
import type { ImportOutcome, MultipartReport, S3Base, S3UploadResult } from './result.js';

export interface MultipartRun {
  opts: UploadOptions;
  ports: UploadPorts;
  onEvent: UploadEvents;
  userId: string;
  source: ExportSource;
  head: ExportHead;
  fingerprint: string;
  base: S3Base;
  ledger: LedgerSlot<S3LedgerEntry>;
  /** The ledger's entry for this export, unless --force. */
  existing: S3LedgerEntry | undefined;
  info: ServerInfo;
  started: number;
  /** The document goes through this filter (its first pass changed something), else the plain repair. */
  filter: ExportFilterPlan | null;
  /**
   * Settles once the whole export is known to be this document (runPlainFirst): `complete` waits for
   * it, and a rejection stops the upload.
   */
  verdict?: Promise<ScanSummary>;
  /** The worker that checks the plain file (runPlainFirst): it also says where each part starts. */
  measure?: Measure;
}

/**
 * A plain export file on a current backend, when nothing says the filter will change it (the server has
 * nothing from this user yet): its plain repaired stream goes up by multipart at once, while a worker
 * reads the file to check it and to run the filter's counting pass (measure.ts), instead of both
 * passes coming first. `complete` waits for that worker. Should the filter change anything after all
 * (compact dates, colliding workouts), the caller sends the filtered document, whose size the same
 * worker measures: an upload is started only once the head of the export showed no change, and is
 * aborted as soon as a change further on is found; nothing is ever completed that is
 * not the filtered, repaired stream.
 */
export async function runPlainFirst(
  run: MultipartRun & { source: { filePath: string } },
  inputs: FilterInputs,
): Promise<
  | { result: S3UploadResult; stats: FilterStats }
  /** `aborted`: the upload of the unfiltered export (perhaps the ledger's unfinished one) was aborted. */
  | { filter: ExportFilterPlan; stats: FilterStats; aborted: boolean }
> {
  const measure = measureInWorker(run.source, repairPlanFor(run.head), inputs);
  try {
    // An export the filter changes mostly says so in its first few MiB: no upload is started for it.
    await Promise.race([measure.head, measure.done]);
    const filtered = ({ stats }: { stats: FilterStats }, aborted: boolean) => ({
      filter: { inputs, stats },
      stats,
      aborted,
    });
    if (measure.hasChanged()) return filtered(await measure.done, false);
    const verdict = plainVerdict(measure);
    try {
      const result = await runMultipart({ ...run, filter: null, verdict, measure });
      return { result, stats: (await measure.done).stats };
    } catch (err) {
      if (!(err instanceof FilterNeeded)) throw err;
    }
    return filtered(await measure.done, true);
  } finally {
    measure.close();
  }
}

/** The object's exact size: the filtered document's, else the padded repaired export's. */
export function objectSize(run: Pick<MultipartRun, 'filter' | 'source' | 'head'>): number {
  return run.filter ? run.filter.stats.bytes : paddedSize(run.source.size, repairPlanFor(run.head));
}

export async function runMultipart(run: MultipartRun): Promise<S3UploadResult> {
  const { opts, onEvent, source } = run;
  const total = objectSize(run);
  const cap = run.info.cap;
  if (cap !== null && total > cap)
    throw new AppError(
      'S3_UPLOAD_FAILED',
      `${source.displayName} is ${total} bytes once repaired; this server takes at most ${cap} bytes in one upload.`,
      { hint: 'send it with --method direct, which cuts it into batches' },
    );
  announce(run, total, null);
  if (opts.dryRun) return dryRun(run, total);

  const document = run.filter ? filterDigest(run.filter.inputs) : undefined;
  let entry = opts.force ? undefined : resumable(run.existing, total, document);
  if (opts.force && run.existing?.upload && !run.existing.completedAt)
    await abortQuietly(run, run.existing.upload, 'the earlier, unfinished upload (--force)');
  else if (!entry && run.existing?.upload && !run.existing.completedAt) {
    // The document this export now makes is not the one the upload started with (what the server has
    // changed since, or the export did): its parts cannot be completed into it.
    onEvent({
      type: 'warning',
      message: `The unfinished upload of ${source.displayName} was of another document (what the server has changed since it started); starting it afresh.`,
    });
    await abortQuietly(run, run.existing.upload, 'the earlier, unfinished upload');
    run.ledger.delete();
  }
  let restarted = false;
  for (;;) {
    if (!entry) entry = await create(run, total, document);
    else
      onEvent({
        type: 'resume',
        unit: 'part',
        done: entry.parts.length,
        total: entry.partCount,
      });
    try {
      return await sendAndComplete(run, entry, total);
    } catch (err) {
      if (err instanceof UploadGoneError && !restarted) {
        restarted = true;
        onEvent({
          type: 'warning',
          message: `The server no longer knows multipart upload ${entry.upload?.uploadId} (NoSuchUpload: aborted or cleaned up); starting it afresh.`,
        });
        run.ledger.delete();
        entry = undefined;
        continue;
      }
      throw err;
    }
  }
}

/** The entry of an upload of `total` bytes in one piece that nothing was sent for yet. */
export function unstartedEntry(
  run: Pick<MultipartRun, 'base' | 'userId' | 'fingerprint' | 'ports'>,
  runId: string,
  total: number,
): S3LedgerEntry {
  const at = new Date(run.ports.clock.now()).toISOString();
  return {
    version: LEDGER_VERSION,
    method: 's3',
    server: run.base.server,
    userId: run.userId,
    fingerprint: run.fingerprint,
    source: run.base.source,
    runId,
    cap: total,
    partCount: 1,
    parts: [],
    startedAt: at,
    updatedAt: at,
    completedAt: null,
  };
}

/** An unfinished multipart entry for an object of this size and document, to resume. */
function resumable(
  existing: S3LedgerEntry | undefined,
  total: number,
  document: string | undefined,
): S3LedgerEntry | undefined {
  if (!existing?.upload || existing.completedAt || existing.upload.fileSize !== total) return undefined;
  if (existing.upload.filter !== document) return undefined;
  return existing;
}

async function create(
  run: MultipartRun,
  total: number,
  document: string | undefined,
): Promise<S3LedgerEntry> {
  const { ports, onEvent } = run;
  const runId = newRunId();
  const entry = unstartedEntry(run, runId, total);
  // Before `create`: a config folder that cannot be written fails the run before the server is asked for
  // anything (the entry has no upload yet, so a re-run starts a new one).
  run.ledger.write(entry);
  onEvent({ type: 'step', step: 'create', done: false });
  let created: MultipartUpload;
  try {
    created = await ports.imports.createMultipart({
      userId: run.userId,
      filename: objectFilename(run.fingerprint, runId),
      fileSize: total,
      signal: ports.signal,
    });
  } catch (err) {
    throw ports.signal.aborted ? new CancelledError() : routeError(err, 'start');
  } finally {
    onEvent({ type: 'step', step: 'create', done: true });
  }
  const opened: S3LedgerEntry = {
    ...entry,
    cap: created.partSize,
    partCount: layoutParts(total, created.partSize).length,
    upload: {
      uploadId: created.uploadId,
      key: created.key,
      bucket: created.bucket,
      fileSize: total,
      ...(document !== undefined ? { filter: document } : {}),
    },
    updatedAt: new Date(ports.clock.now()).toISOString(),
  };
  // Written before the first part: an interrupted run finds its upload again.
  try {
    run.ledger.write(opened);
  } catch (err) {
    await abortQuietly(run, opened.upload!, 'the upload just started');
    throw err;
  }
  return opened;
}

async function sendAndComplete(
  run: MultipartRun,
  first: S3LedgerEntry,
  total: number,
): Promise<S3UploadResult> {
  const { opts, ports, onEvent, source, head } = run;
  const upload = first.upload!;
  let entry = first;
  const repair = repairPlanFor(head);
  const layout = layoutParts(total, entry.cap);
  const skip = new Set(entry.parts.map((p) => p.index));
  const work = new AbortController();
  const signal = AbortSignal.any([ports.signal, work.signal]);
  const bodies = partBodies({
    source,
    repair,
    parts: layout,
    skip,
    concurrency: opts.concurrency,
    signal,
    filter: run.filter,
    ...(run.measure && run.verdict && !run.filter
      ? { located: { starts: run.measure.starts, checked: run.verdict } }
      : {}),
  });
  let checkFailure: unknown = null;
  const stop = (err: unknown) => {
    checkFailure ??= err;
    work.abort();
  };
  bodies.checked.catch(stop);
  run.verdict?.catch(stop);
  const stored = new Map<number, { durationMs: number; attempts: number }>();
  const watch = opts.wait ? await watchImport(ports, run.userId, { key: upload.key }, onEvent) : null;
  let summary: ScanSummary;
  let completion: MultipartCompletion;
  try {
    try {
      await sendMultipartParts(
        {
          sign: (partNumbers, s) =>
            ports.imports.signParts({
              userId: run.userId,
              key: upload.key,
              uploadId: upload.uploadId,
              partNumbers,
              signal: s,
            }),
          put: (o) => ports.s3Put(o),
          clock: ports.clock,
          signal,
          stallTimeoutMs: opts.stallTimeoutMs,
          userAgent: ports.userAgent,
          ...(source.checkUnchanged ? { checkUnchanged: () => source.checkUnchanged!() } : {}),
        },
        bodies,
        layout,
        skip,
        {
          onStart: (part, attempt) =>
            onEvent({
              type: 'started',
              unit: 'part',
              index: part.number,
              of: layout.length,
              bytes: part.bytes,
              attempt,
            }),
          onProgress: (sent, inFlight) => onEvent({ type: 'transfer', sentBytes: sent, total, inFlight }),
          onRetry: (part, attempt, delayMs, err) =>
            onEvent({
              type: 'retry',
              unit: 'part',
              index: part.number,
              attempt,
              delayMs,
              reason: err instanceof Error ? err.message : String(err),
            }),
          onStored: (part, s) => {
            const now = new Date(ports.clock.now()).toISOString();
            entry = {
              ...entry,
              parts: [
                ...entry.parts.filter((p) => p.index !== part.number),
                {
                  index: part.number,
                  fileKey: upload.key,
                  filename: `part ${part.number}`,
                  bytes: part.bytes,
                  uploadedAt: now,
                  etag: s.etag,
                },
              ].sort((a, b) => a.index - b.index),
              updatedAt: now,
            };
            run.ledger.write(entry);
            stored.set(part.number, { durationMs: s.durationMs, attempts: s.attempts });
            onEvent({
              type: 'done',
              unit: 'part',
              index: part.number,
              of: layout.length,
              part: {
                index: part.number,
                filename: `part ${part.number}`,
                fileKey: upload.key,
                bytes: part.bytes,
                durationMs: s.durationMs,
                attempts: s.attempts,
              },
            });
          },
        },
      );
      // Every part is up; nothing is completed before the whole export has passed the check.
      summary = await bodies.checked;
      await run.verdict;
      completion = await complete(run, entry);
    } catch (err) {
      throw await stopped(run, entry, layout.length, checkFailure ?? err);
    }
    // Completed: from here on the upload is the server's; nothing below may abort it.
    const mode = completion.httpStatus === 202 ? 'client' : 'sns';
    ports.learnCompletionMode(mode);
    watch?.setTaskId(completion.taskId);
    const now = new Date(ports.clock.now()).toISOString();
    entry = {
      ...entry,
      upload: { ...upload, completion: { status: completion.status, taskId: completion.taskId, mode } },
      completedAt: now,
      updatedAt: now,
    };
    run.ledger.write(entry);
    const imported = watch ? await outcomeOf(watch, ports.signal) : undefined;
    return result(
      run,
      entry,
      summary,
      stored,
      {
        uploadId: upload.uploadId,
        key: upload.key,
        bucket: upload.bucket,
        partSize: entry.cap,
        concurrency: bodies.slots,
        status: completion.status,
        completionMode: mode,
        taskId: completion.taskId,
      },
      imported,
    );
  } finally {
    bodies.close();
    watch?.stop();
  }
}

async function outcomeOf(watch: { outcome(): Promise<ImportOutcome> }, signal: AbortSignal) {
  try {
    return await watch.outcome();
  } catch (err) {
    throw signal.aborted || isAbortError(err) ? new CancelledError() : err;
  }
}

/** `complete`, retried while the server cannot queue it (503) or answers 5xx; a clear error otherwise. */
async function complete(run: MultipartRun, entry: S3LedgerEntry): Promise<MultipartCompletion> {
  const { ports, onEvent } = run;
  const upload = entry.upload!;
  const parts = entry.parts.map((p) => ({ partNumber: p.index, etag: p.etag ?? '' }));
  onEvent({ type: 'step', step: 'complete', done: false });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ports.imports.completeMultipart({
          userId: run.userId,
          key: upload.key,
          uploadId: upload.uploadId,
          parts,
          signal: ports.signal,
        });
      } catch (err) {
        if (ports.signal.aborted || isAbortError(err)) throw new CancelledError();
        if (err instanceof ApiError && err.status === 404) throw new UploadGoneError(err);
        if (!isRetryable(err, S3_RETRY) || attempt >= S3_RETRY.maxAttempts)
          throw routeError(err, 'complete', attempt);
        const delay = retryDelayMs(attempt, err);
        onEvent({
          type: 'retry',
          unit: 'part',
          index: entry.partCount,
          attempt,
          delayMs: delay,
          reason: `completing the upload: ${err instanceof Error ? err.message : String(err)}`,
        });
        await ports.clock.sleep(delay, ports.signal).catch(() => {
          throw new CancelledError();
        });
      }
    }
  } finally {
    onEvent({ type: 'step', step: 'complete', done: true });
  }
}

/** A refusal of one of the multipart routes, said plainly (exit 1). */
function routeError(err: unknown, what: 'start' | 'complete', attempts = 1): unknown {
  if (!(err instanceof ApiError)) return err;
  const after = attempts > 1 ? ` after ${attempts} attempts` : '';
  const detail = err.detail ?? `HTTP ${err.status}`;
  const hint =
    err.status === 403
      ? 'The object key is not under this user: was the upload started for another user?'
      : err.status === 400 && /do not match/.test(detail)
        ? 'The parts S3 holds differ from what this run sent; run again with --force to start over.'
        : err.status === 503
          ? 'The server cannot reach its S3 or its task queue right now; run the same command again later.'
          : undefined;
  return new AppError(
    err.status === 401 ? err.code : 'S3_UPLOAD_FAILED',
    `The server refused to ${what} the multipart upload${after} (${err.status}): ${detail}`,
    { cause: err, ...(hint ? { hint } : {}) },
  );
}

/**
 * What a stopped run leaves: an interruption or a transient failure keeps the upload for a re-run (its
 * parts are in S3 and in the ledger); anything else — the export broken or changed, a refusal — aborts it
 * on the server and forgets it.
 */
async function stopped(
  run: MultipartRun,
  entry: S3LedgerEntry,
  total: number,
  err: unknown,
): Promise<unknown> {
  const interrupted = err instanceof CancelledError || run.ports.signal.aborted;
  const transient =
    !interrupted && !(err instanceof UploadGoneError) && isRetryable(err, S3_RETRY) && entry.parts.length > 0;
  if (err instanceof UploadGoneError) return err;
  if (err instanceof FilterNeeded) {
    // Not the document to send: its parts go, silently; the filtered one follows (runPlainFirst).
    await abortQuietly(run, entry.upload!, 'the upload of the unfiltered export');
    run.ledger.delete();
    return err;
  }
  const stored = entry.parts.map(({ index, fileKey }) => ({ index, fileKey }));
  if (interrupted || transient) {
    run.onEvent({ type: 'stopped', unit: 'part', stored, total, kept: true });
    return interrupted ? new CancelledError() : err;
  }
  await abortQuietly(run, entry.upload!, 'the upload');
  run.ledger.delete();
  run.onEvent({ type: 'stopped', unit: 'part', stored, total, kept: false });
  return err;
}

async function abortQuietly(
  run: MultipartRun,
  upload: { uploadId: string; key: string },
  what: string,
): Promise<void> {
  try {
    await run.ports.imports.abortMultipart({
      userId: run.userId,
      key: upload.key,
      uploadId: upload.uploadId,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    run.onEvent({
      type: 'warning',
      message: `Could not abort ${what} on the server (${err instanceof Error ? err.message : String(err)}); its stale-upload cleanup discards it.`,
    });
  }
}

function announce(run: MultipartRun, total: number, summary: ScanSummary | null): void {
  run.onEvent({
    type: 'plan',
    plan: {
      method: 's3',
      transport: 'multipart',
      backend: run.base.backend,
      source: run.source.displayName,
      sourceBytes: run.source.size,
      elements: summary ? summary.topLevelCount : null,
      parts: 1,
      cap: total,
      repairs: summary ? repairsOf(summary) : null,
      streamed: true,
    },
  });
}

/** --dry-run: the whole check, then what would be sent (the server picks the part size at create). */
async function dryRun(run: MultipartRun, total: number): Promise<S3UploadResult> {
  const { ports, onEvent, source } = run;
  let plan: Awaited<ReturnType<typeof planUpload>>;
  try {
    plan = await planUpload(source, {
      cap: Math.max(total, source.size),
      fingerprint: run.fingerprint,
      signal: ports.signal,
      onProgress: (bytes) => onEvent({ type: 'progress', pass: 'check', bytes, total: source.size }),
    });
  } catch (err) {
    throw ports.signal.aborted ? new CancelledError() : err;
  }
  const summary = plan.summary!;
  return {
    ...run.base,
    status: 'dry-run',
    runId: null,
    bytes: total,
    maxPartSize: run.info.cap ?? total,
    repairs: repairsOf(summary),
    checkedWhileSending: null,
    parts: [
      {
        index: 1,
        filename: 'one object, in parts of the size the server sets',
        bytes: total,
        elements: summary.topLevelCount,
      },
    ],
    durationMs: Math.round(ports.clock.now() - run.started),
    bytesSent: 0,
  };
}

function result(
  run: MultipartRun,
  entry: S3LedgerEntry,
  summary: ScanSummary,
  stored: Map<number, { durationMs: number; attempts: number }>,
  multipart: MultipartReport,
  imported: ImportOutcome | undefined,
): S3UploadResult {
  return {
    ...run.base,
    status: 'uploaded',
    runId: entry.runId,
    bytes: entry.upload!.fileSize,
    maxPartSize: entry.cap,
    repairs: repairsOf(summary),
    checkedWhileSending: { elements: summary.topLevelCount },
    multipart,
    ...(imported ? { imported } : {}),
    parts: entry.parts.map((p) => {
      const r = stored.get(p.index);
      return {
        index: p.index,
        filename: p.filename,
        fileKey: p.fileKey,
        bytes: p.bytes,
        ...(p.etag ? { etag: p.etag } : {}),
        resumed: r === undefined,
        ...(r
          ? {
              durationMs: r.durationMs,
              bytesPerSecond: Math.round(r.durationMs > 0 ? (p.bytes * 1000) / r.durationMs : p.bytes),
              attempts: r.attempts,
            }
          : {}),
      };
    }),
    durationMs: Math.round(run.ports.clock.now() - run.started),
    bytesSent: entry.parts.reduce((n, p) => n + (stored.has(p.index) ? p.bytes : 0), 0),
  };
}
