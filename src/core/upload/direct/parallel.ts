/**
 * The direct method across cores. Most of its work per sample (scanning, selecting, checking and hashing
 * what is copied) does not depend on what came before, so worker threads do it over byte ranges of a
 * plain export file, cut where validate's parallel scan cuts them (core/reader/parallel-scan.ts). What does
 * depend on order (which of two duplicates is sent, batch boundaries) stays on the main thread, which
 * takes the ranges' logs strictly in file order, so batches come out byte-identical to a one-thread run.
 *
 * Ranges are handed out only a few ahead of the one the main thread is at, so memory stays bounded
 * (a few ranges' worth) however slowly batches are sent. A range that does not end between two top-level elements (the cut
 * guess did not hold) is not used: the caller scans from its start on the main thread instead.
 */

import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../../adapters/worker-thread.js';
import { AppError, CancelledError } from '../../../errors.js';
import { MIN_PARALLEL_BYTES, planCuts } from '../../reader/parallel-scan.js';
import type { DirectSelection } from './normalize.js';
import type { RangeLog } from './range-log.js';
import type { RangeReply, RangeTask } from './range-worker.js';

/** Small enough that the main thread starts batching soon after the workers start. */
export const RANGE_BYTES = 16 * 1024 * 1024;
const MAX_WORKERS = 4;

export interface ParallelOptions {
  workers?: number;
  rangeBytes?: number;
  minBytes?: number;
}

function spawn(): Worker {
  // A small young generation: V8 would grow it to 32 MiB under a scan's garbage, per thread.
  return startModuleWorker(import.meta.url, './range-worker', {
    resourceLimits: { maxYoungGenerationSizeMb: 4 },
  });
}

export interface Range {
  index: number;
  start: number;
  end: number;
  last: boolean;
}

export class ParallelRanges {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly logs = new Map<number, RangeLog>();
  private failure: Error | null = null;
  private nextTask = 0;
  private nextLog = 0;
  private wake: (() => void) | null = null;
  private closed = false;

  private constructor(
    readonly ranges: Range[],
    private readonly path: string,
    private readonly filters: DirectSelection,
    readonly threads: number,
    private readonly ahead: number,
  ) {
    for (let i = 0; i < threads; i++) {
      const w = spawn();
      w.on('message', (m: RangeReply) => this.onReply(w, m));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (!this.closed) this.fail(new Error(`a direct scan worker exited (code ${code})`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
    this.dispatch();
  }

  /**
   * Starts the workers on a plain file, or null when it does not pay or cannot be cut (small file, one
   * core, no element boundary found): then the export is scanned on the main thread.
   */
  static async start(
    path: string,
    size: number,
    filters: DirectSelection,
    opts: ParallelOptions = {},
  ): Promise<ParallelRanges | null> {
    if (size < (opts.minBytes ?? MIN_PARALLEL_BYTES)) return null;
    // One core stays with this thread, which batches, sends and hashes (and, on a sandbox, with the
    // backend). With two cores a worker does not pay: scanning on this thread costs less in all than
    // scanning elsewhere and batching here, and the workers and this thread would share one core.
    const threads = Math.min(opts.workers ?? availableParallelism() - 1, MAX_WORKERS);
    if (threads < 2) return null;
    const count = Math.max(threads, Math.ceil(size / (opts.rangeBytes ?? RANGE_BYTES)));
    const cuts = await planCuts(path, size, count);
    if (cuts === null) return null;
    const ranges: Range[] = [];
    for (let i = 0; i + 1 < cuts.length; i++)
      ranges.push({ index: i, start: cuts[i]!, end: cuts[i + 1]!, last: i + 2 === cuts.length });
    // Each log holds its range's samples as sent (about the range's size): a few ahead keep the threads busy.
    return new ParallelRanges(ranges, path, filters, threads, threads + 1);
  }

  private onReply(w: Worker, m: RangeReply): void {
    if (m.type === 'error') {
      const code = m.code === 'ENOENT' || m.code === 'EACCES' || m.code === 'EIO' ? m.code : null;
      this.fail(new AppError('INPUT_UNREADABLE', `${this.path}: cannot read (${code ?? m.message})`));
      return;
    }
    this.logs.set(m.log.index, m.log);
    this.idle.push(w);
    this.dispatch();
    this.wake?.();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.wake?.();
  }

  /** Keeps idle workers busy, never more than `ahead` ranges past the one being consumed. */
  private dispatch(): void {
    while (!this.closed && this.idle.length > 0 && this.nextTask < this.ranges.length) {
      if (this.nextTask - this.nextLog >= this.ahead) return;
      const r = this.ranges[this.nextTask++]!;
      const task: RangeTask = { ...r, path: this.path, filters: this.filters };
      this.idle.pop()!.postMessage(task);
    }
  }

  private abortWake: (() => void) | null = null;
  private listening: AbortSignal | null = null;

  /** The next range's log, in file order. */
  async next(signal: AbortSignal): Promise<RangeLog> {
    if (this.listening !== signal) {
      this.listening = signal;
      signal.addEventListener('abort', () => this.abortWake?.(), { once: true });
    }
    for (;;) {
      if (this.failure) throw this.failure;
      if (signal.aborted) throw new CancelledError();
      const log = this.logs.get(this.nextLog);
      if (log !== undefined) {
        this.logs.delete(this.nextLog);
        this.nextLog++;
        this.dispatch();
        return log;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.abortWake = resolve;
      });
      this.wake = null;
    }
  }

  close(): void {
    this.closed = true;
    for (const w of this.workers) void w.terminate();
  }
}
