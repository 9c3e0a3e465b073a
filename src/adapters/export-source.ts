import type { Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { AppError, isAbortError } from '../errors.js';
import { FileWatch, identityOf, type ReadRangeOptions, readFileRange, readHead } from './export-file.js';
import { EDGE_BYTES, fileFingerprint, zipEntryFingerprint } from './fingerprint.js';
import { errnoOf, inputReadError } from './fs-errors.js';
import { decodeHead, detectEncoding, type TextEncoding, Utf16ToUtf8 } from './text-encoding.js';
import type { ZipArchive, ZipEntryHandle } from './zip-archive.js';

// Worker threads and core import these from here.
export { READ_CHUNK_BYTES, readRangeSync, readRangeYielding } from './export-file.js';

export type ExportSourceKind = 'xml' | 'zip' | 'dir';

/**
 * A byte range of the document as open() yields it (UTF-8, whatever the file's encoding). `pool` reads
 * a plain UTF-8 file into that pool's buffers, which the consumer releases (read-pool.ts); a zip
 * entry's chunks come from the inflater and a UTF-16 file's from the transcoder, and are never pooled.
 */
export type OpenRangeOptions = ReadRangeOptions;

/**
 * The main export XML, wherever it lives; open() may be called again for another pass. openExport sets
 * every field; the ones marked optional are so for in-memory sources that tests build.
 */
export interface ExportSource {
  kind: ExportSourceKind;
  /** What to show the user: the path, plus the entry for a zip. */
  displayName: string;
  /** Path of the XML inside a zip, or inside the folder. */
  entryName?: string;
  /**
   * Bytes open() yields from start to end: the document as UTF-8. For a UTF-8 file, its size (a zip
   * entry's declared size); for a UTF-16 one, measured by a counting pass when it was opened.
   */
  size: number;
  /** How the XML is stored; open() always yields UTF-8. */
  encoding?: TextEncoding;
  /** Bytes of the XML as stored: the file's size, or the zip entry's declared uncompressed size. */
  storedBytes?: number;
  /**
   * The XML's own file when open() yields exactly its bytes (a plain UTF-8 file, not in a zip):
   * parallel readers open it themselves. Such readers call checkUnchanged() when done.
   */
  filePath?: string;
  /** What the user should be told about how the input was read (which entry was chosen, a transcoding). */
  notices?: string[];
  /**
   * Yields bytes [start, end) of the document; never past `size`. Throws INPUT_CHANGED when the file is
   * no longer the one opened (checked when the read starts and before its last chunk), INPUT_UNREADABLE
   * when it cannot be read, INPUT_INVALID when a zip entry is damaged.
   */
  open(opts?: OpenRangeOptions): AsyncIterable<Buffer>;
  /** The sampled fingerprint for the upload ledger (adapters/fingerprint.ts); reads ~8 MiB at most. */
  fingerprint(signal?: AbortSignal): Promise<string>;
  /** Throws INPUT_CHANGED when the file (the zip, for an entry) is no longer the one opened. */
  checkUnchanged?(): Promise<void>;
}

export interface OpenExportOptions {
  /** Stops the counting pass of a UTF-16 export. */
  signal?: AbortSignal;
}

const SNIFF_BYTES = 1024;
const NOT_AN_EXPORT_HINT =
  'Pass export.zip from "Export All Health Data", the export.xml inside it, or the unzipped folder.';

/**
 * Zip-bomb limits. Apple Health exports deflate 20–30× (format §0), deflate itself cannot exceed
 * ~1032×, and an entry of 10 GiB of whitespace reaches ~1000×: an entry past MAX_INFLATE_RATIO is
 * refused before a byte is inflated, once it is large enough to matter (a small one costs nothing to
 * read). Past MAX_EXPORT_BYTES an entry is refused whatever its ratio: the largest real exports are
 * around 4 GB. An entry that inflates past its declared size is stopped there (yauzl counts).
 */
export const MAX_INFLATE_RATIO = 200;
export const RATIO_CHECK_MIN_BYTES = 64 * 1024 * 1024;
export const MAX_EXPORT_BYTES = 64 * 1024 * 1024 * 1024;
/** XML entries sniffed for a <HealthData> root at most; a real export has two (export.xml, export_cda.xml). */
export const MAX_XML_CANDIDATES = 64;
/** A UTF-16 file is indexed for seeking every this many stored bytes (a few hundred offsets per GB). */
const UTF16_CHECKPOINT_BYTES = 4 * 1024 * 1024;

/**
 * Resolves a path to the main Apple Health XML: a plain file, a zip (found by content) or a folder.
 * `export.zip:apple_health_export/Export.xml` names one entry of a zip (as messages show it).
 */
export async function openExport(path: string, opts: OpenExportOptions = {}): Promise<OpenedExport> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    const inZip = errnoOf(err) === 'ENOENT' ? await zipEntryPath(path) : undefined;
    if (inZip) return openZip(inZip.zip, inZip.st, opts, inZip.entry);
    throw inputReadError(path, err);
  }
  if (st.isDirectory()) return openFolder(path, opts);
  if (!st.isFile())
    throw new AppError('INPUT_INVALID', `${path}: not a regular file`, { hint: NOT_AN_EXPORT_HINT });

  const head = await readHead(path, SNIFF_BYTES).catch((err: unknown) => {
    throw inputReadError(path, err);
  });
  if (head.length === 0)
    throw new AppError('INPUT_INVALID', `${path}: the file is empty`, {
      hint: 'The export may have failed on the phone; export again from the Health app.',
    });
  if (isZipMagic(head)) return openZip(path, st, opts);
  if (looksLikeHealthXml(head)) return plainSource(path, st, 'xml', path, undefined, head, opts);
  throw new AppError('INPUT_INVALID', `${path}: not an Apple Health export (${describeContent(head)})`, {
    hint: NOT_AN_EXPORT_HINT,
  });
}

