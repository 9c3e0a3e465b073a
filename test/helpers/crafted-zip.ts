/**
 * Zips no archiver would write, built byte by byte: entries whose directory declares sizes and CRCs
 * that the data does not have, and deflate streams that inflate to many GiB from a few MB.
 */
import { open } from 'node:fs/promises';
import { constants, crc32, deflateRawSync } from 'node:zlib';
import { zip64Extra } from '../../src/generator/zip-writer.js';

export interface CraftedEntry {
  name: string;
  /** The entry's data as stored (already deflated for method 8), in pieces written in order. */
  data: Iterable<Buffer>;
  method: 0 | 8;
  crc: number;
  compressedSize: number;
  /** What the directory declares, whatever the data inflates to. */
  uncompressedSize: number;
}

const MAX32 = 0xffffffff;

/** Writes the entries with Zip64 records throughout (sizes in the local header and the directory). */
export async function writeCraftedZip(path: string, entries: CraftedEntry[]): Promise<void> {
  const fh = await open(path, 'w');
  let offset = 0;
  const put = async (buf: Buffer) => {
    await fh.write(buf);
    offset += buf.length;
  };
  const central: Buffer[] = [];
  try {
    for (const e of entries) {
      const name = Buffer.from(e.name, 'utf8');
      const at = offset;
      const extra = zip64Extra([e.uncompressedSize, e.compressedSize]);
      const lh = Buffer.alloc(30);
      lh.writeUInt32LE(0x04034b50, 0);
      lh.writeUInt16LE(45, 4);
      lh.writeUInt16LE(0x0800, 6);
      lh.writeUInt16LE(e.method, 8);
      lh.writeUInt32LE(e.crc >>> 0, 14);
      lh.writeUInt32LE(MAX32, 18);
      lh.writeUInt32LE(MAX32, 22);
      lh.writeUInt16LE(name.length, 26);
      lh.writeUInt16LE(extra.length, 28);
      await put(Buffer.concat([lh, name, extra]));
      for (const piece of e.data) await put(piece);
      const cdExtra = zip64Extra([e.uncompressedSize, e.compressedSize, at]);
      const cd = Buffer.alloc(46);
      cd.writeUInt32LE(0x02014b50, 0);
      cd.writeUInt16LE((3 << 8) | 45, 4);
      cd.writeUInt16LE(45, 6);
      cd.writeUInt16LE(0x0800, 8);
      cd.writeUInt16LE(e.method, 10);
      cd.writeUInt32LE(e.crc >>> 0, 16);
      cd.writeUInt32LE(MAX32, 20);
      cd.writeUInt32LE(MAX32, 24);
      cd.writeUInt16LE(name.length, 28);
      cd.writeUInt16LE(cdExtra.length, 30);
      cd.writeUInt32LE(0o100644 * 0x10000, 38);
      cd.writeUInt32LE(MAX32, 42);
      central.push(Buffer.concat([cd, name, cdExtra]));
    }
    const cdStart = offset;
    for (const c of central) await put(c);
    const cdSize = offset - cdStart;
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE((3 << 8) | 45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdStart), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset), 8);
    loc.writeUInt32LE(1, 16);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(0xffff, 8);
    eocd.writeUInt16LE(0xffff, 10);
    eocd.writeUInt32LE(MAX32, 12);
    eocd.writeUInt32LE(MAX32, 16);
    await put(Buffer.concat([rec, loc, eocd]));
  } finally {
    await fh.close();
  }
}

/** A stored entry whose directory tells the truth. */
export function storedEntry(name: string, data: Buffer): CraftedEntry {
  return {
    name,
    data: [data],
    method: 0,
    crc: crc32(data),
    compressedSize: data.length,
    uncompressedSize: data.length,
  };
}

/** A deflated entry whose directory tells the truth, unless `declare` overrides a field. */
export function deflatedEntry(name: string, data: Buffer, declare: Partial<CraftedEntry> = {}): CraftedEntry {
  const z = deflateRawSync(data);
  return {
    name,
    data: [z],
    method: 8,
    crc: crc32(data),
    compressedSize: z.length,
    uncompressedSize: data.length,
    ...declare,
  };
}

const MIB = 1024 * 1024;

/**
 * A Health XML of `head`, then `whitespaceMiB` MiB of spaces, then `tail`, as one deflate stream a
 * few KB per GiB: each MiB of spaces is one independently deflated, flushed (non-final) fragment,
 * repeated. Its directory declares the true inflated size unless `declaredSize` says otherwise; its
 * CRC is not computed (a read that gets that far has already failed the test).
 */
export function whitespaceBomb(
  name: string,
  whitespaceMiB: number,
  opts: { head?: string; tail?: string; declaredSize?: number } = {},
): CraftedEntry {
  const head = Buffer.from(
    opts.head ?? '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n',
  );
  const tail = Buffer.from(opts.tail ?? '</HealthData>\n');
  const flushed = { finishFlush: constants.Z_FULL_FLUSH, level: 9 };
  const h = deflateRawSync(head, flushed);
  const block = deflateRawSync(Buffer.alloc(MIB, 0x20), flushed);
  const t = deflateRawSync(tail);
  function* pieces(): Generator<Buffer> {
    yield h;
    // Written a few hundred blocks at a time: one write per block would be 10k writes per 10 GiB.
    const batch = Buffer.concat(Array.from({ length: 256 }, () => block));
    let left = whitespaceMiB;
    for (; left >= 256; left -= 256) yield batch;
    if (left > 0) yield batch.subarray(0, left * block.length);
    yield t;
  }
  return {
    name,
    data: { [Symbol.iterator]: pieces },
    method: 8,
    crc: 0,
    compressedSize: h.length + whitespaceMiB * block.length + t.length,
    uncompressedSize: opts.declaredSize ?? head.length + whitespaceMiB * MIB + tail.length,
  };
}
