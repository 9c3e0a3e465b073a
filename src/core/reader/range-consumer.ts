/**
 * The contract between the parallel scan (parallel-scan.ts) and whatever consumes the elements of one
 * byte range inside a worker thread. A consumer module is loaded by URL in each worker and must export
 * `createRangeConsumer(options)`; what finish() returns travels back by structured clone.
 */
import type { ScannerHandlers, ScannerOptions } from './scanner.js';
import type { TapeElement, TapeFields } from './tape.js';
import type { Defect, TopLevelElement } from './types.js';

/** A consumer takes whole elements (onElement) or tapes (onTape: the range is then read by a tape scan). */
export interface RangeConsumer {
  onElement?(el: TopLevelElement): void;
  onTape?(el: TapeElement): void;
  /** The field names onTape wants found on the tape (tape.ts TapeFields). */
  tapeFields?: TapeFields;
  /** With `digest`: the elements the compiled fast path digested (ScannerHandlers.onDigested). */
  onDigested?: ScannerHandlers['onDigested'];
  /** ScannerOptions.digest, for a tape consumer that registers keys with the fast path's digest. */
  digest?: ScannerOptions['digest'];
  onDefect(d: Defect): void;
  /**
   * The range's partial result. `transfer` lists ArrayBuffers to move rather than copy. Throwing a
   * RangeOverflowError gives the range up (the caller then scans sequentially).
   */
  finish(): { partial: unknown; transfer?: ArrayBuffer[] };
}

/**
 * `range`: what the consumer is for: its bytes (to size what it keeps), and buffers an earlier range's
 * consumer transferred and the main thread gave back (take one to reuse it instead of allocating).
 */
export interface RangeSpare {
  bytes: number;
  spare: ArrayBuffer[];
}

export type CreateRangeConsumer = (options: unknown, range: RangeSpare) => RangeConsumer;

/** A consumer's per-range state outgrew its bound; the parallel scan is abandoned, not the command. */
export class RangeOverflowError extends Error {
  readonly overflow = true;
}