/** True when the first kilobyte is the start of a HealthData document (UTF-8 or UTF-16, BOM or not). */
export function looksLikeHealthXml(head: Buffer): boolean {
  const text = decodeHead(head.subarray(0, SNIFF_BYTES), detectEncoding(head).encoding);
  return text.includes('<HealthData') || text.includes('<!DOCTYPE HealthData');
}

function isZipMagic(head: Buffer): boolean {
  // Local file header, or the end-of-central-directory of an empty archive.
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
}

function describeContent(head: Buffer): string {
  if (head.subarray(0, 4).toString('latin1') === '%PDF') return 'it is a PDF document';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'it is a gzip file; Apple exports are zip archives';
  const text = decodeHead(head, detectEncoding(head).encoding);
  if (/^\s*</.test(text)) return 'an XML or HTML document without a <HealthData> root';
  return 'unrecognised content';
}

/** `x.zip:inner/name.xml` when `x.zip` is a file: the way messages name an entry, accepted back. */
async function zipEntryPath(path: string): Promise<{ zip: string; entry: string; st: Stats } | undefined> {
  const m = /^(.*?\.zip):(.+)$/i.exec(path);
  if (!m) return undefined;
  const st = await stat(m[1]!).catch(() => undefined);
  return st?.isFile() ? { zip: m[1]!, entry: m[2]!, st } : undefined;
}

async function plainSource(
  path: string,
  st: Stats,
  kind: ExportSourceKind,
  displayName: string,
  entryName: string | undefined,
  head: Buffer,
  opts: OpenExportOptions,
): Promise<OpenedExport> {
  const watch = new FileWatch(path, displayName, identityOf(st));
  const encoding = detectEncoding(head).encoding;
  const stored = (range: ReadRangeOptions) => readFileRange(watch, range);
  const common = {
    kind,
    displayName,
    encoding,
    storedBytes: st.size,
    fingerprint: (signal?: AbortSignal) => guarded(watch, fileFingerprint(path, st.size, signal)),
    checkUnchanged: () => watch.check(),
    ...(entryName !== undefined ? { entryName } : {}),
  };
  if (encoding === 'utf-8')
    return { ...common, size: st.size, filePath: path, notices: [], open: (range = {}) => stored(range) };
  return utf16Source(common, encoding, stored, true, opts);
}

