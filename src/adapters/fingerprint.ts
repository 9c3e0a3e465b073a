/**
 * The sampled fingerprint that keys the S3 upload ledger (product.md "A local ledger"): computed before
 * the first byte is sent, without reading the whole export, so the upload can start at once.
 *
 * - A plain file (export.xml, or the XML in an unzipped folder): sha256 over a version tag, the size,
 *   the first 4 MiB, the last 4 MiB and 64 blocks of 64 KiB spread evenly over the middle, read with
 *   positioned reads (~8 MiB whatever the export's size). A file up to 12 MiB is hashed whole.
 * - A zip entry: sha256 over the tag, the entry's CRC-32 and sizes from the central directory (the CRC
 *   covers every byte of the XML, and a read through the entry's end checks it), and the first 4 MiB
 *   inflated.
 *
 * Why sampling is safe for Apple Health exports: the head of every export holds `<ExportDate value=…>`
 * (the second the export was made, format §1), so two different exports differ within the first 4 MiB
 * even when they come from the same phone and have the same size; an export that was cut short or
 * damaged in a copy changes its size or its tail. What sampling cannot see is an edit in place that
 * keeps the size and misses every sample — not something the Health app or a copy produces. The
 * fingerprint only decides whether to skip or resume a send, and `--force` sends regardless. The
 * direct method keeps its own full sha256 (it compares content for resume, src/core/direct).
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Changing the sampling changes this tag, so fingerprints of different schemes never collide. */
export const FINGERPRINT_VERSION = 'apple-import sampled fingerprint v1';
export const EDGE_BYTES = 4 * 1024 * 1024;
export const SAMPLE_BLOCKS = 64;
export const SAMPLE_BLOCK_BYTES = 64 * 1024;

/** The [start, end) ranges of a file of `size` bytes that the fingerprint reads, in order, disjoint. */
export function sampleRanges(size: number): [number, number][] {
  if (size <= 2 * EDGE_BYTES + SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES) return size > 0 ? [[0, size]] : [];
  const ranges: [number, number][] = [[0, EDGE_BYTES]];
  const middle = size - 2 * EDGE_BYTES;
  for (let k = 0; k < SAMPLE_BLOCKS; k++) {
    const start = EDGE_BYTES + Math.floor((k * (middle - SAMPLE_BLOCK_BYTES)) / (SAMPLE_BLOCKS - 1));
    ranges.push([start, start + SAMPLE_BLOCK_BYTES]);
  }
  ranges.push([size - EDGE_BYTES, size]);
  return ranges;
}

/** The fingerprint of a plain file of `size` bytes (its size from stat, taken when it was opened). */
export async function fileFingerprint(path: string, size: number, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256').update(`${FINGERPRINT_VERSION}\0file\0${size}\0`);
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(EDGE_BYTES);
    for (const [start, end] of sampleRanges(size)) {
      for (let pos = start; pos < end; ) {
        signal?.throwIfAborted();
        const want = Math.min(end - pos, buf.length);
        const { bytesRead } = await fh.read(buf, 0, want, pos);
        // The file shrank since it was opened: the fingerprint must not silently cover less.
        if (bytesRead === 0) throw new Error(`${path} ended at byte ${pos}, expected ${size} bytes`);
        hash.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
      }
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

export interface ZipEntryIdentity {
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
}

/** The fingerprint of a zip entry: its central-directory identity plus its first 4 MiB, inflated. */
export async function zipEntryFingerprint(
  entry: ZipEntryIdentity,
  head: AsyncIterable<Buffer>,
  signal?: AbortSignal,
): Promise<string> {
  const hash = createHash('sha256').update(
    `${FINGERPRINT_VERSION}\0zip\0${entry.crc32}\0${entry.compressedSize}\0${entry.uncompressedSize}\0`,
  );
  let n = 0;
  for await (const chunk of head) {
    signal?.throwIfAborted();
    const take = chunk.subarray(0, EDGE_BYTES - n);
    hash.update(take);
    n += take.length;
    if (n >= EDGE_BYTES) break;
  }
  return hash.digest('hex');
}
