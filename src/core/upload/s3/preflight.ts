/**
 * Planning for `upload` (product.md `upload`). The common case — the export fits in one part — needs
 * no pass over the file before sending: the bytes to send are `size − DOCTYPE bytes` (the repair pads
 * what it drops, repair.ts), the DOCTYPE sits in the head, and the ledger's fingerprint is sampled
 * (adapters/fingerprint.ts). The scanner then checks the export while it is being sent
 * (checked-body.ts). Only an export larger than a part may be is scanned first, because the part
 * boundaries are element boundaries; that scan skips the full sha256 (the fingerprint is sampled).
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { AppError } from '../../../errors.js';
import { scanExport } from '../../reader/read-export.js';
import { paddedSize, type RepairPlan, repairedSize, repairPlanFor } from '../../reader/repair.js';
import { ExportScanner } from '../../reader/scanner.js';
import type { DefectKind, DoctypeSpan, ScanSummary } from '../../reader/types.js';
import type { ExportFilterPlan, FilteredRepair } from '../shared/export-filter.js';
import { PartPlanner, type PartSpec } from './part-planner.js';

/** The contract's cap at this snapshot (contract §2.1: max_file_size ≤ 1 GiB). */
export const DEFAULT_PART_CAP = 1024 * 1024 * 1024;

export interface Repairs {
  doctypeRemoved: boolean;
  /** Control characters dropped (in a single part, replaced by trailing newlines after the root). */
  illegalCharsDropped: number;
  defects: Partial<Record<DefectKind, number>>;
}

export interface UploadPlan {
  source: ExportSource;
  fingerprint: string;
  /** Bytes of the whole repaired export (padded when it is sent as one streamed part). */
  repairedBytes: number;
  cap: number;
  repair: RepairPlan;
  parts: PartSpec[];
  /**
   * true: one part, the padded repaired stream, checked by the scanner while it is sent
   * (checked-body.ts); false: parts cut by a preflight scan, sent as planned.
   */
  streamed: boolean;
  /** The preflight scan, or null when nothing was scanned before sending. */
  summary: ScanSummary | null;
  /** The streamed part is checked by another thread, its end held for the verdict (checked-body.ts). */
  checkedBy?: CheckedElsewhere;
}

/**
 * A plain export another thread checks and measures (measure.ts): how far it found no illegal byte, and
 * its verdict, the scan once the export is the document to send (plainVerdict).
 */
export interface CheckedElsewhere {
  cleanBefore(): number;
  verdict: Promise<ScanSummary>;
}

export interface PlanOptions {
  cap: number;
  fingerprint: string;
  signal?: AbortSignal;
  onProgress?(bytesRead: number): void;
}

/** What probeHead() hands the scanner at a time. */
const PROBE_SLICE_BYTES = 16 * 1024;

/** What the head of an export tells before the upload starts. */
export interface ExportHead {
  doctype: DoctypeSpan | null;
  rootName: string | null;
}

export function repairsOf(summary: ScanSummary): Repairs {
  return {
    doctypeRemoved: summary.doctype !== null,
    illegalCharsDropped: summary.illegalCharCount - summary.illegalCharsInDoctype,
    defects: summary.defectCounts,
  };
}

/**
 * Reads the export only up to the end of the root start tag (the DOCTYPE is in the prolog, format §1),
 * and refuses at once what is already hopeless there: a prolog that is not well-formed, another root,
 * no root at all.
 */
export async function probeHead(source: ExportSource, signal?: AbortSignal): Promise<ExportHead> {
  let broken = false;
  const scanner = new ExportScanner({
    onDefect: (d) => {
      if (!d.repairable) broken = true;
    },
  });
  for await (const chunk of source.open(signal ? { signal } : {})) {
    // In slices: the head is a few KB, and the rest of a read chunk would be parsed for nothing.
    for (let at = 0; at < chunk.length && !broken; at += PROBE_SLICE_BYTES) {
      scanner.write(chunk.subarray(at, at + PROBE_SLICE_BYTES));
      const r = scanner.result();
      if (r.rootContentStart !== null && !broken) {
        if (!r.rootSeen) refuseUnrepairable(source, { ...r, sha256: '' });
        return { doctype: r.doctype, rootName: r.rootName };
      }
    }
    if (broken) break;
  }
  if (!broken) scanner.end();
  refuseUnrepairable(source, { ...scanner.result(), sha256: '' });
  throw new AppError('INTERNAL', `${source.displayName}: the head scan ended without a verdict`);
}

/** The single streamed part, when the padded export fits under the cap; null when it must be split. */
export function streamedPlan(
  source: ExportSource,
  head: ExportHead,
  fingerprint: string,
  cap: number,
  filter: ExportFilterPlan | null = null,
): UploadPlan | null {
  const repair: FilteredRepair = { ...repairPlanFor(head), filter };
  const bytes = filter ? filter.stats.bytes : paddedSize(source.size, repair);
  if (bytes > cap) return null;
  return {
    source,
    fingerprint,
    repairedBytes: bytes,
    cap,
    repair,
    parts: [{ index: 1, segments: [{ kind: 'source', start: 0, end: source.size }], bytes, elements: null }],
    streamed: true,
    summary: null,
  };
}

/**
 * Scans the export once and plans the parts; refuses inputs the repair cannot make well-formed. Used
 * when the export may need splitting and by --dry-run (which reports the defects before sending).
 */
export async function planUpload(source: ExportSource, opts: PlanOptions): Promise<UploadPlan> {
  // The raw size bounds the repaired size, so a source already under the cap needs no boundary tracking.
  const planner = source.size > opts.cap ? new PartPlanner(opts.cap) : undefined;
  let at = 0;
  async function* tapped(): AsyncGenerator<Buffer> {
    for await (const chunk of source.open(opts.signal ? { signal: opts.signal } : {})) {
      planner?.noteChunk(chunk, at);
      at += chunk.length;
      yield chunk;
    }
  }
  const summary = await scanExport(
    tapped(),
    {
      ...(planner ? { onTopLevel: (name, start, end) => planner.onElement(name, start, end) } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    },
    // Splitting needs only element offsets and the verdict, not attribute values.
    { hash: false, checkOnly: true, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  refuseUnrepairable(source, summary);
  const repair = repairPlanFor(summary);
  const single = streamedPlan(source, summary, opts.fingerprint, opts.cap);
  if (single) {
    single.parts[0]!.elements = summary.topLevelCount;
    return { ...single, summary };
  }
  if (!planner) throw new AppError('INTERNAL', 'the export grew while it was being read');
  const parts = planner.finish(summary);
  return {
    source,
    fingerprint: opts.fingerprint,
    repairedBytes: repairedSize(summary),
    cap: opts.cap,
    repair,
    parts,
    streamed: false,
    summary,
  };
}

/** Refuses an export the repair cannot make well-formed (truncated, not well-formed, not Health data). */
export function refuseUnrepairable(source: ExportSource, s: ScanSummary): void {
  const first = s.defects.find((d) => !d.repairable);
  if (!s.rootSeen || !s.closed || !s.repairable || first) {
    const why = first
      ? `${first.message} at line ${first.line}:${first.column}`
      : !s.rootSeen
        ? 'no <HealthData> root element'
        : 'the export ends before </HealthData> (truncated)';
    throw new AppError('INPUT_INVALID', `${source.displayName} cannot be uploaded: ${why}.`, {
      hint: 'The export looks incomplete or damaged; export again from the Health app. `apple-import validate` shows every defect.',
    });
  }
}
