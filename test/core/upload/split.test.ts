import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ExportSource, openExport } from '../../../src/adapters/export-source.js';
import { scanExport } from '../../../src/core/reader/read-export.js';
import { repairBytes } from '../../../src/core/reader/repair.js';
import { partFilename } from '../../../src/core/upload/filename.js';
import { partBytes } from '../../../src/core/upload/part-bytes.js';
import { planUpload } from '../../../src/core/upload/preflight.js';
import { expirationFor } from '../../../src/core/upload/upload-parts.js';
import { writeExportFile } from '../../../src/generator/index.js';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function bufferSource(buf: Buffer): AsyncIterable<Buffer> {
  return (async function* () {
    for (let i = 0; i < buf.length; i += 65536) yield buf.subarray(i, i + 65536);
  })();
}

/** Digest of every top-level element except the header ones, in order, for "none lost or duplicated". */
async function elementDigests(
  buf: Buffer,
): Promise<{ names: string[]; wellFormed: boolean; headers: number }> {
  const names: string[] = [];
  let headers = 0;
  const s = await scanExport(bufferSource(buf), {
    onElement: (el) => {
      if (el.name === 'ExportDate' || el.name === 'Me') headers++;
      else names.push(createHash('sha1').update(buf.subarray(el.startOffset, el.endOffset)).digest('hex'));
    },
  });
  return { names, wellFormed: s.wellFormed && s.closed, headers };
}

describe('planUpload: split into valid parts during the single scan', () => {
  let dir: string;
  let path: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'split-test-'));
    path = join(dir, 'export.xml');
    await writeExportFile(path, {
      days: 3,
      dtd: 'ios16-unclosed-attlist',
      exportVersion: 12,
      controlChars: 0.2,
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('one part when the repaired export fits: exactly the repaired stream', async () => {
    const source = await openExport(path);
    const plan = await planUpload(source, { cap: 1 << 30 });
    assert.equal(plan.parts.length, 1);
    const sent = await collect(partBytes(source, plan.parts[0]!.segments, plan.repair));
    const repaired = await collect(repairBytes(source.open(), plan.repair));
    assert.equal(sent.length, plan.parts[0]!.bytes);
    assert.ok(sent.equals(repaired));
    assert.ok(plan.repairs.doctypeRemoved);
    assert.ok(plan.repairs.illegalCharsDropped > 0);
    assert.ok(!sent.includes(0x0b));
  });

  it('N parts under the cap, each well-formed, elements together equal the source', async () => {
    const source: ExportSource = await openExport(path);
    const cap = 200_000;
    const plan = await planUpload(source, { cap });
    assert.ok(plan.parts.length >= 5, `parts: ${plan.parts.length}`);
    const whole = await collect(repairBytes(source.open(), plan.repair));
    const expected = await elementDigests(whole);
    const got: string[] = [];
    for (const part of plan.parts) {
      const bytes = await collect(partBytes(source, part.segments, plan.repair));
      assert.equal(bytes.length, part.bytes, `part ${part.index} exact size`);
      assert.ok(bytes.length <= cap);
      assert.ok(!bytes.includes(0x0b));
      const d = await elementDigests(bytes);
      assert.ok(d.wellFormed, `part ${part.index} well-formed`);
      assert.equal(d.headers, 2, 'ExportDate and Me in every part');
      assert.ok(bytes.toString('utf8', 0, 200).startsWith('<?xml'));
      got.push(...d.names);
    }
    assert.deepEqual(got, expected.names);
    assert.equal(
      plan.parts.reduce((n, p) => n + p.elements, 0),
      plan.summary.topLevelCount,
    );
  });

  it('refuses a truncated export', async () => {
    const cut = join(dir, 'cut.xml');
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(path);
    await writeFile(cut, buf.subarray(0, Math.floor(buf.length / 2)));
    await assert.rejects(
      planUpload(await openExport(cut), { cap: 1 << 30 }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INPUT_INVALID');
        return true;
      },
    );
  });

  it('filenames are safe, unique per part, and expirations are clamped', () => {
    const n = partFilename('ab/cd ef0123456789', 'r u n', 3, 12);
    assert.match(n, /^[A-Za-z0-9._-]+\.xml$/);
    assert.equal(n, 'apple-import-abcdef01-run-p03.xml');
    assert.notEqual(partFilename('f', 'r', 1, 2), partFilename('f', 'r', 2, 2));
    assert.equal(expirationFor(1), 61);
    assert.equal(expirationFor(10 * 1024 ** 3), 3600);
  });
});
