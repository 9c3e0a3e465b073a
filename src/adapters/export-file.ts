/**
 * Reading the export's own file: byte ranges of a plain file (streamed, pooled, or synchronous for
 * worker threads), and the watch that tells when the file is no longer the one that was opened.
 *
 * An export that is still being copied or downloaded grows while it is read; one replaced by a newer
 * export changes its size, modification time or inode. A read never goes past the size the file had
 * when it was opened, and checks the file at its start and before handing out its last chunk, so a
 * consumer never gets a complete-looking document from a file that changed (INPUT_CHANGED, exit 3).
 */
import { closeSync, createReadStream, openSync, readSync, type Stats } from 'node:fs';
import { open as openFile, stat } from 'node:fs/promises';
import { AppError, isAbortError } from '../errors.js';
import { errnoOf, inputReadError } from './fs-errors.js';
import { READ_CHUNK_BYTES, type ReadPool } from './read-pool.js';

export { READ_CHUNK_BYTES };

export interface ReadRangeOptions {
  signal?: AbortSignal;
  /** First byte to yield. */
  start?: number;
  /** Byte offset to stop before (exclusive). */
  end?: number;
  /**
   * Read into this pool's buffers; the consumer releases each chunk when done with it (read-pool.ts).
   */
  pool?: ReadPool;
}

/** What identifies one version of a file: a copy in progress, an edit or a replacement changes it. */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
}

export function identityOf(st: Stats): FileIdentity {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev };
}

/** A file as it was when opened; check() throws INPUT_CHANGED once it is not. */
export class FileWatch {
  constructor(
    readonly path: string,
    /** How the user knows the input (the zip's path, or the XML's). */
    readonly displayName: string,
    readonly opened: FileIdentity,
  ) {}

  get size(): number {
    return this.opened.size;
  }

  async check(): Promise<void> {
    const why = await this.difference();
    if (why !== undefined) throw this.changed(why);
  }

  /** Why the file is no longer the one opened, or undefined when it still is. */
  async difference(): Promise<string | undefined> {
    let now: FileIdentity;
    try {
      now = identityOf(await stat(this.path));
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return 'it was deleted or moved';
      throw inputReadError(this.path, err);
    }
    const was = this.opened;
    if (now.ino !== was.ino || now.dev !== was.dev) return 'it was replaced by another file';
    if (now.size !== was.size) return `its size went from ${was.size} to ${now.size} bytes`;
    if (now.mtimeMs !== was.mtimeMs) return 'it was modified (same size, new modification time)';
    return undefined;
  }

  changed(why: string): AppError {
    return new AppError('INPUT_CHANGED', `${this.displayName} changed while it was being read: ${why}.`, {
      hint: 'Wait until the file is complete and nothing writes to it (a copy or download in progress?), then run again.',
    });
  }

  /**
   * What a failed read means: the file changed under us (INPUT_CHANGED), or it cannot be read
   * (INPUT_UNREADABLE); aborts and our own errors pass through.
   */
  async failure(err: unknown): Promise<unknown> {
    if (err instanceof AppError || isAbortError(err)) return err;
    const why = await this.difference().catch(() => undefined);
    if (why !== undefined) return this.changed(why);
    return errnoOf(err) !== undefined ? inputReadError(this.displayName, err) : err;
  }
}

/**
 * Bytes [start, end) of a watched plain file, never past the size it had when opened; throws
 * INPUT_CHANGED when the file changed (checked before the first read and before the last chunk is
 * handed out) or ended early.
 */
export async function* readFileRange(watch: FileWatch, opts: ReadRangeOptions): AsyncGenerator<Buffer> {
  const start = opts.start ?? 0;
  const end = Math.min(opts.end ?? Number.POSITIVE_INFINITY, watch.size);
  if (end <= start) return;
  await watch.check();
  const chunks = opts.pool
    ? readPooled(watch.path, opts.pool, start, end, opts.signal)
    : streamRange(watch.path, start, end, opts.signal);
  let at = start;
  try {
    for await (const chunk of chunks) {
      at += chunk.length;
      if (at >= end) await watch.check();
      yield chunk;
    }
  } catch (err) {
    throw await watch.failure(err);
  }
  if (at < end) {
    await watch.check();
    throw watch.changed(`it ended at byte ${at} of ${watch.size}`);
  }
}

