/**
 * The reader across cores (issue 3's stretch): a plain export file is cut into byte ranges at guessed
 * top-level element boundaries, each range is scanned in a worker thread by its own ExportScanner and
 * consumer, and the ranges' results are handed back in document order. The guesses are checked, not
 * trusted: a range must end exactly between two top-level elements (ExportScanner.endFragment), or
 * the parallel result is refused and the caller scans sequentially. So the outcome is always the one
 * a single sequential scan gives, or nothing.
 *
 * The workers are a pool started before the cuts are planned, and the file is cut into ranges that
 * shrink toward its end (rangeTargets), handed out as workers free up: a thread slowed down by
 * something else on the machine then does less of the file instead of holding everyone up, and no
 * thread is left scanning a large last range alone.
 *
 * Memory stays bounded: each thread holds one chunk and one element like the sequential scanner, the
 * ranges taken and not yet handed over hold at most a few `maxRangeBytes` per thread, and a
 * range is at most `maxRangeBytes` long so a consumer's per-range state (validate's duplicate log)
 * stays small.
 */
import { readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../adapters/worker-thread.js';
import { AppError } from '../../errors.js';
import { SCANNER_LIMITS } from './limits.js';
import { scanRange } from './range-scan.js';
import type { ScanResult } from './scanner.js';
import type { Defect, DefectKind } from './types.js';

/** Below this a second thread costs more (start-up, merging) than it saves. */
export const MIN_PARALLEL_BYTES = 48 * 1024 * 1024;
/**
 * A range's consumer state (validate's duplicate log: 12 bytes a step, and its sorting room) stays a
 * few MiB: the logs of the ranges in flight and their spares are a handful of them at once.
 */
const MAX_RANGE_BYTES = 32 * 1024 * 1024;
/**
 * A range's share of what is left per thread, and the least a range holds: the first ranges are large
 * (few to merge), the last small (the threads end together), and none so small that a range's fixed
 * cost (a scanner, a consumer, a merge) shows.
 */
const SHARE_PER_THREAD = 1;
const MIN_TAIL_BYTES = 6 * 1024 * 1024;
const MAX_WORKERS = 4;
/** Ranges per thread that may be taken ahead of the one waited for (see runRanges). */
const AHEAD_RANGES = 4;
/** How far past a cut point to look for the start of a top-level element. */
const WINDOW_BYTES = 256 * 1024;

export interface RangeTask {
  index: number;
  path: string;
  start: number;
  end: number;
  last: boolean;
  consumerUrl: string;
  consumerOptions: unknown;
  /** ScannerOptions.utf8 for the range's scanner. */
  utf8: boolean;
}

/**
 * What the pool sends a worker: the next range, one at a time, with buffers the consumer of an earlier
 * range gave back (ParallelScanOptions.onRange) for the worker's consumers to reuse.
 */
export type WorkerRequest = { type: 'task'; task: RangeTask; spare: ArrayBuffer[] };

/** What a worker answers about its current task. */
export type WorkerMessage =
  | { type: 'progress'; bytes: number }
  | {
      type: 'done';
      bytes: number;
      summary: ScanResult;
      clean: boolean;
      lineFeeds: number;
      partial: unknown;
    }
  | { type: 'overflow' }
  | { type: 'error'; message: string; code: string | null };
/** How a range ended, as a worker posts it or the main thread's scan returns it. */
export type RangeOutcome = Extract<WorkerMessage, { type: 'done' | 'overflow' }>;

export interface RangeResult {
  index: number;
  start: number;
  end: number;
  summary: ScanResult;
  /** Line feeds before the range: add to the range's line numbers. */
  lineShift: number;
  partial: unknown;
}

export interface ParallelScanOptions {
  path: string;
  size: number;
  /** Module exporting createRangeConsumer (see range-consumer.ts); name it with adapters/worker-thread moduleUrl(). */
  consumerUrl: URL;
  consumerOptions?: unknown;
  /** Refuse bytes that are not UTF-8 (ScannerOptions.utf8). */
  utf8?: boolean;
  /**
   * Each range's result, in document order, as soon as every range before it is in. It may return an
   * array of the buffers it is done with (from the partial), which go back to the workers for their next ranges'
   * consumers (RangeSpare), so that a scan of many ranges does not leave one buffer per range for the GC.
   */
  onRange(r: RangeResult): unknown;
  onProgress?(bytesRead: number): void;
  /**
   * The main thread scans ranges too, as one of the threads, instead of waiting for the workers (one
   * worker fewer: on a machine of two cores a second worker only competed with the main thread).
   */
  mainThread?: boolean;
  /** Told the plan once the ranges are cut, before any worker starts. */
  onPlan?(threads: number, ranges: number): void;
  signal?: AbortSignal;
  workers?: number;
  maxRangeBytes?: number;
  minBytes?: number;
}

/** How many threads the parallel scan would use for `size` bytes (1: it would not run). */
export function parallelWorkers(size: number, opts: { workers?: number; minBytes?: number } = {}): number {
  if (size < (opts.minBytes ?? MIN_PARALLEL_BYTES)) return 1;
  return Math.max(1, Math.min(opts.workers ?? availableParallelism(), MAX_WORKERS));
}

/**
 * Scans the file in parallel ranges. Resolves with the merged scan result, or null when the file
 * does not lend itself (too small, one core, no boundary found, a guess that did not hold, a range
 * whose consumer overflowed): then the caller must discard what onRange delivered and scan sequentially.
 */
export async function scanInParallel(opts: ParallelScanOptions): Promise<ScanResult | null> {
  const workers = parallelWorkers(opts.size, opts);
  if (workers < 2) return null;
  const maxRange = opts.maxRangeBytes ?? MAX_RANGE_BYTES;
  const targets = rangeTargets(opts.size, workers, maxRange);
  const threads = Math.min(workers, targets.length + 1);
  // Threads boot (load their modules) while the cuts are planned.
  // A small young generation: a tape scan makes little garbage (a range's consumer keeps typed arrays,
  // reused from range to range), so a larger one only holds memory.
  const pool = Array.from({ length: opts.mainThread ? threads - 1 : threads }, () =>
    startModuleWorker(import.meta.url, './scan-worker', { resourceLimits: { maxYoungGenerationSizeMb: 2 } }),
  );
  let cuts: number[] | null;
  try {
    cuts = await planCutsNear(opts.path, opts.size, targets);
  } catch (e) {
    for (const w of pool) void w.terminate();
    throw e;
  }
  if (cuts === null) {
    for (const w of pool) void w.terminate();
    return null;
  }
  const tasks: RangeTask[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    tasks.push({
      index: i,
      path: opts.path,
      start: cuts[i]!,
      end: cuts[i + 1]!,
      last: i + 2 === cuts.length,
      consumerUrl: opts.consumerUrl.href,
      consumerOptions: opts.consumerOptions ?? null,
      utf8: opts.utf8 === true,
    });
  }
  opts.onPlan?.(threads, tasks.length);
  return runRanges(tasks, pool, opts, maxRange);
}

/**
 * Where to cut `size` bytes for `threads` threads, before the cuts are moved to element boundaries:
 * each range takes a share of what is left (guided scheduling), at most `maxRange` and at least
 * MIN_TAIL_BYTES, so the ranges shrink toward the end of the file and the threads run out of work
 * together instead of one finishing a large last range alone.
 */
export function rangeTargets(size: number, threads: number, maxRange: number): number[] {
  const targets: number[] = [];
  const least = Math.min(MIN_TAIL_BYTES, maxRange);
  for (let at = 0; ; ) {
    const left = size - at;
    const step = Math.max(least, Math.min(maxRange, Math.ceil(left / (threads * SHARE_PER_THREAD))));
    // Once a cut would leave less than the least range after it, the rest goes in two halves (one
    // range when that is the least).
    if (left - step < least) {
      if (left > least) targets.push(at + Math.ceil(left / 2));
      return targets;
    }
    at += step;
    targets.push(at);
  }
}

/** Offsets [0, b1, …, size]: each bi starts a line that opens an element, with the window's least indent. */
export async function planCuts(path: string, size: number, count: number): Promise<number[] | null> {
  return planCutsNear(
    path,
    size,
    Array.from({ length: count - 1 }, (_, k) => Math.floor((size * (k + 1)) / count)),
  );
}

/** planCuts at the first element boundary after each of `targets` (increasing offsets inside the file). */
async function planCutsNear(path: string, size: number, targets: number[]): Promise<number[] | null> {
  const cuts = [0];
  const fh = await open(path, 'r');
  try {
    const window = Buffer.allocUnsafe(WINDOW_BYTES);
    for (const target of targets) {
      // A few windows, read at once: a round trip through the thread pool each would only add up.
      const bytesRead = readSync(fh.fd, window, 0, WINDOW_BYTES, target);
      const at = elementLineStart(window.subarray(0, bytesRead));
      if (at === -1) return null;
      const cut = target + at;
      if (cut <= cuts[cuts.length - 1]! || cut >= size) return null;
      cuts.push(cut);
    }
  } finally {
    await fh.close();
  }
  cuts.push(size);
  return cuts;
}

/**
 * Index of the first line in `w` that starts (after its indent) an element, among lines with the
 * least indent seen in `w`; -1 when there is none. Apple indents top-level elements less than their
 * children, so the least indent picks a top-level one.
 */
export function elementLineStart(w: Buffer): number {
  const s = w.latin1Slice(0, w.length);
  const re = /\n([ \t]*)<[A-Za-z_:]/g;
  let best = -1;
  let bestIndent = Number.POSITIVE_INFINITY;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const indent = m[1]!.length;
    if (indent < bestIndent) {
      bestIndent = indent;
      best = m.index + 1;
      if (indent === 0) break;
    }
  }
  return best;
}

