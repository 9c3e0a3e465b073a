/**
 * The source chunks the scanner is working on, kept so that a Record reported by the scanner can be
 * copied byte for byte into a batch (raw-tag.ts). A chunk is let go once the scanner has reported an
 * element past its end; what is held is the chunk being scanned plus, at most, the start of an element
 * carried over from the one before.
 *
 * Read into a pool's buffers (read-pool.ts), a chunk goes back to the pool once the window has let it go
 * and no batch still refers to it: pieces() hands chunks to the open batch, which holds them until it is
 * copied into its body (unpin()). Without that, every chunk is garbage the size of the export over the
 * run, which V8 collects only every few dozen MB of external memory, and the peak RSS holds it.
 */
import type { ReadPool } from '../../../adapters/read-pool.js';

/** Receives the pieces of a byte range, chunk by chunk (offsets relative to `buf`). */
export interface PieceSink {
  piece(buf: Buffer, from: number, to: number): void;
}

export class SourceWindow {
  private chunks: Buffer[] = [];
  /** Absolute offset of each chunk's first byte. */
  private starts: number[] = [];
  private total: number;
  private keepFrom: number;
  private scratch: Buffer = Buffer.allocUnsafe(0);
  /** Set by view(): the buffer holding the range, and the absolute offset of its byte 0. */
  viewBuf: Buffer = this.scratch;
  viewBase = 0;

  /** Chunks handed to the sink by pieces() since the last unpin(). */
  private readonly pinned = new Set<Buffer>();
  /** Pinned chunks the window has let go: they go back to the pool at unpin(). */
  private readonly unheld: Buffer[] = [];

  /**
   * `origin`: the absolute offset of the first byte tap() will see. `pool`: the pool the chunks are
   * read into, which they are released to.
   */
  constructor(
    origin = 0,
    private readonly pool: ReadPool | null = null,
  ) {
    this.total = origin;
    this.keepFrom = origin;
  }

  /** Lets go of everything and starts again at `origin`. */
  restart(origin: number): void {
    this.chunks = [];
    this.starts = [];
    this.total = origin;
    this.keepFrom = origin;
  }

  /** Absolute offset just past the last byte seen. */
  get end(): number {
    return this.total;
  }

  /** Passes the source through unchanged, holding each chunk while it may still be needed. */
  async *tap(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.trim();
      this.chunks.push(chunk);
      this.starts.push(this.total);
      this.total += chunk.length;
      yield chunk;
    }
  }

  /** The scanner has reported every element that ends at or before `offset`. */
  consumed(offset: number): void {
    this.keepFrom = offset;
  }

  private trim(): void {
    let n = 0;
    while (n < this.chunks.length && this.starts[n]! + this.chunks[n]!.length <= this.keepFrom) n++;
    if (n > 0) {
      for (let k = 0; k < n; k++) this.letGo(this.chunks[k]!);
      this.chunks.splice(0, n);
      this.starts.splice(0, n);
    }
  }

  private letGo(chunk: Buffer): void {
    if (this.pool === null) return;
    if (this.pinned.has(chunk)) this.unheld.push(chunk);
    else this.pool.release(chunk);
  }

  /** The sink has copied every piece pieces() gave it: nothing refers to those chunks any more. */
  unpin(): void {
    if (this.pool === null) return;
    for (const chunk of this.unheld) this.pool.release(chunk);
    this.unheld.length = 0;
    this.pinned.clear();
  }

  private indexOf(offset: number): number {
    for (let k = this.chunks.length - 1; k >= 0; k--) if (this.starts[k]! <= offset) return k;
    return -1;
  }

  /** The byte at an absolute offset, or -1 when it is not held (let go, or not read yet). */
  byteAt(offset: number): number {
    const k = this.indexOf(offset);
    if (k < 0) return -1;
    const at = offset - this.starts[k]!;
    const chunk = this.chunks[k]!;
    return at < chunk.length ? chunk[at]! : -1;
  }

  /**
   * Makes [from, to) readable as viewBuf[from - viewBase, to - viewBase): the chunk itself when the
   * range lies in one, else a copy. False when part of the range is not held.
   */
  view(from: number, to: number): boolean {
    const k = this.indexOf(from);
    if (k < 0 || to > this.total) return false;
    const chunk = this.chunks[k]!;
    const start = this.starts[k]!;
    if (to - start <= chunk.length) {
      this.viewBuf = chunk;
      this.viewBase = start;
      return true;
    }
    if (this.scratch.length < to - from) this.scratch = Buffer.allocUnsafe(Math.max(to - from, 64 * 1024));
    let at = 0;
    for (let i = k; at < to - from; i++) {
      const c = this.chunks[i]!;
      const a = Math.max(from - this.starts[i]!, 0);
      const b = Math.min(to - this.starts[i]!, c.length);
      at += c.copy(this.scratch, at, a, b);
    }
    this.viewBuf = this.scratch;
    this.viewBase = from;
    return true;
  }

  /** Hands [from, to), which must be held, to `sink` as one piece per chunk it spans. */
  pieces(from: number, to: number, sink: PieceSink): void {
    for (let k = this.indexOf(from); from < to; k++) {
      const chunk = this.chunks[k]!;
      const start = this.starts[k]!;
      const b = Math.min(to - start, chunk.length);
      sink.piece(chunk, from - start, b);
      if (this.pool !== null) this.pinned.add(chunk);
      from = start + b;
    }
  }
}
