/**
 * Preflight for `upload` (product.md): the export is scanned exactly once, and that one pass yields
 * the defects, the fingerprint (for the ledger), the exact size of the repaired stream and, when the
 * export is larger than a part may be, the part boundaries.
 */
import type { ExportSource } from '../../adapters/export-source.js';
import { AppError } from '../../errors.js';
import { scanExport } from '../reader/read-export.js';
import { type RepairPlan, repairedSize, repairPlanFor } from '../reader/repair.js';
import type { DefectKind, ScanSummary } from '../reader/types.js';
import { PartPlanner, type PartSpec } from './part-planner.js';

/** The contract's cap at this snapshot (contract §2.1: max_file_size ≤ 1 GiB). */
export const DEFAULT_PART_CAP = 1024 * 1024 * 1024;

export interface Repairs {
  doctypeRemoved: boolean;
  illegalCharsDropped: number;
  defects: Partial<Record<DefectKind, number>>;
}

export interface UploadPlan {
  source: ExportSource;
  summary: ScanSummary;
  fingerprint: string;
  /** Bytes of the whole repaired export. */
  repairedBytes: number;
  cap: number;
  repair: RepairPlan;
  repairs: Repairs;
  parts: PartSpec[];
}

export interface PlanOptions {
  cap: number;
  signal?: AbortSignal;
  onProgress?(bytesRead: number): void;
}

/** Scans the export once and plans the parts; refuses inputs the repair cannot make well-formed. */
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
      ...(planner ? { onElement: (el) => planner.onElement(el.name, el.startOffset, el.endOffset) } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    },
    opts.signal ? { signal: opts.signal } : {},
  );
  refuseUnrepairable(source, summary);
  const repairedBytes = repairedSize(summary);
  const repair = repairPlanFor(summary);
  let parts: PartSpec[];
  if (repairedBytes <= opts.cap) {
    parts = [
      {
        index: 1,
        segments: [{ kind: 'source', start: 0, end: summary.bytes }],
        bytes: repairedBytes,
        elements: summary.topLevelCount,
      },
    ];
  } else {
    if (!planner) throw new AppError('INTERNAL', 'the export grew while it was being read');
    parts = planner.finish(summary);
  }
  return {
    source,
    summary,
    fingerprint: summary.sha256,
    repairedBytes,
    cap: opts.cap,
    repair,
    repairs: {
      doctypeRemoved: summary.doctype !== null,
      illegalCharsDropped: summary.illegalCharCount - summary.illegalCharsInDoctype,
      defects: summary.defectCounts,
    },
    parts,
  };
}

function refuseUnrepairable(source: ExportSource, s: ScanSummary): void {
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
