import type { Writable } from 'node:stream';
import { crc32, createDeflateRaw } from 'node:zlib';

/** One file (or folder, when `name` ends in '/') to put in a zip. */
export interface ZipInput {
  name: string;
  data?: Buffer | string | AsyncIterable<Buffer | string>;
  method?: 'store' | 'deflate';
  /** Write Zip64 extra fields even when the sizes would fit in 32 bits. */
  zip64?: boolean;
}

export interface ZipWriteOptions {
  /** Write a Zip64 end-of-central-directory record and locator (as archivers do past 4 GiB or 65,535 entries). */
  zip64Eocd?: boolean;
  /** Deflate level (default 6, as zip tools use). */
  level?: number;
}

interface Written {
  name: Buffer;
  method: number;
  crc: number;
  compressed: number;
  uncompressed: number;
  offset: number;
  zip64: boolean;
  dir: boolean;
}

const MAX32 = 0xffffffff;
// General purpose flags: bit 3 = sizes in a trailing data descriptor (we stream), bit 11 = UTF-8 names.
const FLAGS = 0x0008 | 0x0800;
const DOS_TIME = 0x6000; // 12:00:00
const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 1;

/** Streams a zip archive to `out` (deflated on the fly, sizes in data descriptors), respecting backpressure. */
export async function writeZip(out: Writable, inputs: ZipInput[], opts: ZipWriteOptions = {}): Promise<void> {
  let offset = 0;
  const put = async (buf: Buffer): Promise<void> => {
    offset += buf.length;
    if (!out.write(buf)) await new Promise<void>((resolve) => out.once('drain', resolve));
  };
  const written: Written[] = [];
  for (const input of inputs) {
    const dir = input.name.endsWith('/');
    const method = dir || input.method === 'store' ? 0 : 8;
    const name = Buffer.from(input.name, 'utf8');
    const zip64 = input.zip64 === true;
    const entry: Written = { name, method, crc: 0, compressed: 0, uncompressed: 0, offset, zip64, dir };
    const extra = zip64 ? zip64Extra([0, 0]) : Buffer.alloc(0);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(zip64 ? 45 : 20, 4);
    lh.writeUInt16LE(FLAGS, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt16LE(DOS_TIME, 10);
    lh.writeUInt16LE(DOS_DATE, 12);
    // crc and sizes follow in the data descriptor (flag bit 3); Zip64 marks them 0xFFFFFFFF.
    lh.writeUInt32LE(0, 14);
    lh.writeUInt32LE(zip64 ? MAX32 : 0, 18);
    lh.writeUInt32LE(zip64 ? MAX32 : 0, 22);
    lh.writeUInt16LE(name.length, 26);
    lh.writeUInt16LE(extra.length, 28);
    await put(Buffer.concat([lh, name, extra]));
    if (!dir && input.data !== undefined) await writeData(input.data, entry, put, opts.level ?? 6);
    if (entry.compressed >= MAX32 || entry.uncompressed >= MAX32) entry.zip64 = true;
    const dd = Buffer.alloc(entry.zip64 ? 24 : 16);
    dd.writeUInt32LE(0x08074b50, 0);
    dd.writeUInt32LE(entry.crc, 4);
    if (entry.zip64) {
      dd.writeBigUInt64LE(BigInt(entry.compressed), 8);
      dd.writeBigUInt64LE(BigInt(entry.uncompressed), 16);
    } else {
      dd.writeUInt32LE(entry.compressed, 8);
      dd.writeUInt32LE(entry.uncompressed, 12);
    }
    await put(dd);
    written.push(entry);
  }

  const cdStart = offset;
  for (const e of written) {
    const big = e.zip64 || e.offset >= MAX32;
    const extra = big ? zip64Extra([e.uncompressed, e.compressed, e.offset]) : Buffer.alloc(0);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE((3 << 8) | 45, 4); // made by: Unix, spec 4.5
    cd.writeUInt16LE(big ? 45 : 20, 6);
    cd.writeUInt16LE(FLAGS, 8);
    cd.writeUInt16LE(e.method, 10);
    cd.writeUInt16LE(DOS_TIME, 12);
    cd.writeUInt16LE(DOS_DATE, 14);
    cd.writeUInt32LE(e.crc, 16);
    cd.writeUInt32LE(big ? MAX32 : e.compressed, 20);
    cd.writeUInt32LE(big ? MAX32 : e.uncompressed, 24);
    cd.writeUInt16LE(e.name.length, 28);
    cd.writeUInt16LE(extra.length, 30);
    cd.writeUInt32LE((e.dir ? 0o40755 : 0o100644) * 0x10000, 38);
    cd.writeUInt32LE(big ? MAX32 : e.offset, 42);
    await put(Buffer.concat([cd, e.name, extra]));
  }
  const cdSize = offset - cdStart;

  const needZip64 = opts.zip64Eocd === true || cdStart >= MAX32 || written.length >= 0xffff;
  if (needZip64) {
    const z64Offset = offset;
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE((3 << 8) | 45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(written.length), 24);
    rec.writeBigUInt64LE(BigInt(written.length), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdStart), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(z64Offset), 8);
    loc.writeUInt32LE(1, 16);
    await put(Buffer.concat([rec, loc]));
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(needZip64 ? 0xffff : written.length, 8);
  eocd.writeUInt16LE(needZip64 ? 0xffff : written.length, 10);
  eocd.writeUInt32LE(needZip64 ? MAX32 : cdSize, 12);
  eocd.writeUInt32LE(needZip64 ? MAX32 : cdStart, 16);
  await put(eocd);
}

/** The Zip64 extended-information extra field (id 0x0001) holding `values` as 64-bit integers. */
export function zip64Extra(values: number[]): Buffer {
  const buf = Buffer.alloc(4 + 8 * values.length);
  buf.writeUInt16LE(0x0001, 0);
  buf.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => {
    buf.writeBigUInt64LE(BigInt(v), 4 + 8 * i);
  });
  return buf;
}

async function writeData(
  data: Buffer | string | AsyncIterable<Buffer | string>,
  entry: Written,
  put: (b: Buffer) => Promise<void>,
  level: number,
): Promise<void> {
  const source: AsyncIterable<Buffer | string> =
    typeof data === 'string' || Buffer.isBuffer(data) ? oneChunk(data) : data;
  if (entry.method === 0) {
    for await (const part of source) {
      const buf = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
      entry.crc = crc32(buf, entry.crc);
      entry.uncompressed += buf.length;
      entry.compressed += buf.length;
      await put(buf);
    }
    return;
  }
  const deflate = createDeflateRaw({ level, chunkSize: 1 << 16 });
  const pump = (async () => {
    try {
      for await (const part of source) {
        const buf = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
        entry.crc = crc32(buf, entry.crc);
        entry.uncompressed += buf.length;
        if (!deflate.write(buf)) await new Promise<void>((resolve) => deflate.once('drain', resolve));
      }
      deflate.end();
    } catch (err) {
      deflate.destroy(err as Error);
    }
  })();
  for await (const chunk of deflate) {
    entry.compressed += (chunk as Buffer).length;
    await put(chunk as Buffer);
  }
  await pump;
}

async function* oneChunk(data: Buffer | string): AsyncGenerator<Buffer | string> {
  yield data;
}
