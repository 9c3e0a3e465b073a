import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { open as openFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { AppError, isAbortError } from '../errors.js';
import { EDGE_BYTES, fileFingerprint, zipEntryFingerprint } from './fingerprint.js';
import type { ReadPool } from './read-pool.js';
import type { ZipArchive } from './zip-archive.js';

export type ExportSourceKind = 'xml' | 'zip' | 'dir';

export interface OpenRangeOptions {
  signal?: AbortSignal;
  /** First byte (of the uncompressed XML) to yield. */
  start?: number;
  /** Byte offset to stop before (exclusive). */
  end?: number;
  /**
   * Read a plain file into this pool's buffers; the consumer releases each chunk when done with it
   * (read-pool.ts). A zip entry's chunks come from the inflater and are never pooled.
   */
  pool?: ReadPool;
}

/** The main export XML, wherever it lives; open() may be called again for another pass. */
export interface ExportSource {
  kind: ExportSourceKind;
  /** What to show the user: the path, plus the entry for a zip. */
  displayName: string;
  /** Path of the XML inside a zip, or inside the folder. */
  entryName?: string;
  /** Uncompressed bytes of the XML (a zip entry's declared size). */
  size: number;
  /** The XML's own file when it is a plain file (not inside a zip): parallel readers open it themselves. */
  filePath?: string;
  open(opts?: OpenRangeOptions): AsyncIterable<Buffer>;
  /** The sampled fingerprint for the upload ledger (adapters/fingerprint.ts); reads ~8 MiB at most. */
  fingerprint(signal?: AbortSignal): Promise<string>;
}

const SNIFF_BYTES = 1024;
/**
 * Bytes per read from an export file. Measured on a 500 MB export: 1 MiB reads peaked at 140 MB RSS
 * (each read is a fresh ArrayBuffer that V8 frees only at its next GC, and the scanner allocates
 * little, so up to ~64 MB of read buffers wait for it); 256 KiB reads peak at 72 MB, at the same speed.
 */
export const READ_CHUNK_BYTES = 256 * 1024;
const NOT_AN_EXPORT_HINT =
  'Pass export.zip from "Export All Health Data", the export.xml inside it, or the unzipped folder.';

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
  const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  const fd = openSync(path, 'r');
  let at = start;
  try {
    while (at < end) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - at), at);
      if (n === 0) break;
      const go = onChunk(n === buf.length ? buf : buf.subarray(0, n), at);
      at += n;
      if (go === false) break;
    }
  } finally {
    closeSync(fd);
  }
  return at - start;
}

/** Resolves a path to the main Apple Health XML: a plain file, a zip (found by content) or a folder. */
export async function openExport(path: string): Promise<ExportSource> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR')
      throw new AppError('INPUT_NOT_FOUND', `${path}: no such file or folder`, {
        hint: NOT_AN_EXPORT_HINT,
        cause: err,
      });
    throw new AppError('INPUT_UNREADABLE', `${path}: cannot read (${err.code ?? err.message})`, {
      cause: err,
    });
  });
  if (st.isDirectory()) return openFolder(path);
  if (!st.isFile())
    throw new AppError('INPUT_INVALID', `${path}: not a regular file`, { hint: NOT_AN_EXPORT_HINT });

  const head = await readHead(path);
  if (head.length === 0)
    throw new AppError('INPUT_INVALID', `${path}: the file is empty`, {
      hint: 'The export may have failed on the phone; export again from the Health app.',
    });
  if (isZipMagic(head)) return openZip(path);
  if (looksLikeHealthXml(head)) return plainFile(path, 'xml', st.size, path);
  throw new AppError('INPUT_INVALID', `${path}: not an Apple Health export (${describeContent(head)})`, {
    hint: NOT_AN_EXPORT_HINT,
  });
}

/** True when the first kilobyte is the start of a HealthData document (after an optional UTF-8 BOM). */
export function looksLikeHealthXml(head: Buffer): boolean {
  const text = head.subarray(0, SNIFF_BYTES).toString('utf8');
  return text.includes('<HealthData') || text.includes('<!DOCTYPE HealthData');
}

function isZipMagic(head: Buffer): boolean {
  // Local file header, or the end-of-central-directory of an empty archive.
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
}

function describeContent(head: Buffer): string {
  if (head.subarray(0, 4).toString('latin1') === '%PDF') return 'it is a PDF document';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'it is a gzip file; Apple exports are zip archives';
  const text = head.toString('utf8').replace(/^\uFEFF/, '');
  if (/^\s*</.test(text)) return 'an XML or HTML document without a <HealthData> root';
  return 'unrecognised content';
}

