/**
 * The reading half of a direct upload: one pass over the export that selects and normalizes samples
 * (normalize.ts), drops duplicates in file order, and cuts them into batches handed to the queue. A
 * plain file is scanned by worker threads over byte ranges (parallel.ts), whose logs are taken here in
 * file order; a zip, a small file, or the rest after a range cut that did not hold is scanned here.
 */

import type { ExportSource } from '../../../adapters/export-source.js';
import { READ_CHUNK_BYTES, ReadPool } from '../../../adapters/read-pool.js';
import { CancelledError } from '../../../errors.js';
import { mergeSummaries } from '../../reader/parallel-scan.js';
import { ExportScanner, type ScanResult } from '../../reader/scanner.js';
import type { ScanSummary } from '../../reader/types.js';
import type { KnownRanges } from '../shared/imported.js';
import { WorkoutKeys } from '../shared/workout-keys.js';
import type { BatchLimits, UploadEvents } from '../types.js';
import type { BatchQueue } from './batch-queue.js';
import { type BodyPool, XmlBatcher } from './batcher.js';
import type { Sha256Offload } from './hash-offload.js';
import type { DirectSelection } from './normalize.js';
import {
  addCounts,
  Deduper,
  emptyCounts,
  type NormalizationReport,
  type NormalizedSample,
  SampleSelector,
  type WorkoutRef,
} from './normalize.js';
import { type ParallelOptions, ParallelRanges } from './parallel.js';
import { COPIED, FROM_CORRELATION, type RangeLog, STRIDE } from './range-log.js';
import { documentHeader } from './serialize.js';
import { SourceWindow } from './source-window.js';
import type { ReaderInfo } from './types.js';

/** Apple's Records take 300–600 bytes each: the duplicate set is sized from the file. */
const BYTES_PER_SAMPLE = 400;
const HEAD_LIMIT = 8 * 1024 * 1024;

export interface ProducerDeps {
  source: ExportSource;
  filters: DirectSelection;
  limits: BatchLimits;
  queue: BatchQueue;
  /** Digests of the batch bodies, for resume (null in a dry run: nothing is compared). */
  hashes: Sha256Offload | null;
  bodies: BodyPool;
  signal: AbortSignal;
  parallel?: ParallelOptions;
  /** Keys of the workouts the server already has (shared/imported.ts). */
  importedWorkouts?: ReadonlySet<string>;
  /**
   * Copy Records already written as the serializer writes them byte for byte from the source (default);
   * false serializes every sample, the reference a copy must equal.
   */
  copyFromSource?: boolean;
  onEvent: UploadEvents;
}

/** A stretch of the export as one scanner saw it, and the line feeds before it. */
interface ScannedPart {
  summary: ScanResult;
  lineShift: number;
}

export class BatchProducer {
  readonly reader: ReaderInfo = { threads: 0, ranges: 0, sequentialFrom: null };
  private exportDate: string | null = null;
  /**
   * The chunks read on this thread: the open batch refers to a batch's worth of them until it is
   * copied into its body, so that many are kept for reuse (source-window.ts).
   */
  private readonly pool: ReadPool;
  private readonly window: SourceWindow;
  /** Selection on this thread (a zip, a small file, or after a range cut that did not hold). */
  private readonly selector: SampleSelector;
  private readonly deduper: Deduper;
  /** Selection counts of the ranges scanned by workers. */
  private readonly selection = emptyCounts();
  private batcher: XmlBatcher | null = null;
  /** Line feeds before where this thread's scan starts (its lines count from there). */
  private hereLineShift = 0;

  constructor(private readonly deps: ProducerDeps) {
    this.pool = new ReadPool(READ_CHUNK_BYTES, Math.ceil(deps.limits.maxBytes / READ_CHUNK_BYTES) + 4);
    this.window = new SourceWindow(0, this.pool);
    this.selector = new SampleSelector(deps.filters, deps.copyFromSource === false ? null : this.window);
    this.deduper = new Deduper(deps.source.size / BYTES_PER_SAMPLE, new WorkoutKeys(deps.importedWorkouts));
  }

  /**
   * Reads the whole export into batches; the queue is closed when it ends, however it ends. `stopped`
   * says the sender gave up (--fail-fast): the last, partial batch is then not flushed.
   */
  async run(stopped: () => boolean): Promise<ScanSummary> {
    const { source, signal, queue } = this.deps;
    try {
      const locale = await readRootLocale(source, signal);
      const batcher = new XmlBatcher(
        this.deps.limits,
        () => documentHeader(locale, this.exportDate),
        (batch) => {
          const digest = this.deps.hashes === null ? null : this.deps.hashes.digest(batch.body);
          // A failure surfaces where the sender awaits it; until then it is not unhandled.
          digest?.catch(() => {});
          queue.push({ batch, digest });
        },
        this.window,
        this.deps.bodies,
      );
      this.batcher = batcher;
      const parts: ScannedPart[] = [];
      const { done, lineShift } = await this.fromWorkers(parts);
      if (parts.length === 0 || done < source.size) parts.push(await this.fromHere(done, lineShift));
      if (!stopped()) batcher.flush();
      const merged = parts.length === 1 ? parts[0]!.summary : mergeSummaries(parts);
      return { ...merged, sha256: '' };
    } finally {
      queue.close();
    }
  }