/** A read failure while fingerprinting is the input's fault (exit 3), like any other unreadable input. */
async function guarded(watch: FileWatch, pending: Promise<string>): Promise<string> {
  try {
    return await pending;
  } catch (err) {
    const failure = await watch.failure(err);
    if (failure instanceof AppError || isAbortError(failure)) throw failure;
    throw new AppError(
      'INPUT_UNREADABLE',
      `${watch.displayName}: cannot read it (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

type StoredReader = (range: ReadRangeOptions) => AsyncIterable<Buffer>;
/** What openExport returns: an ExportSource with every field set. */
export type OpenedExport = Required<Omit<ExportSource, 'filePath' | 'entryName'>> &
  Pick<ExportSource, 'filePath' | 'entryName'>;
type SourceBase = Omit<OpenedExport, 'size' | 'open' | 'notices'>;

/**
 * A UTF-16 document served as UTF-8. Its UTF-8 size depends on every character, so a counting pass
 * transcodes the whole file once when it is opened (measured ~450 MB/s of UTF-16 on one core, on top
 * of reading or inflating it) and keeps, for a plain file, an offset pair every few MB so a later range
 * starts near its first byte instead of at the top. A zip entry can only be inflated from its start.
 */
async function utf16Source(
  base: SourceBase,
  encoding: 'utf-16le' | 'utf-16be',
  stored: StoredReader,
  seekable: boolean,
  opts: OpenExportOptions,
): Promise<OpenedExport> {
  const index = await indexUtf16(base.displayName, encoding, stored, seekable, opts.signal);
  const order = encoding === 'utf-16le' ? 'little-endian' : 'big-endian';
  return {
    ...base,
    size: index.size,
    notices: [
      `${base.displayName} is UTF-16 (${order}); it is read and sent as UTF-8 (${index.size} bytes), its XML declaration saying so.`,
    ],
    open: (range = {}) => transcodeRange(base.displayName, encoding, stored, index, range),
  };
}

interface Utf16Index {
  /** UTF-8 bytes of the whole document. */
  size: number;
  /** Flat [stored offset, UTF-8 offset] pairs, ascending, starting with [0, 0]. */
  checkpoints: number[];
}

async function indexUtf16(
  name: string,
  encoding: 'utf-16le' | 'utf-16be',
  stored: StoredReader,
  seekable: boolean,
  signal: AbortSignal | undefined,
): Promise<Utf16Index> {
  const t = new Utf16ToUtf8(encoding, name);
  const checkpoints = [0, 0];
  let out = 0;
  let last = 0;
  for await (const chunk of stored(signal ? { signal } : {})) {
    out += Buffer.byteLength(t.push(chunk), 'utf8');
    if (seekable && t.atCheckpoint && t.inputBytes - last >= UTF16_CHECKPOINT_BYTES) {
      checkpoints.push(t.inputBytes, out);
      last = t.inputBytes;
    }
  }
  out += Buffer.byteLength(t.end(), 'utf8');
  return { size: out, checkpoints };
}

async function* transcodeRange(
  name: string,
  encoding: 'utf-16le' | 'utf-16be',
  stored: StoredReader,
  index: Utf16Index,
  range: ReadRangeOptions,
): AsyncGenerator<Buffer> {
  const start = range.start ?? 0;
  const end = Math.min(range.end ?? Number.POSITIVE_INFINITY, index.size);
  if (end <= start) return;
  let k = 0;
  while (k + 2 < index.checkpoints.length && index.checkpoints[k + 3]! <= start) k += 2;
  const from = index.checkpoints[k]!;
  let pos = index.checkpoints[k + 1]!;
  const t = new Utf16ToUtf8(encoding, name, from);
  const { pool } = range;
  const input = stored({
    start: from,
    ...(range.signal ? { signal: range.signal } : {}),
    ...(pool ? { pool } : {}),
  });
  // Yields the part of `text` inside [start, end); false once the range is complete.
  function* emit(text: string): Generator<Buffer, boolean> {
    if (text.length === 0) return true;
    const bytes = Buffer.from(text, 'utf8');
    const at = pos;
    pos += bytes.length;
    if (pos > start) {
      const a = Math.max(0, start - at);
      const b = Math.min(bytes.length, end - at);
      if (b > a) yield a === 0 && b === bytes.length ? bytes : bytes.subarray(a, b);
    }
    return pos < end;
  }
  for await (const chunk of input) {
    const text = t.push(chunk);
    pool?.release(chunk);
    if (!(yield* emit(text))) return;
  }
  yield* emit(t.end());
  // The file was checked at its end by the stored reader; a different length means different content.
  if (pos !== index.size)
    throw new AppError(
      'INPUT_CHANGED',
      `${name} changed while it was being read: it now transcodes to ${pos} bytes, not ${index.size}.`,
      {
        hint: 'Wait until the file is complete and nothing writes to it, then run again.',
      },
    );
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
async function zipArchive(): Promise<typeof ZipArchive> {
  return (await import('./zip-archive.js')).ZipArchive;
}

interface Found {
  name: string;
  /** Uncompressed bytes as stored. */
  bytes: number;
  head: Buffer;
}

async function openZip(
  path: string,
  st: Stats,
  opts: OpenExportOptions,
  wanted?: string,
): Promise<OpenedExport> {
  const watch = new FileWatch(path, path, identityOf(st));
  const Zip = await zipArchive();
  let archive: ZipArchive;
  try {
    archive = await Zip.open(path, wanted === undefined ? isCandidateXmlEntry : (name) => name === wanted);
  } catch (err) {
    const failure = await watch.failure(err);
    if (failure !== err) throw failure;
    throw new AppError('INPUT_INVALID', `${path}: not a readable zip archive (${(err as Error).message})`, {
      hint: 'The download may be incomplete; copy export.zip from the phone again.',
      cause: err,
    });
  }
  const found: (Found & { entry: ZipEntryHandle })[] = [];
  try {
    // Shallow entries first: the main file sits at apple_health_export/<name>.xml.
    const candidates = archive.list().sort((a, b) => depth(a.fileName) - depth(b.fileName));
    if (wanted !== undefined && candidates.length === 0)
      throw new AppError('INPUT_NOT_FOUND', `${path} holds no entry ${wanted}`, {
        hint: `Entry names are case-sensitive; \`unzip -l ${path}\` lists them.`,
      });
    if (candidates.length > MAX_XML_CANDIDATES)
      throw new AppError(
        'INPUT_INVALID',
        `${path} holds ${candidates.length} XML files; an Apple Health export holds two (export.xml and export_cda.xml)`,
        { hint: `Pass the one you mean as ${path}:<entry>, or unzip it and pass that file.` },
      );
    for (const entry of candidates) {
      let head: Buffer;
      try {
        head = await sniffStream(await archive.openEntry(entry.fileName));
      } catch (err) {
        throw await zipFailure(err, watch, `${path}:${entry.fileName}`, entry.uncompressedSize);
      }
      if (looksLikeHealthXml(head))
        found.push({ name: entry.fileName, bytes: entry.uncompressedSize, head, entry });
    }
  } finally {
    archive.close();
  }
  if (found.length === 0) {
    if (wanted !== undefined)
      throw new AppError(
        'INPUT_INVALID',
        `${path}:${wanted} is not an Apple Health export (no <HealthData> root)`,
        {
          hint: NOT_AN_EXPORT_HINT,
        },
      );
    throw new AppError('INPUT_INVALID', `${path}: the zip holds no Apple Health export XML`, {
      hint: 'Expected apple_health_export/export.xml (or a localized name such as 导出.xml) with a <HealthData> root.',
    });
  }
  const { chosen, notice } = chooseExport(found, path, `${path}:`);
  refuseZipBomb(`${path}:${chosen.name}`, chosen.entry);
  const entry = chosen.entry;
  const displayName = `${path}:${entry.fileName}`;
  const entryWatch = new FileWatch(path, displayName, watch.opened);
  const stored = (range: ReadRangeOptions) => readZipEntry(entryWatch, entry, range);
  const base: SourceBase = {
    kind: 'zip',
    displayName,
    entryName: entry.fileName,
    encoding: detectEncoding(chosen.head).encoding,
    storedBytes: entry.uncompressedSize,
    fingerprint: (signal) =>
      guarded(
        entryWatch,
        zipEntryFingerprint(entry, stored({ end: EDGE_BYTES, ...(signal ? { signal } : {}) }), signal),
      ),
    checkUnchanged: () => entryWatch.check(),
  };
  const notices = notice ? [notice] : [];
  if (base.encoding === 'utf-8')
    return { ...base, size: entry.uncompressedSize, notices, open: (range = {}) => stored(range) };
  const source = await utf16Source(base, base.encoding, stored, false, opts);
  return { ...source, notices: [...notices, ...source.notices] };
}

