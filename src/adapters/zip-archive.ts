import { close, fstat, open, read } from 'node:fs';
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';

/** Bytes per read of the zip file: the central directory's window, and compressed data for the inflater. */
const ZIP_READ_BYTES = 256 * 1024;

/**
 * yauzl's file reader with a read window: yauzl reads the central directory in two small reads per
 * entry, and its own reader makes each a system call through the thread pool (~100 µs an entry, 10 s
 * for a zip of 100k entries); served from a 256 KiB window, the same directory takes ~0.3 s.
 */
class WindowedReader extends yauzl.RandomAccessReader {
  private window = Buffer.alloc(0);
  private windowAt = 0;

  constructor(private readonly fd: number) {
    super();
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null, bytesRead: number) => void,
  ): void {
    const serve = () => {
      const from = position - this.windowAt;
      const n = Math.max(0, Math.min(length, this.window.length - from));
      this.window.copy(buffer, offset, from, from + n);
      callback(null, n);
    };
    if (position >= this.windowAt && position + length <= this.windowAt + this.window.length) {
      // Asynchronously, as a real read would answer.
      queueMicrotask(serve);
      return;
    }
    const size = Math.max(length, ZIP_READ_BYTES);
    const buf = Buffer.allocUnsafe(size);
    read(this.fd, buf, 0, size, position, (err, n) => {
      if (err) return callback(err, 0);
      this.window = buf.subarray(0, n);
      this.windowAt = position;
      serve();
    });
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const fd = this.fd;
    let at = start;
    return new Readable({
      highWaterMark: ZIP_READ_BYTES,
      read() {
        const want = Math.min(ZIP_READ_BYTES, end - at);
        if (want <= 0) {
          this.push(null);
          return;
        }
        const buf = Buffer.allocUnsafe(want);
        read(fd, buf, 0, want, at, (err, n) => {
          if (err) return this.destroy(err);
          if (n === 0) return this.destroy(new Error(`the zip file ends at byte ${at}, before ${end}`));
          at += n;
          this.push(n === want ? buf : buf.subarray(0, n));
        });
      },
    });
  }

  override close(callback: (err: Error | null) => void): void {
    close(this.fd, (err) => callback(err));
  }
}

/** Opens a zip through the windowed reader; yauzl closes the file once the archive and its streams are done. */
async function openZipFile(path: string): Promise<ZipFile> {
  const fd = await new Promise<number>((resolve, reject) =>
    open(path, 'r', (err, n) => (err ? reject(err) : resolve(n))),
  );
  try {
    const size = await new Promise<number>((resolve, reject) =>
      fstat(fd, (err, st) => (err ? reject(err) : resolve(st.size))),
    );
    // autoClose off: we open several entry streams (sniffing, then the real read) from one handle.
    return await yauzl.fromRandomAccessReaderPromise(new WindowedReader(fd), size, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: true,
    });
  } catch (err) {
    close(fd, () => undefined);
    throw err;
  }
}

/** One file entry of a zip's central directory, as far as input resolution needs it. */
export interface ZipEntryInfo {
  fileName: string;
  /** Declared uncompressed size (from the Zip64 extra field when the entry needs it). */
  uncompressedSize: number;
  compressedSize: number;
  /** CRC-32 of the uncompressed bytes, from the central directory (part of the upload fingerprint). */
  crc32: number;
  /** 0 stored, 8 deflated. */
  compressionMethod: number;
}

/**
 * A zip opened for reading its central directory and streaming entries; never extracts to disk.
 *
 * Only the entries `keep` accepts are held: an export's zip holds one GPX file per recorded route and
 * a hostile one 100k entries or more, and yauzl's Entry objects (name, extra fields, comment buffers)
 * for all of them would be tens of MB for the two or three names input resolution looks at.
 */
export class ZipArchive {
  private constructor(
    private readonly zip: ZipFile,
    private readonly entries: Map<string, Entry>,
    /** Every file entry in the central directory, kept or not. */
    readonly fileCount: number,
  ) {}

  /** Reads the central directory one entry at a time, keeping the file entries `keep` accepts. */
  static async open(path: string, keep: (fileName: string) => boolean = () => true): Promise<ZipArchive> {
    const zip = await openZipFile(path);
    const entries = new Map<string, Entry>();
    let files = 0;
    try {
      for await (const entry of zip.eachEntry()) {
        if (entry.fileName.endsWith('/')) continue;
        files++;
        if (keep(entry.fileName)) entries.set(entry.fileName, entry);
      }
    } catch (err) {
      zip.close();
      throw err;
    }
    return new ZipArchive(zip, entries, files);
  }

  /**
   * An inflating stream of one entry found by an earlier open() of the same file, without reading the
   * central directory again (yauzl reads only the end record here). The file handle closes with the
   * stream.
   */
  static async openEntryOf(path: string, entry: ZipEntryHandle): Promise<Readable> {
    const zip = await openZipFile(path);
    try {
      return await openInflating(zip, entry.raw);
    } finally {
      // yauzl closes the file once the streams already opened have ended.
      zip.close();
    }
  }

  list(): ZipEntryHandle[] {
    return [...this.entries.values()].map((raw) => ({
      fileName: raw.fileName,
      uncompressedSize: raw.uncompressedSize,
      compressedSize: raw.compressedSize,
      crc32: raw.crc32,
      compressionMethod: raw.compressionMethod,
      raw,
    }));
  }

  /** An inflating stream of the whole entry (yauzl checks the declared size as it inflates). */
  async openEntry(fileName: string): Promise<Readable> {
    const entry = this.entries.get(fileName);
    if (!entry) throw new Error(`zip entry not found: ${fileName}`);
    return openInflating(this.zip, entry);
  }

  close(): void {
    if (this.zip.isOpen) this.zip.close();
  }
}

/** An entry of one archive, reusable to open it again (openEntryOf) without a new directory scan. */
export interface ZipEntryHandle extends ZipEntryInfo {
  readonly raw: Entry;
}

/**
 * Inflated bytes per step. zlib's default (16 KiB, what yauzl's own inflater uses) is a round trip
 * between the thread pool and the main thread per 16 KiB, which made inflating dominate a zip's read.
 */
const INFLATE_CHUNK = 256 * 1024;

/**
 * An entry's bytes, inflated: a deflated entry through an inflater of ours (INFLATE_CHUNK) that checks
 * the declared size as yauzl's does (same messages); anything else (stored, encrypted) as yauzl opens it.
 */
async function openInflating(zip: ZipFile, entry: Entry): Promise<Readable> {
  if (entry.compressionMethod !== 8 || entry.isEncrypted()) return zip.openReadStreamPromise(entry);
  const raw = await zip.openReadStreamPromise(entry, { decodeFileData: false });
  const counted = new ByteCount(entry.uncompressedSize);
  pipeline(raw, createInflateRaw({ chunkSize: INFLATE_CHUNK }), counted, () => {});
  return counted;
}

/** Fails the stream once it passes, or ends short of, the entry's declared size (as yauzl words it). */
class ByteCount extends Transform {
  private seen = 0;

  constructor(private readonly expected: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.expected)
      done(new Error(`too many bytes in the stream. expected ${this.expected}. got at least ${this.seen}`));
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.seen < this.expected)
      done(new Error(`not enough bytes in the stream. expected ${this.expected}. got only ${this.seen}`));
    else done();
  }
}
