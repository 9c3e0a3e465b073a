// The sandbox S3 endpoint's multipart API beyond the radosgw parity cases: listing pages, a part sent again,
// two completions racing, faults for the CLI's retry tests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3Client, S3ClientError } from '../../../src/sandbox/backend/s3-client.js';
import { type S3Server, startS3Server } from '../../../src/sandbox/s3/server.js';

const CREDS = { region: 'us-east-1', accessKeyId: 'AKIASANDBOXMP0000000', secretAccessKey: 'mp-secret' };
const MIB = 1024 * 1024;

describe('sandbox S3 endpoint: multipart details', () => {
  let s3: S3Server;
  let client: S3Client;
  before(async () => {
    s3 = await startS3Server({ bucket: 'b', ...CREDS });
    client = new S3Client({ endpoint: s3.endpoint, bucket: 'b', ...CREDS }, Date.now);
  });
  after(() => s3.close());

  const put = (key: string, id: string, n: number, body: Buffer) =>
    fetch(client.presignUploadPart(key, id, n, 600), { method: 'PUT', body });

  it('lists parts page by page (max-parts, part-number-marker, NextPartNumberMarker)', async () => {
    const key = 'u/raw/pages.xml';
    const id = await client.createMultipartUpload(key, 'application/xml');
    for (const n of [1, 2, 3, 5, 8])
      assert.equal((await put(key, id, n, Buffer.from(`part ${n}`))).status, 200);
    const pages: string[][] = [];
    let marker = 0;
    for (;;) {
      const page = await client.listParts(key, id, { maxParts: 2, marker });
      pages.push(page.parts.map((p) => p.partNumber ?? ''));
      if (!page.isTruncated) break;
      marker = Number(page.nextMarker);
    }
    assert.deepEqual(pages, [['1', '2'], ['3', '5'], ['8']]);
  });

  it('a part sent again replaces the first; the object has the second', async () => {
    const key = 'u/raw/again.xml';
    const id = await client.createMultipartUpload(key, 'application/xml');
    await put(key, id, 1, Buffer.alloc(5 * MIB, 0x31));
    const second = await put(key, id, 1, Buffer.alloc(5 * MIB, 0x32));
    const last = await put(key, id, 2, Buffer.from('end'));
    await client.completeMultipartUpload(key, id, [
      { partNumber: 1, etag: second.headers.get('etag') ?? '' },
      { partNumber: 2, etag: last.headers.get('etag') ?? '' },
    ]);
    const res = await fetch(client.presignGetObject(key));
    const body = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(
      [body.length, body[0], res.headers.get('content-type')],
      [5 * MIB + 3, 0x32, 'application/xml'],
    );
  });

  it('of two completions at once, one assembles the object and the other gets NoSuchUpload', async () => {
    const key = 'u/raw/race.xml';
    const id = await client.createMultipartUpload(key, 'application/xml');
    const etag = (await put(key, id, 1, Buffer.from('only part'))).headers.get('etag') ?? '';
    const results = await Promise.allSettled(
      [0, 1].map(() => client.completeMultipartUpload(key, id, [{ partNumber: 1, etag }])),
    );
    const codes = results
      .map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as S3ClientError).code))
      .sort();
    assert.deepEqual(codes, ['NoSuchUpload', 'ok']);
    assert.equal((await s3.stat(key))?.size, 9);
  });

  it('answers injected faults as S3 would: 503 SlowDown, a dropped connection, then normally again', async () => {
    const key = 'u/raw/faults.xml';
    const id = await client.createMultipartUpload(key, 'application/xml');
    s3.faults.next(1, { status: 503 }, { method: 'PUT' });
    const slow = await put(key, id, 1, Buffer.from('x'));
    assert.equal(slow.status, 503);
    assert.match(await slow.text(), /<Code>SlowDown<\/Code>/);
    s3.faults.drop(1, { method: 'PUT' });
    await assert.rejects(put(key, id, 1, Buffer.from('x')));
    assert.equal((await put(key, id, 1, Buffer.from('x'))).status, 200);
    await assert.rejects(
      client.listParts(key, 'not-an-upload-id-at-all', { maxParts: 10, marker: 0 }),
      (err: unknown) => {
        return err instanceof S3ClientError && err.code === 'NoSuchUpload';
      },
    );
  });

  it('refuses unsigned writes and part numbers outside 1..10000', async () => {
    const key = 'u/raw/rules.xml';
    const id = await client.createMultipartUpload(key, 'application/xml');
    const anonymous = await fetch(`${s3.endpoint}/b/${key}?partNumber=1&uploadId=${id}`, {
      method: 'PUT',
      body: 'x',
    });
    assert.equal(anonymous.status, 403);
    const big = await put(key, id, 10_001, Buffer.from('x'));
    assert.equal(big.status, 400);
    assert.match(
      await big.text(),
      /<Code>InvalidArgument<\/Code><Message>Part number must be an integer between 1 and 10000, inclusive/,
    );
  });
});
