import type { ExportSource } from '../../adapters/export-source.js';
import { ReadPool } from '../../adapters/read-pool.js';
import { moduleUrl } from '../../adapters/worker-thread.js';
import { scanInParallel } from '../reader/parallel-scan.js';
import { scanExport } from '../reader/read-export.js';
import type { ScanSummary } from '../reader/types.js';
import { type FilterSpec, NO_FILTERS } from '../selection/filters.js';
import { type CollectorPartial, TAPE_FIELDS, ValidationCollector } from './collector.js';
import type { ValidationReport } from './report.js';

export interface ValidateDeps {
  /** Resolves the input path (adapters/export-source openExport). */
  openExport(path: string): Promise<ExportSource>;
  now(): number;
}

export interface ValidateOptions {
  path: string;
  filter?: FilterSpec;
  signal?: AbortSignal;
  /** Called once the input is resolved, before the scan starts. */
  onStart?(source: ExportSource): void;
  /** Uncompressed bytes consumed so far, against the source's declared size (format §1.2). */
  onProgress?(bytesRead: number, total: number): void;
  /** Tuning of the parallel scan of plain files (tests force it on small files). */
  parallel?: { workers?: number; minBytes?: number; maxRangeBytes?: number };
  /** false: every element is judged from its tape, none by the compiled fast path's digest (tests compare the two). */
  digest?: boolean;
}

/** One streaming pass: resolve the input, scan it, collect the report. Never prints. */
export async function runValidate(opts: ValidateOptions, deps: ValidateDeps): Promise<ValidationReport> {
  const source = await deps.openExport(opts.path);
  opts.onStart?.(source);
  // Apple writes about 420 bytes per element (format §1.10): enough to size the duplicate set up front.
  const expectedElements = source.size / 400;
  const collectorOptions = { expectedElements, digest: opts.digest !== false };
  // Made when first needed: its duplicate set is the largest thing validate holds, and a parallel scan
  // that does not run (one thread, a small file) must not leave one behind for the sequential one.
  let made: ValidationCollector | null = null;
  const whole = (): ValidationCollector => {
    made ??= new ValidationCollector(opts.filter, collectorOptions);
    return made;
  };
  const started = deps.now();
  const progress = (bytes: number): void => opts.onProgress?.(bytes, source.size);
  let summary: ScanSummary | null = null;
  let reader = { threads: 1, ranges: 1 };
  if (source.filePath !== undefined) {
    // A plain file is read by several threads at once; a zip entry can only be inflated from its start.
    const merged = await scanInParallel({
      path: source.filePath,
      size: source.size,
      consumerUrl: moduleUrl(import.meta.url, './range-consumer'),
      consumerOptions: { filter: opts.filter ?? NO_FILTERS, digest: opts.digest !== false },
      // What the backend's XML parser refuses is an error here too, as upload refuses it.
      utf8: true,
      mainThread: true,
      onRange: (r) => whole().absorb(r.partial as CollectorPartial, r.lineShift),
      onPlan: (threads, ranges) => {
        reader = { threads, ranges };
      },
      onProgress: progress,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...opts.parallel,
    });
    if (merged) summary = { ...merged, sha256: '' };
    else {
      made = null;
      reader = { threads: 1, ranges: 1 };
    }
  }
  if (summary === null) {
    const sequential = whole();
    const digest = sequential.digestOption();
    // A plain file is read into a few reused buffers instead of a fresh one per read (read-pool.ts).
    const pool = new ReadPool();
    summary = await scanExport(
      released(source.open({ pool, ...(opts.signal ? { signal: opts.signal } : {}) }), pool),
      {
        onTape: (el) => sequential.onTape(el),
        onDefect: (d) => sequential.onDefect(d),
        onProgress: progress,
        ...(digest
          ? {
              onDigested: (el, type, outcome, extremes, dateAt, epoch) =>
                sequential.onDigested(el, type, outcome, extremes, dateAt, epoch),
            }
          : {}),
      },
      {
        hash: false,
        tape: true,
        tapeFields: TAPE_FIELDS,
        ...(digest ? { digest } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
    );
  }
  const report = whole().finish(summary, deps.now() - started);
  report.reader = reader;
  report.input = {
    path: opts.path,
    kind: source.kind,
    entryName: source.entryName ?? null,
    size: source.size,
  };
  return report;
}

/** The chunks, each given back to the pool once the scanner asks for the next (it keeps none after write()). */
async function* released(chunks: AsyncIterable<Buffer>, pool: ReadPool): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    yield chunk;
    pool.release(chunk);
  }
}