type Outcome = Extract<WorkerMessage, { type: 'done' }> | null;

async function runRanges(
  tasks: RangeTask[],
  pool: Worker[],
  opts: ParallelScanOptions,
  maxRange: number,
): Promise<ScanResult | null> {
  const progress = new Array<number>(tasks.length).fill(0);
  const outcomes = new Array<Outcome | undefined>(tasks.length);
  let next = 0;
  let delivered = 0;
  let lineShift = 0;
  let refused = false;
  const summaries: { summary: ScanResult; lineShift: number }[] = [];
  const spare: ArrayBuffer[] = [];
  const keepSpare = 2 * (pool.length + (opts.mainThread ? 1 : 0));
  /**
   * A thread takes a range only while the ranges taken and not yet handed over, with it, hold at most
   * AHEAD_RANGES maxRanges per thread: the result of a range done ahead waits in memory (validate's
   * duplicate log, which follows the range's bytes) until every range before it is in, so what is held
   * stays bounded, while the other threads go on when one is slowed down (by other work on the machine)
   * in a range of its own.
   */
  const aheadBytes = AHEAD_RANGES * (pool.length + (opts.mainThread ? 1 : 0)) * maxRange;
  const held = (): number => tasks[next]!.end - tasks[delivered]!.start;
  let waiting: (() => void)[] = [];
  const wake = (): void => {
    const w = waiting;
    waiting = [];
    for (const f of w) f();
  };
  /** The index of the next range for a thread to scan, once it is near enough; null when none is left. */
  const take = async (): Promise<number | null> => {
    while (!refused && next < tasks.length && next > delivered && held() > aheadBytes)
      await new Promise<void>((resolve) => waiting.push(resolve));
    return !refused && next < tasks.length ? next++ : null;
  };

  const reportProgress = (): void => opts.onProgress?.(progress.reduce((a, b) => a + b, 0));
  /** Range i's outcome, from a worker or from the main thread alike. */
  const settle = (i: number, m: RangeOutcome): void => {
    if (m.type === 'done') {
      progress[i] = m.bytes;
      reportProgress();
      outcomes[i] = m;
    } else outcomes[i] = null;
  };

  /** Hands over finished ranges in order; refuses the whole scan once a range makes the rest unusable. */
  const deliver = (): void => {
    while (!refused && delivered < tasks.length && outcomes[delivered] !== undefined) {
      const o = outcomes[delivered] as Outcome;
      const t = tasks[delivered]!;
      if (o === null || (!t.last && !o.clean)) {
        refused = true;
        stopAll();
        return;
      }
      const back = opts.onRange({
        index: delivered,
        start: t.start,
        end: t.end,
        summary: o.summary,
        lineShift,
        partial: o.partial,
      });
      if (Array.isArray(back)) for (const b of back) if (b instanceof ArrayBuffer) spare.push(b);
      // The ranges shrink toward the end, so the largest buffers serve every later range: those go
      // out first, and a few per thread are kept.
      spare.sort((a, b) => b.byteLength - a.byteLength);
      if (spare.length > keepSpare) spare.length = keepSpare;
      summaries.push({ summary: o.summary, lineShift });
      lineShift += o.lineFeeds;
      outcomes[delivered] = null; // the partial is the consumer's now
      delivered++;
    }
    wake();
  };

  let deliverPending = false;
  const deliverSoon = (): void => {
    if (deliverPending) return;
    deliverPending = true;
    setImmediate(() => {
      deliverPending = false;
      deliver();
    });
  };

  /** Runs task i on worker w; resolves once its outcome is in. */
  const runOn = (w: Worker, i: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err?: unknown): void => {
        if (settled) return;
        settled = true;
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        // A worker stopped on purpose (refused, cancelled, another failed) is not an error of its own.
        if (err && !refused) reject(err);
        else resolve();
      };
      const onMessage = (m: WorkerMessage): void => {
        if (m.type === 'progress') {
          progress[i] = m.bytes;
          reportProgress();
        } else if (m.type === 'error') {
          finish(unreadable(tasks[i]!.path, m.code, m.message));
        } else {
          settle(i, m);
          finish();
        }
      };
      // A thread that dies (out of memory, say) gives the parallel scan up, not the command: the
      // caller then reads the file on one thread.
      const gaveUp = (): void => {
        outcomes[i] = null;
        refused = true;
        finish();
        stopAll();
      };
      const onError = (): void => gaveUp();
      const onExit = (): void => gaveUp();
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      // One is all a range's consumer takes; the rest stay for the main thread's own ranges.
      const give = spare.splice(0, 1);
      w.postMessage({ type: 'task', task: tasks[i]!, spare: give } satisfies WorkerRequest, give);
    });

  /** The main thread's share: ranges taken from the same queue, scanned here (range-scan.ts). */
  const runHere = async (i: number): Promise<void> => {
    const done = await scanRange(tasks[i]!, {
      spare,
      yielding: true,
      stopped: () => refused,
      onProgress: (bytes) => {
        progress[i] = bytes;
        reportProgress();
      },
    });
    if (done !== null) settle(i, done.message);
  };

  function stopAll(): void {
    for (const w of pool) void w.terminate();
    wake();
  }
  const signal = opts.signal;
  const onAbort = (): void => {
    refused = true;
    stopAll();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) onAbort();
    // The main thread takes the first range: it starts at once, while the workers are still booting.
    const here = opts.mainThread
      ? (async () => {
          for (let i = await take(); i !== null; i = await take()) {
            try {
              await runHere(i);
            } catch (e) {
              // As a worker's error is told (runOn), unless the scan was given up already.
              if (refused) return;
              const err = e as NodeJS.ErrnoException;
              throw unreadable(tasks[i]!.path, err.code ?? null, err.message ?? String(e));
            }
            deliver();
          }
        })()
      : null;
    const loops = pool.map(async (w) => {
      for (let i = await take(); i !== null; i = await take()) {
        await runOn(w, i);
        // The merge runs on this thread once the worker has its next range, not while it waits for one.
        deliverSoon();
      }
    });
    if (here !== null) loops.push(here);
    await Promise.all(loops);
  } catch (e) {
    refused = true;
    if (signal?.aborted) throw new AppError('CANCELLED', 'scan cancelled', { cause: signal.reason });
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stopAll();
  }
  if (signal?.aborted) throw new AppError('CANCELLED', 'scan cancelled', { cause: signal.reason });
  deliver();
  if (refused || delivered < tasks.length) return null;
  return mergeSummaries(summaries);
}

