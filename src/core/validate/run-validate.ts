import type { ExportSource } from '../../adapters/export-source.js';
import { scanExport } from '../reader/read-export.js';
import { ValidationCollector } from './collector.js';
import type { RecordFilter } from './filter.js';
import type { ValidationReport } from './report.js';

export interface ValidateDeps {
  /** Resolves the input path (adapters/export-source openExport). */
  openExport(path: string): Promise<ExportSource>;
  now(): number;
}

export interface ValidateOptions {
  path: string;
  filter?: RecordFilter;
  signal?: AbortSignal;
  /** Called once the input is resolved, before the scan starts. */
  onStart?(source: ExportSource): void;
  /** Uncompressed bytes consumed so far, against the source's declared size (format §1.2). */
  onProgress?(bytesRead: number, total: number): void;
}

/** One streaming pass: resolve the input, scan it, collect the report. Never prints. */
export async function runValidate(opts: ValidateOptions, deps: ValidateDeps): Promise<ValidationReport> {
  const source = await deps.openExport(opts.path);
  opts.onStart?.(source);
  const collector = new ValidationCollector(opts.filter);
  const started = deps.now();
  const summary = await scanExport(
    source.open(opts.signal ? { signal: opts.signal } : {}),
    {
      onElement: (el) => collector.onElement(el),
      onDefect: (d) => collector.onDefect(d),
      onProgress: (bytes) => opts.onProgress?.(bytes, source.size),
    },
    { hash: false, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  const report = collector.finish(summary, deps.now() - started);
  report.input = {
    path: opts.path,
    kind: source.kind,
    entryName: source.entryName ?? null,
    size: source.size,
  };
  return report;
}
