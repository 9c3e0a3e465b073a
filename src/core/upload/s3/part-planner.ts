/**
 * Plans where an export is cut into S3 parts while it is being scanned (one pass, constant memory):
 * it keeps only part boundaries and the offsets of illegal bytes not yet assigned to a closed part
 * (they are rare), never a per-element list.
 *
 * A split part is a valid document built from source ranges (format §1): the prolog and header
 * elements `[0, headerEnd)` (XML declaration, DOCTYPE — dropped by the repair —, the `<HealthData …>`
 * start tag, ExportDate, Me), then a run of whole top-level elements `[start, end)`, then a closing tag.
 * Part 1 is simply `[0, end)` (the header and its first elements are contiguous). Sizes are planned on raw bytes (the repair only removes bytes, so this
 * is conservative) and made exact afterwards from the illegal-byte counts and the DOCTYPE span.
 */
import { AppError } from '../../../errors.js';
import { formatBytes } from '../../../io/progress.js';
import { firstIllegal } from '../../reader/illegal-bytes.js';
import type { ScanSummary } from '../../reader/types.js';

export type Segment = { kind: 'source'; start: number; end: number } | { kind: 'literal'; text: string };

export interface PartSpec {
  /** 1-based. */
  index: number;
  segments: Segment[];
  /** Exact bytes of the part after the repair: what S3 receives. */
  bytes: number;
  /** Top-level elements in the part, not counting the repeated header elements; null until scanned. */
  elements: number | null;
}

interface ClosedRange {
  start: number;
  end: number;
  illegal: number;
  elements: number;
}

const HEADER_ELEMENTS = new Set(['ExportDate', 'Me']);

/** The closing tag appended to every split part (the source's own trailer is not reused). */
export function closerFor(rootName: string | null): string {
  return `\n</${rootName ?? 'HealthData'}>\n`;
}

export class PartPlanner {
  /** Offsets of illegal bytes at or after the current part's start, ascending. */
  private illegal: number[] = [];
  private headerEnd: number | null = null;
  private headerIllegal = 0;
  private bodyStarted = false;
  /** Where the current part's run of elements starts: its first element's own start. */
  private partStart = 0;
  private lastEnd = 0;
  /** Elements of the current part, the first part's header elements included. */
  private partElements = 0;
  /** Top-level elements after the header in the current part. */
  private partBody = 0;
  private readonly closed: ClosedRange[] = [];
  private readonly closerBytes: number;

  constructor(
    readonly cap: number,
    rootName: string | null = 'HealthData',
  ) {
    this.closerBytes = Buffer.byteLength(closerFor(rootName));
  }

  /** Feed every source chunk (before the scanner sees it), with its absolute offset. */
  noteChunk(buf: Buffer, at: number): void {
    for (let i = firstIllegal(buf); i !== -1; i = firstIllegal(buf, i + 1)) this.illegal.push(at + i);
  }

  /** Feed every top-level element's source span, in document order. */
  onElement(name: string, start: number, end: number): void {
    if (!this.bodyStarted && HEADER_ELEMENTS.has(name)) {
      this.headerEnd = end;
      this.partElements++;
      this.lastEnd = end;
      return;
    }
    if (!this.bodyStarted) {
      this.bodyStarted = true;
      if (this.headerEnd === null) this.headerEnd = start;
      this.headerIllegal = this.countBelow(this.headerEnd);
      this.illegal.splice(0, this.headerIllegal);
    }
    // Every part is the header, then a run of whole elements from the first one's start tag: what lies
    // between top-level elements (whitespace, comments) before a part's first element is left out, so
    // however much of it an export holds, it never counts against a part.
    if (this.partBody === 0) this.startPartAt(start);
    const header = this.headerEnd ?? 0;
    const estimate = () => header + (end - this.partStart) + this.closerBytes;
    if (estimate() > this.cap) {
      if (this.partBody === 0) throw this.tooBig(start, end);
      this.closePart(this.lastEnd);
      this.startPartAt(start);
      if (estimate() > this.cap) throw this.tooBig(start, end);
    }
    this.lastEnd = end;
    this.partElements++;
    this.partBody++;
  }

  /**
   * The parts, with exact repaired sizes. Only meaningful when the repaired whole exceeds the cap;
   * callers send the whole export as one part otherwise.
   */
  finish(summary: ScanSummary): PartSpec[] {
    const header = this.headerEnd ?? 0;
    if (this.partBody > 0) this.closePart(this.lastEnd);
    else if (this.closed.length === 0) {
      // Nothing but the header elements: one part of them alone.
      this.partStart = header;
      this.closePart(header);
    }
    const doctypeBytes = summary.doctype ? summary.doctype.end - summary.doctype.start : 0;
    const inDoctype = summary.illegalCharsInDoctype;
    const closer = closerFor(summary.rootName);
    const closerBytes = Buffer.byteLength(closer);
    const headerRepaired = header - doctypeBytes - (this.headerIllegal - inDoctype);
    return this.closed.map((r, i) => {
      const body: Segment[] =
        i === 0 && r.start === header
          ? [{ kind: 'source', start: 0, end: r.end }]
          : [
              { kind: 'source', start: 0, end: header },
              { kind: 'source', start: r.start, end: r.end },
            ];
      return {
        index: i + 1,
        segments: [...body, { kind: 'literal', text: closer }],
        bytes: headerRepaired + (r.end - r.start - r.illegal) + closerBytes,
        elements: r.elements,
      };
    });
  }

  /** The current part's run starts at `at`: illegal bytes in what was left out before it are not its. */
  private startPartAt(at: number): void {
    this.partStart = at;
    this.illegal.splice(0, this.countBelow(at));
  }

  private closePart(at: number): void {
    const n = this.countBelow(at);
    // The first part's header elements are counted with it; later parts repeat them uncounted.
    this.closed.push({ start: this.partStart, end: at, illegal: n, elements: this.partElements });
    this.illegal.splice(0, n);
    this.partElements = 0;
    this.partBody = 0;
  }

  private countBelow(offset: number): number {
    let lo = 0;
    let hi = this.illegal.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.illegal[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private tooBig(start: number, end: number): AppError {
    return new AppError(
      'INPUT_INVALID',
      `The element at byte ${start} (${formatBytes(end - start)}) cannot fit in a part of at most ${formatBytes(this.cap)} together with the export header.`,
      { hint: 'raise --max-part-size' },
    );
  }
}