/** One sequential scan's result from the ranges' results, in order. */
export function mergeSummaries(parts: { summary: ScanResult; lineShift: number }[]): ScanResult {
  const first = parts[0]!.summary;
  const last = parts[parts.length - 1]!.summary;
  const defectCounts: Partial<Record<DefectKind, number>> = {};
  const defects: Defect[] = [];
  let illegalReported = 0;
  let bytes = 0;
  let topLevelCount = 0;
  let illegalCharCount = 0;
  let wellFormed = true;
  let repairable = true;
  for (const { summary: s, lineShift } of parts) {
    bytes += s.bytes;
    topLevelCount += s.topLevelCount;
    illegalCharCount += s.illegalCharCount;
    wellFormed &&= s.wellFormed;
    repairable &&= s.repairable;
    for (const [k, n] of Object.entries(s.defectCounts) as [DefectKind, number][])
      defectCounts[k] = (defectCounts[k] ?? 0) + n;
    for (const d of s.defects) {
      // The sequential scanner reports only the first few illegal characters of the whole file.
      if (d.kind === 'illegal-character' && illegalReported++ >= SCANNER_LIMITS.maxReportedIllegalChars)
        continue;
      if (defects.length < SCANNER_LIMITS.maxReportedDefects)
        defects.push({ ...d, line: d.line + lineShift });
    }
  }
  return {
    ...first,
    bytes,
    closed: last.closed,
    rootContentEnd: last.rootContentEnd,
    topLevelCount,
    illegalCharCount,
    defects,
    defectCounts,
    wellFormed,
    repairable,
  };
}

/** A range that could not be read, on a worker or on the main thread: the system's reason when it is one a user can act on. */
function unreadable(path: string, code: string | null, message: string): AppError {
  const known = code === 'ENOENT' || code === 'EACCES' || code === 'EIO' ? code : null;
  return new AppError('INPUT_UNREADABLE', `${path}: cannot read (${known ?? message})`);
}
