/**
 * Read buffers that come back once their bytes are gone. A fresh buffer per read of a multi-GB upload
 * is hundreds of MB of short-lived external memory: V8 answers it with a full GC every few dozen MB and
 * the kernel with a page fault per page, which cost about half of a send's CPU. With a pool the same few MB are read into over and over.
 *
 * Only the very chunk object that lend() handed out can give its buffer back, and only once: a chunk
 * that a stage replaced (a repaired copy) or cut up is simply never released and left to the GC, so a
 * mistake costs an allocation, never two readers sharing one buffer.
 */

/**
 * Bytes per read from an export file. Larger reads are no faster but keep more memory: each read is a
 * fresh ArrayBuffer that V8 frees only at its next GC, and the scanner allocates little, so many read
 * buffers wait for it.
 */
export const READ_CHUNK_BYTES = 256 * 1024;

/** Free buffers kept for reuse by default; more than a send ever has in flight. */
const KEEP = 16;

export class ReadPool {
  /** Buffers allocated so far: a send of any size stays at a handful. */
  created = 0;
  private readonly free: Buffer[] = [];
  /** Chunks out on loan → the whole buffer each one views. */
  private readonly lent = new WeakMap<Buffer, Buffer>();

  /** `keep`: free buffers kept for reuse, for a consumer that holds more than a send has in flight. */
  constructor(
    readonly chunkBytes: number = READ_CHUNK_BYTES,
    private readonly keep: number = KEEP,
  ) {}

  /** A buffer of chunkBytes to read into: a free one, or a new one when all are out. */
  take(): Buffer {
    const buf = this.free.pop();
    if (buf !== undefined) return buf;
    this.created++;
    return Buffer.allocUnsafeSlow(this.chunkBytes);
  }

  /** The chunk to hand out for the first `n` bytes of `buf` (from take()). */
  lend(buf: Buffer, n: number): Buffer {
    const chunk = n === buf.length ? buf : buf.subarray(0, n);
    this.lent.set(chunk, buf);
    return chunk;
  }

  /** A taken buffer that was never lent (the read found nothing). */
  putBack(buf: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buf);
  }

  /**
   * Call once nothing needs `chunk`'s bytes any more (the socket has written them). Ignores anything
   * that is not a chunk on loan from this pool.
   */
  release(chunk: Buffer): void {
    const buf = this.lent.get(chunk);
    if (buf === undefined) return;
    this.lent.delete(chunk);
    this.putBack(buf);
  }
}