  /** What the imports record grows by once everything is sent: the workouts' keys and the types' ranges. */
  sentImports(): { workouts: string[]; ranges: KnownRanges } {
    const counts = emptyCounts();
    addCounts(counts, this.selection);
    addCounts(counts, this.selector.counts);
    return { workouts: this.deduper.workouts.admitted.map((w) => w.key), ranges: counts.ranges };
  }

  /** Selection and duplicates across the export, once run() has finished. */
  report(): NormalizationReport {
    const counts = emptyCounts();
    addCounts(counts, this.selection);
    addCounts(counts, this.selector.counts);
    return this.deduper.report(counts);
  }

  /**
   * The ranges the workers scanned, in order, up to the first cut that did not hold: where they end, and
   * the line feeds before that.
   */
  private async fromWorkers(parts: ScannedPart[]): Promise<{ done: number; lineShift: number }> {
    const { source, signal, queue } = this.deps;
    const none = { done: 0, lineShift: 0 };
    if (source.filePath === undefined) return none;
    const parallel = await ParallelRanges.start(
      source.filePath,
      source.size,
      this.deps.filters,
      this.deps.parallel,
    );
    if (!parallel) return none;
    this.reader.threads = parallel.threads;
    this.reader.ranges = parallel.ranges.length;
    let lineShift = 0;
    let done = 0;
    try {
      for (const range of parallel.ranges) {
        const log = await parallel.next(signal);
        // A cut that did not fall between two elements: this range and the rest are scanned here.
        if (!range.last && !log.clean) break;
        await queue.room();
        if (signal.aborted) throw new CancelledError();
        this.absorb(log, lineShift);
        parts.push({ summary: log.summary, lineShift });
        lineShift += log.lineFeeds;
        done = range.end;
        this.progress(done);
      }
    } finally {
      parallel.close();
    }
    if (done < source.size) this.reader.sequentialFrom = done;
    return { done, lineShift };
  }

  /** Scans from `start` to the end on this thread. */
  private async fromHere(start: number, lineShift: number): Promise<ScannedPart> {
    const { source, signal, queue } = this.deps;
    this.window.restart(start);
    this.hereLineShift = lineShift;
    const scanner = new ExportScanner(
      {
        onElement: (el) => {
          this.selector.accept(el, this.emit);
          if (el.name === 'ExportDate') this.exportDate = this.selector.exportDate;
          this.window.consumed(el.endOffset);
        },
      },
      {},
      start > 0 ? { offset: start } : undefined,
    );
    for await (const chunk of this.window.tap(queue.gated(source.open({ signal, start, pool: this.pool })))) {
      scanner.write(chunk);
      this.progress(this.window.end);
    }
    if (signal.aborted) throw new CancelledError();
    scanner.end();
    return { summary: scanner.result(), lineShift };
  }

  private readonly emit = (s: NormalizedSample): void => {
    const workout = s.workout === null ? null : shifted(s.workout, this.hereLineShift);
    if (this.deduper.admit(s.fromCorrelation, s.hi, s.lo, s.type, s.xml === null, workout))
      this.batcher?.add(s);
  };

  /** A worker's range, in file order: the decisions emit() makes, from the log. */
  private absorb(log: RangeLog, lineShift: number): void {
    const output = Buffer.from(log.output.buffer, log.output.byteOffset, log.output.length);
    const m = log.samples;
    const dates = log.exportDates;
    const batcher = this.batcher as XmlBatcher;
    const workouts = log.workouts;
    let d = 0;
    let w = 0;
    let at = 0;
    for (let i = 0; i < log.count; i++) {
      while (d < dates.length && dates[d]![0] === i) this.exportDate = dates[d++]![1];
      const k = i * STRIDE;
      const flags = m[k]!;
      const type = log.types[m[k + 1]!]!;
      const length = m[k + 4]!;
      const workout =
        w < workouts.length && workouts[w]![0] === i ? shifted(workouts[w++]![1], lineShift) : null;
      if (
        this.deduper.admit(
          (flags & FROM_CORRELATION) !== 0,
          m[k + 2]!,
          m[k + 3]!,
          type,
          (flags & COPIED) !== 0,
          workout,
        )
      )
        batcher.addBytes(type, output, at, at + length);
      at += length;
    }
    while (d < dates.length) this.exportDate = dates[d++]![1];
    addCounts(this.selection, log.counts);
  }

  private progress(bytes: number): void {
    this.deps.onEvent({ type: 'progress', pass: 'read', bytes, total: this.deps.source.size });
  }
}

/** A worker's workout with its line counted from the start of the export. */
function shifted(w: WorkoutRef, lineShift: number): WorkoutRef {
  return lineShift === 0 ? w : { ...w, info: { ...w.info, line: w.info.line + lineShift } };
}

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
