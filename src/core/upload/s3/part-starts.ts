/**
 * Where in the source file each part of a plain export's multipart upload begins, learnt from the
 * thread that checks it (measure-worker.ts `kept`): the repair drops bytes (the DOCTYPE, illegal
 * characters), so output offset N is source offset N plus what was dropped before it. With these, the
 * sending thread reads each part's own range and repairs it, and never reads or checks the whole file
 * a second time (multipart-body.ts).
 *
 * What is kept: one entry per run of chunks the repair kept whole, and one per chunk it dropped bytes
 * from; a part that starts in such a chunk reads that chunk once more to find its byte.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { AppError } from '../../../errors.js';
import { locateKept, type RepairPlan } from '../../reader/repair.js';

/** An export the check found changed or broken mid-way: every part waiting on it learns why. */
export function notWhole(source: ExportSource): AppError {
  return new AppError('INPUT_CHANGED', `${source.displayName} changed while it was being uploaded.`, {
    hint: 'Nothing was completed. Upload again once the file is complete and no longer being written.',
  });
}

interface Run {
  /** Source offset of the run's first byte. */
  at: number;
  bytes: number;
  kept: number;
  /** Bytes the repair kept before the run. */
  keptBefore: number;
}

interface Waiter {
  offset: number;
  resolve(at: number): void;
  reject(err: unknown): void;
}

export class PartStarts {
  private readonly runs: Run[] = [];
  private keptSoFar = 0;
  private cleanTo = 0;
  private waiters: Waiter[] = [];
  private ended: unknown = undefined;
  private isEnded = false;

  constructor(
    private readonly source: ExportSource,
    private readonly repair: RepairPlan,
  ) {}

  /** How far from the start the export is known to hold no illegal byte. */
  cleanBefore(): number {
    return this.cleanTo;
  }

  /** The checking thread's `kept` message: flat triples of source offset, bytes, bytes kept. */
  add(chunks: readonly number[], clean: number): void {
    for (let i = 0; i < chunks.length; i += 3) {
      const at = chunks[i]!;
      const bytes = chunks[i + 1]!;
      const kept = chunks[i + 2]!;
      const last = this.runs.at(-1);
      if (last && last.kept === last.bytes && kept === bytes && last.at + last.bytes === at) {
        last.bytes += bytes;
        last.kept += kept;
      } else this.runs.push({ at, bytes, kept, keptBefore: this.keptSoFar });
      this.keptSoFar += kept;
    }
    this.cleanTo = Math.max(this.cleanTo, clean);
    this.settle();
  }

  /** Bytes the repair keeps of what was read so far. */
  kept(): number {
    return this.keptSoFar;
  }

  /**
   * No more chunks: `failure` (why the check stopped) rejects every part still waiting; without one, a
   * part that starts past the end means the file is not the one measured.
   */
  end(failure?: unknown): void {
    this.isEnded = true;
    this.ended = failure ?? notWhole(this.source);
    this.settle();
    for (const w of this.waiters) w.reject(this.ended);
    this.waiters = [];
  }

  /**
   * The source offset right after the repair's `offset`-th kept byte (0 for 0), as one sequential pass
   * finds it: a part of the output that starts at `offset` reads the source from there.
   */
  startOf(offset: number): Promise<number> {
    if (offset <= 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      const w = { offset, resolve, reject };
      if (!this.tryResolve(w)) {
        if (this.isEnded) reject(this.ended);
        else this.waiters.push(w);
      }
    });
  }

  private settle(): void {
    this.waiters = this.waiters.filter((w) => !this.tryResolve(w));
  }

  private tryResolve(w: Waiter): boolean {
    if (w.offset > this.keptSoFar) return false;
    const run = this.runs[this.firstReaching(w.offset)]!;
    const need = w.offset - run.keptBefore;
    if (run.kept === run.bytes) w.resolve(run.at + need);
    else this.locateIn(run, need).then(w.resolve, w.reject);
    return true;
  }

  /** The first run whose kept bytes reach `offset` (binary search: keptBefore + kept never decreases). */
  private firstReaching(offset: number): number {
    let lo = 0;
    let hi = this.runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const r = this.runs[mid]!;
      if (r.keptBefore + r.kept >= offset) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** A chunk the repair dropped bytes from, read once more: the byte after its `need`-th kept one. */
  private async locateIn(run: Run, need: number): Promise<number> {
    const parts: Buffer[] = [];
    let got = 0;
    for await (const piece of this.source.open({ start: run.at, end: run.at + run.bytes })) {
      parts.push(piece);
      got += piece.length;
    }
    const chunk = parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
    return locateKept(chunk, run.at, need, run.kept, this.repair);
  }
}
