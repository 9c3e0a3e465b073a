/**
 * An upload's first pass: the whole export is checked before anything is sent. For the direct method,
 * the backend imports each batch as it arrives, so an export that turns out truncated or broken past some
 * point could otherwise only be refused after part of it was imported. The check is the S3 method's
 * (a check-only scan on the compiled fast path, no attribute decoded, no digest), so it costs a read of
 * the file and little CPU next to building and sending the batches (README: "direct checks first").
 * Memory stays bounded on any input, which the full reader alone does not promise for a hostile one.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { ReadPool } from '../../../adapters/read-pool.js';
import { scanExport } from '../../reader/read-export.js';
import type { ScanSummary } from '../../reader/types.js';
import { refuseUnrepairable } from '../s3/preflight.js';
import type { UploadEvents } from '../types.js';

export async function checkWholeExport(
  source: ExportSource,
  signal: AbortSignal,
  onEvent: UploadEvents,
): Promise<ScanSummary> {
  // Read into a few reused buffers (the scanner copies out what it keeps), not a fresh one per read
  // whose garbage the heap holds for a while: the check runs before a send's memory is in use, and
  // this keeps its peak low on a hostile export too.
  const pool = new ReadPool();
  async function* pooled(): AsyncGenerator<Buffer> {
    for await (const chunk of source.open({ signal, pool })) {
      yield chunk;
      pool.release(chunk);
    }
  }
  const summary = await scanExport(
    pooled(),
    { onProgress: (bytes) => onEvent({ type: 'progress', pass: 'check', bytes, total: source.size }) },
    { hash: false, checkOnly: true, signal },
  );
  refuseUnrepairable(source, summary);
  return summary;
}

/** Where a pass found an unrepairable defect: line, column and what it is. */
export interface BrokenAt {
  line: number;
  column: number;
  message: string;
}

/**
 * Where the pass that built the batches found the export, checked whole before the first one, not
 * well-formed (it changed in between); null when that pass did not finish or found it whole.
 */
export function brokenAt(summary: ScanSummary | null): BrokenAt | null {
  if (!summary || summary.wellFormed || summary.repairable) return null;
  const d = summary.defects.find((x) => !x.repairable);
  return { line: d?.line ?? 0, column: d?.column ?? 0, message: d?.message ?? 'not well-formed' };
}
