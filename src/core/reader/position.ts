/**
 * Line and column bookkeeping for a byte stream that is consumed left to right.
 * Lines are counted at LF only (a CRLF pair is one line break); columns are 1-based byte counts
 * from the line start, as types.ts specifies.
 */
export class LineTracker {
  line = 1;
  /** Absolute offset of the first byte of the current line. */
  private lineStart: number;
  /** Absolute offset up to which newlines have been counted. */
  private counted: number;

  /** `origin`: the absolute offset of the first byte, which begins line 1 (a fragment's start). */
  constructor(origin = 0) {
    this.lineStart = origin;
    this.counted = origin;
  }

  /**
   * Counts newlines up to absolute offset `abs`. `buf[0]` sits at absolute offset `base`, and `buf`
   * must still hold every byte not yet counted (callers advance before dropping a buffer prefix).
   */
  advance(buf: Buffer, base: number, abs: number): void {
    if (abs <= this.counted) return;
    const end = abs - base;
    let i = buf.indexOf(10, this.counted - base);
    while (i !== -1 && i < end) {
      this.line++;
      this.lineStart = base + i + 1;
      i = buf.indexOf(10, i + 1);
    }
    this.counted = abs;
  }

  /** Absolute offset up to which newlines have been counted. */
  countedTo(): number {
    return this.counted;
  }

  /**
   * advance() with the counting done by the caller: `feeds` LF bytes lie between countedTo() and
   * `abs`, the last at absolute offset `lastFeed`.
   */
  advanceCounted(abs: number, feeds: number, lastFeed: number): void {
    if (abs <= this.counted) return;
    if (feeds > 0) {
      this.line += feeds;
      this.lineStart = lastFeed + 1;
    }
    this.counted = abs;
  }

  /** Column of absolute offset `abs`, which must be ≥ the last advanced-to offset's line start. */
  column(abs: number): number {
    return abs - this.lineStart + 1;
  }
}
