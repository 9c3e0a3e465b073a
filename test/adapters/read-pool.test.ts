import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openExport } from '../../src/adapters/export-source.js';
import { ReadPool } from '../../src/adapters/read-pool.js';
import { postToS3 } from '../../src/adapters/s3-post.js';
import { type FakeS3, parseForm, startFakeS3 } from '../helpers/fake-s3.js';

describe('ReadPool', () => {
  it('takes back only the chunk it lent, and only once', () => {
    const pool = new ReadPool(16);
    const a = pool.take();
    const chunk = pool.lend(a, 10);
    pool.release(chunk.subarray(0, 5)); // a view it did not lend
    pool.release(Buffer.alloc(16)); // not its buffer at all
    assert.notEqual(pool.take(), a);
    pool.release(chunk);
    pool.release(chunk); // twice: must not hand the buffer to two readers
    assert.equal(pool.take(), a);
    assert.notEqual(pool.take(), a);
    assert.equal(pool.created, 3);
  });

  describe('an upload reading into reused buffers', () => {
    let s3: FakeS3;
    let dir: string;
    before(async () => {
      s3 = await startFakeS3();
      dir = await mkdtemp(join(tmpdir(), 'read-pool-'));
    });
    after(async () => {
      await s3.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('stores exactly the file’s bytes while a few buffers are read into again and again', async () => {
      // Random bytes in small chunks: a buffer reused before the socket had written it would show up
      // as wrong bytes at S3. The file only has to look like an export to be opened.
      const head = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n');
      const bytes = Buffer.concat([head, randomBytes(3 << 20)]);
      const path = join(dir, 'export.xml');
      await writeFile(path, bytes);
      const source = await openExport(path);
      const pool = new ReadPool(8192);
      const released: Buffer[] = [];
      const res = await postToS3({
        url: s3.url,
        fields: [['key', 'u/raw/pooled.xml']],
        filename: 'pooled.xml',
        fileBytes: bytes.length,
        file: source.open({ pool }),
        onChunkWritten: (chunk) => {
          released.push(chunk);
          pool.release(chunk);
        },
        stallTimeoutMs: 5000,
      });
      assert.equal(res.status, 204);
      const req = s3.requests.at(-1)!;
      const form = parseForm(req.body!, String(req.headers['content-type']));
      assert.ok(form.file?.equals(bytes), 'S3 received other bytes than the file holds');
      assert.equal(released.length, Math.ceil(bytes.length / 8192), 'every chunk is reported written once');
      assert.ok(pool.created < 40, `${pool.created} buffers for ${released.length} chunks`);
    });
  });
});
