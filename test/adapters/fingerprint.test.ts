import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openExport } from '../../src/adapters/export-source.js';
import {
  EDGE_BYTES,
  fileFingerprint,
  SAMPLE_BLOCK_BYTES,
  SAMPLE_BLOCKS,
  sampleRanges,
} from '../../src/adapters/fingerprint.js';
import { writeZipFile } from '../helpers/zip.js';

const HEAD = (date: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n <ExportDate value="${date}"/>\n`;
const RECORD =
  ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Phone" unit="count" startDate="2025-01-01 10:00:00 -0800" endDate="2025-01-01 10:01:00 -0800" value="12"/>\n';

/** A synthetic export of about `bytes` bytes (records repeated), with the given ExportDate. */
function exportOf(bytes: number, date = '2025-01-05 10:02:17 -0800'): Buffer {
  const head = HEAD(date);
  const tail = '</HealthData>\n';
  const n = Math.max(1, Math.floor((bytes - head.length - tail.length) / RECORD.length));
  return Buffer.from(head + RECORD.repeat(n) + tail);
}

describe('sampled fingerprint', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fingerprint-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('samples head, tail and evenly spaced blocks, disjoint and in order; small files whole', () => {
    assert.deepEqual(sampleRanges(0), []);
    assert.deepEqual(sampleRanges(5000), [[0, 5000]]);
    const small = 2 * EDGE_BYTES + SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES;
    assert.deepEqual(sampleRanges(small), [[0, small]]);
    for (const size of [small + 1, 100 * 1024 * 1024 + 3, 5 * 1024 ** 3 + 17]) {
      const r = sampleRanges(size);
      assert.equal(r.length, SAMPLE_BLOCKS + 2);
      assert.deepEqual(r[0], [0, EDGE_BYTES]);
      assert.deepEqual(r.at(-1), [size - EDGE_BYTES, size]);
      for (let i = 1; i < r.length; i++)
        assert.ok(r[i]![0] >= r[i - 1]![1], `disjoint at ${i}, size ${size}`);
      const read = r.reduce((n, [s, e]) => n + (e - s), 0);
      assert.equal(read, 2 * EDGE_BYTES + SAMPLE_BLOCKS * SAMPLE_BLOCK_BYTES);
    }
    // Spread over the middle: the last block ends where the tail starts.
    const big = sampleRanges(1e9);
    assert.equal(big.at(-2)![1], 1e9 - EDGE_BYTES);
    assert.equal(big[1]![0], EDGE_BYTES);
  });

  it('a plain file: stable, and changed by the head, the tail, a sampled block or the size', async () => {
    const size = 20 * 1024 * 1024;
    const base = exportOf(size);
    const path = join(dir, 'export.xml');
    await writeFile(path, base);
    const fp = await fileFingerprint(path, base.length);
    assert.match(fp, /^[0-9a-f]{64}$/);
    assert.equal(await fileFingerprint(path, base.length), fp);
    assert.equal(await (await openExport(path)).fingerprint(), fp, 'the source method is the same scheme');

    const variant = async (name: string, buf: Buffer) => {
      const p = join(dir, name);
      await writeFile(p, buf);
      return fileFingerprint(p, buf.length);
    };
    // Another export (another ExportDate in the head), same size.
    const other = exportOf(size, '2025-01-06 10:02:17 -0800');
    assert.equal(other.length, base.length);
    assert.notEqual(await variant('other.xml', other), fp);
    // A byte changed in the tail, or in one of the middle blocks.
    const tail = Buffer.from(base);
    tail[tail.length - 100] = 0x41;
    assert.notEqual(await variant('tail.xml', tail), fp);
    const block = Buffer.from(base);
    const [s] = sampleRanges(base.length)[10]!;
    block[s + 5] = 0x41;
    assert.notEqual(await variant('block.xml', block), fp);
    // Cut short (a truncated copy).
    assert.notEqual(await variant('cut.xml', base.subarray(0, base.length - RECORD.length)), fp);
    // What sampling cannot see, by design (fingerprint.ts): a same-size edit between the samples.
    const between = Buffer.from(base);
    const [, e1] = sampleRanges(base.length)[10]!;
    between[e1 + 10] = between[e1 + 10] === 0x31 ? 0x32 : 0x31;
    assert.equal(await variant('between.xml', between), fp);
  });

  it('a file that shrank since it was opened is an input error, not a silent partial hash', async () => {
    const path = join(dir, 'shrunk.xml');
    await writeFile(path, exportOf(4096));
    await assert.rejects(fileFingerprint(path, 9000), /ended at byte/);
  });

  it('a zip: CRC and sizes from the central directory plus the inflated head', async () => {
    const xml = exportOf(6 * 1024 * 1024);
    const zipOf = async (name: string, content: Buffer) => {
      const p = join(dir, name);
      await writeZipFile(p, [{ name: 'apple_health_export/export.xml', data: content }]);
      return (await openExport(p)).fingerprint();
    };
    const fp = await zipOf('a.zip', xml);
    assert.match(fp, /^[0-9a-f]{64}$/);
    assert.equal(await zipOf('a-again.zip', xml), fp, 'the same export zipped again');
    // The same XML unzipped is another kind of source: its fingerprint is its own.
    const plain = join(dir, 'plain.xml');
    await writeFile(plain, xml);
    assert.notEqual(await (await openExport(plain)).fingerprint(), fp);
    // A change past the inflated head is still seen through the CRC.
    const late = Buffer.from(xml);
    late[late.length - 50] = 0x41;
    assert.notEqual(await zipOf('late.zip', late), fp);
    const early = Buffer.from(xml);
    early[200] = early[200] === 0x31 ? 0x32 : 0x31;
    assert.notEqual(await zipOf('early.zip', early), fp);
  });
});