async function* streamRange(
  path: string,
  start: number,
  end: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, {
    start,
    // fs ranges are inclusive.
    end: end - 1,
    highWaterMark: READ_CHUNK_BYTES,
    ...(signal ? { signal } : {}),
  });
  for await (const chunk of stream) yield chunk as Buffer;
}

async function* readPooled(
  path: string,
  pool: ReadPool,
  start: number,
  end: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer> {
  const file = await openFile(path, 'r');
  try {
    for (let at = start; at < end; ) {
      // The same error a read stream gives when its signal fires.
      if (signal?.aborted)
        throw Object.assign(new Error('The operation was aborted'), {
          name: 'AbortError',
          code: 'ABORT_ERR',
          cause: signal.reason,
        });
      const buf = pool.take();
      const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, end - at), at);
      if (bytesRead === 0) {
        pool.putBack(buf);
        return;
      }
      at += bytesRead;
      yield pool.lend(buf, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/** The reads of bytes [start, end) of an open file into `buf`: each chunk (valid until the next) and its offset. */
function* chunksOf(fd: number, buf: Buffer, start: number, end: number): Generator<[Buffer, number]> {
  for (let at = start; at < end; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, end - at), at);
    if (n === 0) return;
    yield [n === buf.length ? buf : buf.subarray(0, n), at];
    at += n;
  }
}

/**
 * Reads bytes [start, end) of a plain file synchronously, READ_CHUNK_BYTES at a time into one reused
 * buffer, for worker threads that have nothing else to do: no stream machinery, and no fresh
 * ArrayBuffer per read for the GC to reclaim. `onChunk` gets each chunk (valid only until it returns)
 * and its offset, and may return false to stop. Returns the bytes read, short of end - start when the
 * file is shorter or onChunk stopped.
 */
export function readRangeSync(
  path: string,
  start: number,
  end: number,
  onChunk: (chunk: Buffer, at: number) => boolean | undefined,
): number {
  const fd = openSync(path, 'r');
  let read = 0;
  // One buffer per thread serves every range it reads, one at a time.
  syncBuffer ??= Buffer.allocUnsafe(READ_CHUNK_BYTES);
  try {
    for (const [chunk, at] of chunksOf(fd, syncBuffer, start, end)) {
      read += chunk.length;
      if (onChunk(chunk, at) === false) break;
    }
  } finally {
    closeSync(fd);
  }
  return read;
}

let syncBuffer: Buffer | null = null;

/**
 * readRangeSync for a thread that has other work too (the main thread of a parallel scan): the same
 * reads, with a turn of the event loop after every `yieldBytes`, so that messages, progress and Ctrl-C
 * get through while it scans.
 */
export async function readRangeYielding(
  path: string,
  start: number,
  end: number,
  yieldBytes: number,
  onChunk: (chunk: Buffer, at: number) => boolean | undefined,
): Promise<number> {
  const fd = openSync(path, 'r');
  let read = 0;
  let since = 0;
  // Taken from the thread's free ones and given back: a fresh buffer per range would be garbage.
  const buf = yieldingBuffers.pop() ?? Buffer.allocUnsafe(READ_CHUNK_BYTES);
  try {
    for (const [chunk, at] of chunksOf(fd, buf, start, end)) {
      read += chunk.length;
      if (onChunk(chunk, at) === false) break;
      since += chunk.length;
      if (since >= yieldBytes) {
        since = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  } finally {
    closeSync(fd);
    if (yieldingBuffers.length < 2) yieldingBuffers.push(buf);
  }
  return read;
}

/** readRangeYielding's buffers not in use (two reads may overlap on one thread). */
const yieldingBuffers: Buffer[] = [];

/** The first `bytes` of a file (fewer when it is shorter). */
export async function readHead(path: string, bytes: number): Promise<Buffer> {
  const fh = await openFile(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