function refuseZipBomb(name: string, entry: ZipEntryHandle): void {
  const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
  const tooFar = entry.uncompressedSize >= RATIO_CHECK_MIN_BYTES && ratio > MAX_INFLATE_RATIO;
  if (!tooFar && entry.uncompressedSize <= MAX_EXPORT_BYTES) return;
  const what = tooFar
    ? `${Math.round(ratio)}×; Apple Health exports compress 20–30×, the limit is ${MAX_INFLATE_RATIO}×`
    : `more than the ${formatSize(MAX_EXPORT_BYTES)} apple-import reads`;
  throw new AppError(
    'INPUT_ZIP_BOMB',
    `${name} would inflate from ${formatSize(entry.compressedSize)} to ${formatSize(entry.uncompressedSize)} (${what}): refused as a likely zip bomb, before inflating it.`,
    { hint: 'If it really is an export, unzip it yourself and pass the export.xml.' },
  );
}

function formatSize(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/**
 * Which of several Apple Health XMLs is the export: the one alone, or the canonical name among several
 * (apple_health_export/export.xml, then export.xml anywhere), told to the user; never a silent pick.
 * Several and no single canonical one is INPUT_AMBIGUOUS with the list.
 */
function chooseExport<T extends Found>(
  found: T[],
  where: string,
  prefix: string,
): { chosen: T; notice?: string } {
  if (found.length === 1) return { chosen: found[0]! };
  const rank = (name: string): number =>
    name === 'apple_health_export/export.xml'
      ? 3
      : name.endsWith('/apple_health_export/export.xml')
        ? 2
        : name === 'export.xml' || name.endsWith('/export.xml')
          ? 1
          : 0;
  const best = Math.max(...found.map((f) => rank(f.name)));
  const top = found.filter((f) => rank(f.name) === best);
  const list = (fs: T[]) => fs.map((f) => `${f.name} (${formatSize(f.bytes)})`).join(', ');
  if (best > 0 && top.length === 1) {
    const chosen = top[0]!;
    const others = found.filter((f) => f !== chosen);
    return {
      chosen,
      notice: `${where} holds ${found.length} Apple Health exports; using ${chosen.name}, the name the Health app writes (also there: ${list(others)}; pass ${prefix}<entry> to use another).`,
    };
  }
  throw new AppError(
    'INPUT_AMBIGUOUS',
    `${where} holds ${found.length} Apple Health exports and none is apple_health_export/export.xml: ${list(found)}`,
    { hint: `Pass the one you mean: ${prefix}${found[0]!.name}` },
  );
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

/**
 * Inflates one entry on the fly; a range is served by reading sequentially and skipping (deflate has no
 * seek). A read that reaches the entry's end checks its CRC-32 and the zip file before handing out the
 * last chunk.
 */
async function* readZipEntry(
  watch: FileWatch,
  entry: ZipEntryHandle,
  opts: ReadRangeOptions,
): AsyncGenerator<Buffer> {
  const start = opts.start ?? 0;
  const end = Math.min(opts.end ?? Number.POSITIVE_INFINITY, entry.uncompressedSize);
  if (end <= start) return;
  opts.signal?.throwIfAborted();
  await watch.check();
  let stream: Readable | undefined;
  const onAbort = () => stream?.destroy(opts.signal?.reason ?? new Error('aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    stream = await (await zipArchive()).openEntryOf(watch.path, entry);
    let pos = 0;
    let crc = 0;
    // The range's last piece, held until the entry is known to end where its directory says.
    let last: Buffer | undefined;
    for await (const raw of stream) {
      const chunk = raw as Buffer;
      const chunkStart = pos;
      pos += chunk.length;
      crc = crc32(chunk, crc);
      if (pos <= start) continue;
      const from = Math.max(0, start - chunkStart);
      const to = Math.min(chunk.length, end - chunkStart);
      const piece =
        to > from ? (from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to)) : undefined;
      if (pos < end) {
        if (piece) yield piece;
        continue;
      }
      last = piece;
      // Short of the entry's end there is nothing more to know; at its end, yauzl fails the stream if
      // more bytes come (an entry inflating past its declared size), so read on to the stream's end.
      if (end < entry.uncompressedSize) break;
    }
    opts.signal?.throwIfAborted();
    if (pos < end)
      throw damaged(
        watch.displayName,
        `the entry ends at byte ${pos}, before the ${entry.uncompressedSize} its zip directory declares`,
      );
    if (pos >= entry.uncompressedSize && crc !== entry.crc32)
      throw damaged(watch.displayName, 'its CRC-32 does not match the zip directory (the data is damaged)');
    await watch.check();
    if (last) yield last;
  } catch (err) {
    // An abort destroys the stream with the signal's reason: the interruption, not a damaged zip.
    if (opts.signal?.aborted) throw err;
    throw await zipFailure(err, watch, watch.displayName, entry.uncompressedSize);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    stream?.destroy();
  }
}

function damaged(name: string, why: string): AppError {
  return new AppError('INPUT_INVALID', `${name}: ${why}`, {
    hint: 'The zip is damaged or was not made by the Health app; copy export.zip from the phone again.',
  });
}

/** What a failed zip read means, in the user's words: changed, damaged, crafted, or unreadable. */
async function zipFailure(err: unknown, watch: FileWatch, name: string, declared?: number): Promise<unknown> {
  if (err instanceof AppError || isAbortError(err)) return err;
  const failure = await watch.failure(err);
  if (failure !== err) return failure;
  const message = (err as Error).message ?? String(err);
  if (/too many bytes in the stream/.test(message))
    return damaged(
      name,
      `the entry inflates past the ${declared ?? 'declared'} bytes its zip directory declares; stopped there`,
    );
  if (/not enough bytes in the stream/.test(message))
    return damaged(
      name,
      `the entry inflates to fewer bytes than the ${declared ?? 'declared'} its zip directory declares (cut short?)`,
    );
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_'))
    return damaged(name, `the compressed data is damaged (${message})`);
  return damaged(name, `cannot read the zip entry (${message})`);
}

async function openFolder(path: string, opts: OpenExportOptions): Promise<OpenedExport> {
  const found: (Found & { file: string; st: Stats })[] = [];
  for (const [dir, prefix] of [
    [path, ''],
    [join(path, 'apple_health_export'), 'apple_health_export/'],
  ] as const) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      const code = errnoOf(err);
      if (dir !== path && (code === 'ENOENT' || code === 'ENOTDIR')) continue;
      throw inputReadError(dir, err);
    }
    for (const name of names.sort()) {
      if (!isCandidateXmlEntry(name)) continue;
      const file = join(dir, name);
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) continue;
      const head = await readHead(file, SNIFF_BYTES).catch((err: unknown) => {
        throw inputReadError(file, err);
      });
      if (looksLikeHealthXml(head)) found.push({ name: `${prefix}${name}`, bytes: st.size, head, file, st });
    }
  }
  if (found.length === 0)
    throw new AppError('INPUT_INVALID', `${path}: the folder holds no Apple Health export XML`, {
      hint: `Expected export.xml (or a localized name) in ${basename(path)}/ or ${basename(path)}/apple_health_export/.`,
    });
  const { chosen, notice } = chooseExport(found, path, `${join(path, '')}`);
  const source = await plainSource(
    chosen.file,
    chosen.st,
    'dir',
    chosen.file,
    chosen.name,
    chosen.head,
    opts,
  );
  if (notice) source.notices.unshift(notice);
  return source;
}
