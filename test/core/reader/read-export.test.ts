import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { scanExport } from '../../../src/core/reader/read-export.js';
import { AppError } from '../../../src/errors.js';
import { exportXml } from './fixtures.js';

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('scanExport', () => {
  const src = Buffer.from(exportXml('extra-gt'));

  it('fingerprints, counts and reports progress in one pass', async () => {
    const progress: number[] = [];
    const names: string[] = [];
    const summary = await scanExport(chunked(src, 100), {
      onElement: (e) => names.push(e.name),
      onProgress: (n) => progress.push(n),
    });
    assert.equal(summary.sha256, createHash('sha256').update(src).digest('hex'));
    assert.equal(summary.bytes, src.length);
    assert.equal(progress.at(-1), src.length);
    assert.equal(progress.length, Math.ceil(src.length / 100));
    assert.equal(names.length, 7);
    assert.deepEqual(summary.defectCounts, { 'dtd-extra-gt': 1 });
    assert.equal(summary.doctype!.start, src.indexOf('<!DOCTYPE'));
    assert.equal(summary.doctype!.end, src.indexOf(']>') + 2);
  });

  it('stops with CANCELLED when the signal aborts', async () => {
    const ac = new AbortController();
    await assert.rejects(
      scanExport(chunked(src, 10), { onProgress: (n) => n > 50 && ac.abort() }, { signal: ac.signal }),
      (e: unknown) => e instanceof AppError && e.code === 'CANCELLED',
    );
  });
});
