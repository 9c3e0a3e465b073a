/**
 * What a worker thread makes of one byte range of the export (range-worker.ts) for the main thread,
 * which dedupes and batches the samples of all ranges in file order (run.ts). The range's samples come
 * already written out back to back, as they go into a batch, so the main thread only decides which to
 * keep and copies long runs of them.
 */
import type { ScanResult } from '../../reader/scanner.js';
import type { NormalizedSample, SelectionCounts, WorkoutRef } from './normalize.js';
import type { PieceSink, SourceWindow } from './source-window.js';

/** Numbers per sample: flags, type index, hi, lo, output bytes. */
export const STRIDE = 5;
export const FROM_CORRELATION = 1;
/** The sample was copied from the source (not serialized). */
export const COPIED = 2;

export interface RangeLog {
  index: number;
  /** STRIDE numbers per sample, in file order. */
  samples: Uint32Array;
  count: number;
  types: string[];
  /** Every sample as sent, back to back. */
  output: Uint8Array;
  /** [samples before it, value] for each ExportDate, in file order. */
  exportDates: [number, string | null][];
  /** [its sample's index, its key] for each workout sample, in file order. */
  workouts: [number, WorkoutRef][];
  counts: SelectionCounts;
  summary: ScanResult;
  /** The range ended between two top-level elements (or is the last one): the next range's start held. */
  clean: boolean;
  lineFeeds: number;
}

const INDENT = 0x20;

export class RangeLogWriter implements PieceSink {
  private samples = new Uint32Array(STRIDE * 4096);
  private count = 0;
  private output = Buffer.allocUnsafeSlow(1 << 20);
  private bytes = 0;
  private readonly types: string[] = [];
  private readonly typeIndex = new Map<string, number>();
  private readonly exportDates: [number, string | null][] = [];
  private readonly workouts: [number, WorkoutRef][] = [];
  /** Source bytes [spanFrom, spanTo) still to be copied to the output (consecutive Records make one). */
  private spanFrom = 0;
  private spanTo = 0;

  constructor(private readonly window: SourceWindow) {}

  private room(n: number): void {
    if (this.bytes + n <= this.output.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.output.length * 2, this.bytes + n));
    this.output.copy(bigger, 0, 0, this.bytes);
    this.output = bigger;
  }

  piece(buf: Buffer, from: number, to: number): void {
    this.room(to - from);
    this.bytes += buf.copy(this.output, this.bytes, from, to);
  }

  /** Copies the pending source span: before the window lets go of its chunks, and before other bytes. */
  flush(): void {
    if (this.spanTo > this.spanFrom) this.window.pieces(this.spanFrom, this.spanTo, this);
    this.spanFrom = this.spanTo = 0;
  }

  private source(from: number, to: number): void {
    if (from !== this.spanTo) {
      this.flush();
      this.spanFrom = from;
    }
    this.spanTo = to;
  }

  private literal(text: string): void {
    this.flush();
    this.room(Buffer.byteLength(text));
    this.bytes += this.output.write(text, this.bytes, 'utf8');
  }

  /** Bound, so it can be handed to SampleSelector.accept as is. */
  readonly add = (s: NormalizedSample): void => {
    if ((this.count + 1) * STRIDE > this.samples.length) {
      const bigger = new Uint32Array(this.samples.length * 2);
      bigger.set(this.samples);
      this.samples = bigger;
    }
    let type = this.typeIndex.get(s.type);
    if (type === undefined) {
      type = this.types.push(s.type) - 1;
      this.typeIndex.set(s.type, type);
    }
    const before = this.bytes + (this.spanTo - this.spanFrom);
    if (s.xml !== null) this.literal(s.xml);
    else {
      // What XmlBatcher.addCopy writes: ' ' + tag + '/>\n', from the source where its bytes agree.
      const w = this.window;
      let from = s.tagStart;
      if (w.byteAt(from - 1) === INDENT) from--;
      else this.literal(' ');
      if (!s.selfClosing) {
        this.source(from, s.tagEnd);
        this.literal('/>\n');
      } else if (w.byteAt(s.end) === 0x0a) {
        this.source(from, s.end + 1);
      } else {
        this.source(from, s.end);
        this.literal('\n');
      }
    }
    if (s.workout !== null) this.workouts.push([this.count, s.workout]);
    const at = this.count++ * STRIDE;
    const m = this.samples;
    m[at] = (s.fromCorrelation ? FROM_CORRELATION : 0) | (s.xml === null ? COPIED : 0);
    m[at + 1] = type;
    m[at + 2] = s.hi;
    m[at + 3] = s.lo;
    m[at + 4] = this.bytes + (this.spanTo - this.spanFrom) - before;
  };

  exportDate(value: string | null): void {
    this.exportDates.push([this.count, value]);
  }

  finish(
    index: number,
    counts: SelectionCounts,
    summary: ScanResult,
    clean: boolean,
    lineFeeds: number,
  ): { log: RangeLog; transfer: ArrayBuffer[] } {
    this.flush();
    const samples = this.samples.slice(0, this.count * STRIDE);
    const output = new Uint8Array(this.output.buffer, 0, this.bytes);
    return {
      log: {
        index,
        samples,
        count: this.count,
        types: this.types,
        output,
        exportDates: this.exportDates,
        workouts: this.workouts,
        counts,
        summary,
        clean,
        lineFeeds,
      },
      transfer: [samples.buffer, this.output.buffer as ArrayBuffer],
    };
  }
}