async function readHead(path: string): Promise<Buffer> {
  const fh = await openFile(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function plainFile(
  path: string,
  kind: ExportSourceKind,
  size: number,
  displayName: string,
  entryName?: string,
) {
  const source: ExportSource = {
    kind,
    displayName,
    size,
    filePath: path,
    open: (opts = {}) => readFileRange(path, opts),
    fingerprint: (signal) => unreadable(displayName, fileFingerprint(path, size, signal)),
  };
  if (entryName !== undefined) source.entryName = entryName;
  return source;
}

/** A read failure while fingerprinting is the input's fault (exit 3), like any other unreadable input. */
async function unreadable(name: string, pending: Promise<string>): Promise<string> {
  try {
    return await pending;
  } catch (err) {
    if (err instanceof AppError || isAbortError(err)) throw err;
    throw new AppError('INPUT_UNREADABLE', `${name}: cannot read (${(err as Error).message})`, {
      cause: err,
    });
  }
}

async function* readFileRange(path: string, opts: OpenRangeOptions): AsyncGenerator<Buffer> {
  const start = opts.start ?? 0;
  if (opts.end !== undefined && opts.end <= start) return;
  if (opts.pool) {
    yield* readPooled(path, opts.pool, start, opts.end ?? Number.POSITIVE_INFINITY, opts.signal);
    return;
  }
  const stream = createReadStream(path, {
    start,
    // fs ranges are inclusive.
    ...(opts.end !== undefined ? { end: opts.end - 1 } : {}),
    highWaterMark: READ_CHUNK_BYTES,
    ...(opts.signal ? { signal: opts.signal } : {}),
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

/** Zip entries that may be the main export: `.xml`, not macOS resource forks, not the CDA rendering. */
export function isCandidateXmlEntry(fileName: string): boolean {
  const lower = fileName.toLowerCase();
  if (!lower.endsWith('.xml')) return false;
  if (lower.startsWith('__macosx/') || lower.includes('/__macosx/')) return false;
  const base = lower.slice(lower.lastIndexOf('/') + 1);
  return base !== 'export_cda.xml' && !base.startsWith('._');
}

/** yauzl is loaded for a zip input only: plain-XML runs, and the threads that read plain files, skip it. */
async function openArchive(path: string): Promise<ZipArchive> {
  const { ZipArchive } = await import('./zip-archive.js');
  return ZipArchive.open(path);
}

async function openZip(path: string): Promise<ExportSource> {
  let archive: ZipArchive;
  try {
    archive = await openArchive(path);
  } catch (err) {
    throw new AppError('INPUT_INVALID', `${path}: not a readable zip archive (${(err as Error).message})`, {
      hint: 'The download may be incomplete; copy export.zip from the phone again.',
      cause: err,
    });
  }
  try {
    // Shallow entries first: the main file sits at apple_health_export/<name>.xml.
    const candidates = archive
      .list()
      .filter((e) => isCandidateXmlEntry(e.fileName))
      .sort((a, b) => depth(a.fileName) - depth(b.fileName));
    for (const entry of candidates) {
      const head = await sniffStream(await archive.openEntry(entry.fileName));
      if (looksLikeHealthXml(head)) {
        return {
          kind: 'zip',
          displayName: `${path}:${entry.fileName}`,
          entryName: entry.fileName,
          size: entry.uncompressedSize,
          open: (opts = {}) => readZipEntry(path, entry.fileName, opts),
          fingerprint: (signal) =>
            unreadable(
              `${path}:${entry.fileName}`,
              zipEntryFingerprint(
                entry,
                readZipEntry(path, entry.fileName, { end: EDGE_BYTES, ...(signal ? { signal } : {}) }),
                signal,
              ),
            ),
        };
      }
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('INPUT_INVALID', `${path}: cannot read the zip archive (${(err as Error).message})`, {
      cause: err,
    });
  } finally {
    archive.close();
  }
  throw new AppError('INPUT_INVALID', `${path}: the zip holds no Apple Health export XML`, {
    hint: 'Expected apple_health_export/export.xml (or a localized name such as 导出.xml) with a <HealthData> root.',
  });
}

function depth(name: string): number {
  return name.split('/').length;
}

async function sniffStream(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of stream) {
      parts.push(chunk as Buffer);
      n += (chunk as Buffer).length;
      if (n >= SNIFF_BYTES) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, SNIFF_BYTES);
}

/** Inflates one entry on the fly; a range is served by reading sequentially and skipping (deflate has no seek). */
async function* readZipEntry(path: string, fileName: string, opts: OpenRangeOptions): AsyncGenerator<Buffer> {
  const start = opts.start ?? 0;
  const end = opts.end ?? Number.POSITIVE_INFINITY;
  if (end <= start) return;
  opts.signal?.throwIfAborted();
  const archive = await openArchive(path);
  let stream: Readable | undefined;
  const onAbort = () => stream?.destroy(opts.signal?.reason ?? new Error('aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    stream = await archive.openEntry(fileName);
    let pos = 0;
    for await (const raw of stream) {
      const chunk = raw as Buffer;
      const chunkStart = pos;
      pos += chunk.length;
      if (pos <= start) continue;
      const from = Math.max(0, start - chunkStart);
      const to = Math.min(chunk.length, end - chunkStart);
      if (to > from) yield from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to);
      if (pos >= end) break;
    }
    opts.signal?.throwIfAborted();
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    stream?.destroy();
    archive.close();
  }
}

async function openFolder(path: string): Promise<ExportSource> {
  for (const dir of [path, join(path, 'apple_health_export')]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names.sort()) {
      if (!isCandidateXmlEntry(name)) continue;
      const file = join(dir, name);
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) continue;
      if (looksLikeHealthXml(await readHead(file))) {
        const entryName = dir === path ? name : `apple_health_export/${name}`;
        return plainFile(file, 'dir', st.size, file, entryName);
      }
    }
  }
  throw new AppError('INPUT_INVALID', `${path}: the folder holds no Apple Health export XML`, {
    hint: `Expected export.xml (or a localized name) in ${basename(path)}/ or ${basename(path)}/apple_health_export/.`,
  });
}
