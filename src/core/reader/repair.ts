/**
 * The repairing stream (format §2.1, §2.2): rewrites an export on the fly so that expat-based
 * consumers such as the backend's `ET.iterparse` accept it.
 * - The whole DOCTYPE declaration is dropped, not replaced: Apple's DTD is never authoritative
 *   (format §1.3) and no consumer needs it, and dropping keeps the size formula a plain subtraction.
 * - C0 control characters other than tab/LF/CR are dropped (they are illegal even as references).
 * Everything else passes through byte for byte, so element offsets shift only by what was dropped.
 * The stream works on any byte range of the source given the range's absolute start offset, which is
 * what the S3 split step needs to repair one piece at a time.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { ScanSummary } from './types.js';

export interface RepairPlan {
  /** Absolute [start, end) of the DOCTYPE declaration to drop, or null to keep everything. */
  doctype: { start: number; end: number } | null;
}

function isIllegal(c: number): boolean {
  return c < 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d;
}

/** Number of illegal-character bytes in buf[from, to). */
export function countIllegalBytes(buf: Buffer, from = 0, to = buf.length): number {
  let n = 0;
  for (let i = from; i < to; i++) if (isIllegal(buf[i]!)) n++;
  return n;
}

/** Exact byte length of the repaired whole source, from the scan alone (no second read). */
export function repairedSize(summary: ScanSummary): number {
  const doctypeBytes = summary.doctype ? summary.doctype.end - summary.doctype.start : 0;
  return summary.bytes - doctypeBytes - (summary.illegalCharCount - summary.illegalCharsInDoctype);
}

/** The plan that repairs a source described by `summary`. */
export function repairPlanFor(summary: ScanSummary): RepairPlan {
  return { doctype: summary.doctype ? { start: summary.doctype.start, end: summary.doctype.end } : null };
}

/**
 * Repairs one chunk whose first byte sits at absolute offset `at`. Returns the chunk itself when
 * nothing needs dropping (the common case), so clean exports cost one byte loop and no copy.
 */
export function repairChunk(chunk: Buffer, at: number, plan: RepairPlan): Buffer {
  const n = chunk.length;
  let dropFrom = n;
  let dropTo = n;
  const d = plan.doctype;
  if (d !== null && d.start < at + n && d.end > at) {
    dropFrom = Math.max(d.start - at, 0);
    dropTo = Math.min(d.end - at, n);
  }
  let first = -1;
  for (let i = 0; i < n; i++) {
    if (isIllegal(chunk[i]!) && (i < dropFrom || i >= dropTo)) {
      first = i;
      break;
    }
  }
  if (first === -1 && dropFrom === n) return chunk;
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  for (let i = 0; i < n; i++) {
    if (i === dropFrom) {
      i = dropTo - 1;
      continue;
    }
    const c = chunk[i]!;
    if (!isIllegal(c)) out[o++] = c;
  }
  return out.subarray(0, o);
}

/** A Transform that repairs a source (or a byte range of it starting at absolute offset `startOffset`). */
export function createRepairStream(plan: RepairPlan, startOffset = 0): Transform {
  let at = startOffset;
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      const out = repairChunk(chunk, at, plan);
      at += chunk.length;
      cb(null, out.length > 0 ? out : undefined);
    },
  });
}

/** Async-generator form: repairs `source`, whose first byte is at absolute offset `startOffset`. */
export async function* repairBytes(
  source: AsyncIterable<Buffer>,
  plan: RepairPlan,
  startOffset = 0,
): AsyncGenerator<Buffer> {
  let at = startOffset;
  for await (const chunk of source) {
    const out = repairChunk(chunk, at, plan);
    at += chunk.length;
    if (out.length > 0) yield out;
  }
}
