/**
 * The repairing stream (format §2.1, §2.2): rewrites an export on the fly so that expat-based
 * consumers such as the backend's `ET.iterparse` accept it.
 * - The whole DOCTYPE declaration is dropped, not replaced: Apple's DTD is never authoritative
 *   (format §1.3) and no consumer needs it, and dropping keeps the size formula a plain subtraction.
 * - C0 control characters other than tab/LF/CR are dropped (they are illegal even as references).
 * Everything else passes through byte for byte, so element offsets shift only by what was dropped.
 * The stream works on any byte range of the source given the range's absolute start offset, which is
 * what the S3 split step needs to repair one piece at a time.
 *
 * Padding (`padDropped`): a single-part upload must announce its exact size (Content-Length and the
 * presigned policy's max_file_size, contract §2.1, §2.4) before the first byte is sent, but how many
 * control characters the export holds is only known after reading all of it. With `padDropped` the
 * stream appends one '\n' after the source's last byte for every control character it dropped
 * outside the DOCTYPE, so its length is `range length − DOCTYPE bytes in the range`, known from the
 * file's size and the head alone. Trailing whitespace after the root's end tag is legal XML (Misc,
 * XML 1.0 §2.1 [27]) and ElementTree.iterparse accepts it. Split parts are sized by a scan anyway
 * and are never padded.
 */
import { firstIllegal as firstIllegalByte, isIllegalByte } from './illegal-bytes.js';
import type { ScanSummary } from './types.js';

/** The search for a chunk another pass already found clean (repairChunk's `clean`). */
const none = (_buf: Buffer, _from: number, _to: number): number => -1;

export interface RepairPlan {
  /** Absolute [start, end) of the DOCTYPE declaration to drop, or null to keep everything. */
  doctype: { start: number; end: number } | null;
}

export interface RepairOptions {
  /** Append one '\n' per control character dropped outside the DOCTYPE (see the header). */
  padDropped?: boolean;
  /**
   * How far from the start of the source another pass has already found no illegal byte (upload's
   * checking thread, which reads ahead): chunks that end before it skip the search.
   */
  cleanBefore?: () => number;
}

/** Exact byte length of the repaired (unpadded) whole source, from the scan alone (no second read). */
export function repairedSize(summary: ScanSummary): number {
  const doctypeBytes = summary.doctype ? summary.doctype.end - summary.doctype.start : 0;
  return summary.bytes - doctypeBytes - (summary.illegalCharCount - summary.illegalCharsInDoctype);
}

/** Bytes of the DOCTYPE span that fall inside [start, end). */
export function doctypeBytesIn(plan: RepairPlan, start: number, end: number): number {
  const d = plan.doctype;
  return d === null ? 0 : Math.max(0, Math.min(d.end, end) - Math.max(d.start, start));
}

/** Exact length of the padded repaired stream of a whole source of `sourceBytes` bytes. */
export function paddedSize(sourceBytes: number, plan: RepairPlan): number {
  return sourceBytes - doctypeBytesIn(plan, 0, sourceBytes);
}

/** The plan that repairs a source described by `summary`. */
export function repairPlanFor(summary: Pick<ScanSummary, 'doctype'>): RepairPlan {
  return { doctype: summary.doctype ? { start: summary.doctype.start, end: summary.doctype.end } : null };
}

/**
 * Repairs one chunk whose first byte sits at absolute offset `at`. Returns the chunk itself when
 * nothing needs dropping (the common case), so clean exports cost one scan and no copy; `clean`: the
 * chunk is known to hold no illegal byte, so only the DOCTYPE is looked for.
 */
export function repairChunk(chunk: Buffer, at: number, plan: RepairPlan, clean = false): Buffer {
  const n = chunk.length;
  const firstIllegal = clean ? none : firstIllegalByte;
  let dropFrom = n;
  let dropTo = n;
  const d = plan.doctype;
  if (d !== null && d.start < at + n && d.end > at) {
    dropFrom = Math.max(d.start - at, 0);
    dropTo = Math.min(d.end - at, n);
  }
  const first = firstIllegal(chunk, 0, dropFrom);
  if (first === -1 && dropFrom === n) return chunk;
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  // Copies the clean runs of chunk[from, to) around its illegal bytes; `next` is the first of them.
  const copyClean = (from: number, to: number, next: number): void => {
    let i = from;
    let j = next;
    for (;;) {
      const end = j === -1 ? to : j;
      if (end > i) o += chunk.copy(out, o, i, end);
      if (j === -1) return;
      i = j + 1;
      j = firstIllegal(chunk, i, to);
    }
  };
  copyClean(0, dropFrom, first);
  if (dropTo < n) copyClean(dropTo, n, firstIllegal(chunk, dropTo, n));
  return out.subarray(0, o);
}

/**
 * The source offset in `chunk` (at absolute offset `at`) after which the repaired output has `need` more
 * bytes: found by arithmetic when the repair kept the chunk whole, else byte by byte (only chunks holding
 * the DOCTYPE or an illegal character).
 */
export function locateKept(
  chunk: Buffer,
  at: number,
  need: number,
  kept: number,
  repair: RepairPlan,
): number {
  if (need <= 0) return at;
  if (kept === chunk.length) return at + need;
  const d = repair.doctype;
  for (let i = 0, n = 0; i < chunk.length; i++) {
    const abs = at + i;
    if (d && abs >= d.start && abs < d.end) continue;
    if (isIllegalByte(chunk[i]!)) continue;
    if (++n === need) return abs + 1;
  }
  return at + chunk.length;
}

const PAD_CHUNK = 1 << 20;

/** `count` newlines in chunks of at most 1 MiB (an export full of control characters stays in constant memory). */
function* padding(count: number): Generator<Buffer> {
  for (let left = count; left > 0; left -= PAD_CHUNK) yield Buffer.alloc(Math.min(left, PAD_CHUNK), 0x0a);
}

/** Counts what a repair of the range starting at `startOffset` consumed and produced, for the padding. */
class Tally {
  at: number;
  out = 0;
  constructor(
    readonly startOffset: number,
    readonly plan: RepairPlan,
  ) {
    this.at = startOffset;
  }
  /** Control characters dropped outside the DOCTYPE so far. */
  droppedOutsideDoctype(): number {
    const consumed = this.at - this.startOffset;
    return consumed - this.out - doctypeBytesIn(this.plan, this.startOffset, this.at);
  }
}

/** Repairs `source`, whose first byte is at absolute offset `startOffset`. */
export async function* repairBytes(
  source: AsyncIterable<Buffer>,
  plan: RepairPlan,
  startOffset = 0,
  opts: RepairOptions = {},
): AsyncGenerator<Buffer> {
  const t = new Tally(startOffset, plan);
  const cleanBefore = opts.cleanBefore;
  for await (const chunk of source) {
    const out = repairChunk(
      chunk,
      t.at,
      plan,
      cleanBefore !== undefined && t.at + chunk.length <= cleanBefore(),
    );
    t.at += chunk.length;
    t.out += out.length;
    if (out.length > 0) yield out;
  }
  if (opts.padDropped) yield* padding(t.droppedOutsideDoctype());
}
