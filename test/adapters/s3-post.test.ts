import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { multipartFraming } from '../../src/adapters/multipart-form.js';
import { postToS3, S3UploadError, s3ErrorFrom } from '../../src/adapters/s3-post.js';
import { type FakeS3, parseForm, s3Error, startFakeS3 } from '../helpers/fake-s3.js';
import { waitUntil } from '../helpers/wait.js';

async function* chunks(total: number, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < total; sent += size) yield Buffer.alloc(Math.min(size, total - sent), 0x61);
}

const FIELDS: [string, string][] = [
  ['Content-Type', 'application/xml'],
  ['key', 'u/raw/a.xml'],
  ['x-amz-meta-b', 'second'],
  ['Policy', 'eyJ4IjoxfQ=='],
  ['X-Amz-Signature', 'abc'],
];

describe('postToS3', () => {
  let s3: FakeS3;
  before(async () => {
    s3 = await startFakeS3();
  });
  after(async () => {
    await s3.close();
  });

  const post = (bytes: number, extra: Partial<Parameters<typeof postToS3>[0]> = {}) =>
    postToS3({
      url: s3.url,
      fields: FIELDS,
      filename: 'a.xml',
      fileBytes: bytes,
      file: chunks(bytes),
      stallTimeoutMs: 5000,
      ...extra,
    });

  it('sends the fields unchanged and in order, the file last, with an exact Content-Length and no auth', async () => {
    const seen: number[] = [];
    const res = await post(300_000, { onProgress: (n) => seen.push(n) });
    assert.equal(res.status, 204);
    const req = s3.requests.at(-1)!;
    assert.equal(Number(req.headers['content-length']), req.bytes);
    assert.equal(req.headers['transfer-encoding'], undefined);
    assert.equal(req.headers.authorization, undefined);
    assert.equal(req.headers['x-open-wearables-api-key'], undefined);
    const form = parseForm(req.body!, String(req.headers['content-type']));
    assert.deepEqual(form.fields, FIELDS);
    assert.equal(form.file?.length, 300_000);
    const body = req.body!.toString('latin1');
    assert.match(body, /name="file"; filename="a.xml"\r\nContent-Type: application\/xml\r\n\r\n/);
    assert.ok(body.lastIndexOf('name="file"') > body.lastIndexOf('name="X-Amz-Signature"'));
    assert.equal(seen.at(-1), 300_000);
  });

  it('framing length matches what is sent', () => {
    const { preamble, epilogue } = multipartFraming(FIELDS, 'a.xml', 'B');
    assert.ok(preamble.toString().startsWith('--B\r\nContent-Disposition: form-data; name="Content-Type"'));
    assert.equal(epilogue.toString(), '\r\n--B--\r\n');
  });

  it('parses S3 error bodies and decides what is retryable', async () => {
    s3.script({ kind: 'status', status: 400, body: s3Error('EntityTooLarge') });
    await assert.rejects(post(2000), (err: unknown) => {
      assert.ok(err instanceof S3UploadError);
      assert.equal(err.s3Code, 'EntityTooLarge');
      assert.equal(err.retryable, false);
      assert.match(err.message, /EntityTooLarge/);
      return true;
    });
    assert.equal(s3ErrorFrom(403, s3Error('AccessDenied', 'Policy expired')).retryable, true);
    assert.equal(
      s3ErrorFrom(403, s3Error('AccessDenied', 'Invalid according to Policy: Policy expired.')).retryable,
      true,
    );
    assert.equal(s3ErrorFrom(403, s3Error('AccessDenied', 'Policy check failed')).retryable, false);
    assert.equal(s3ErrorFrom(503, s3Error('SlowDown')).retryable, true);
    const r = s3ErrorFrom(429, '', 2000);
    assert.equal(r.retryable, true);
    assert.equal(r.retryAfterMs, 2000);
    assert.equal(s3ErrorFrom(411, s3Error('MissingContentLength')).retryable, false);
  });

  it('reads an early rejection even though the body was not finished', async () => {
    // Like RGW after ~8 MiB: answer while the client is still sending, then close.
    const { createServer } = await import('node:http');
    const early = createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n > 1 << 20 && !res.headersSent) {
          res.writeHead(400, { 'content-type': 'application/xml', connection: 'close' });
          res.end(s3Error('EntityTooLarge'));
        }
      });
    });
    await new Promise<void>((r) => early.listen(0, '127.0.0.1', r));
    const port = (early.address() as { port: number }).port;
    try {
      await assert.rejects(
        postToS3({
          url: `http://127.0.0.1:${port}/b`,
          fields: FIELDS,
          filename: 'a.xml',
          fileBytes: 20 << 20,
          file: chunks(20 << 20, 1 << 20),
          stallTimeoutMs: 5000,
        }),
        (err: unknown) => err instanceof S3UploadError && err.s3Code === 'EntityTooLarge',
      );
    } finally {
      early.closeAllConnections();
      early.close();
    }
  });

  it('a dropped connection is a retryable network error', async () => {
    s3.script({ kind: 'drop', afterBytes: 100_000 });
    await assert.rejects(post(1_000_000), (err: unknown) => {
      assert.ok(err instanceof S3UploadError, String(err));
      assert.equal(err.retryable, true);
      assert.equal(err.code, 'NETWORK_ERROR');
      return true;
    });
  });

  it('a stalled server becomes a retryable timeout, not a hang', async () => {
    s3.script({ kind: 'stall', read: false });
    await assert.rejects(post(4_000_000, { stallTimeoutMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof S3UploadError, String(err));
      assert.equal(err.code, 'TIMEOUT');
      assert.equal(err.retryable, true);
      return true;
    });
  });

  it('refuses to send a body that differs from the planned size', async () => {
    await assert.rejects(
      postToS3({
        url: s3.url,
        fields: FIELDS,
        filename: 'a.xml',
        fileBytes: 1000,
        file: chunks(999),
        stallTimeoutMs: 5000,
      }),
      /shorter than planned/,
    );
  });

  it('an abort from the caller propagates as an abort', async () => {
    s3.script({ kind: 'stall', read: true }, { kind: 'stall', read: true });
    const ac = new AbortController();
    const before = s3.requests.length;
    const posting = post(100_000, { signal: ac.signal });
    // Aborted while S3 holds the request: after it arrived, before any answer.
    await waitUntil('the POST reached S3', () => s3.requests.length > before);
    ac.abort();
    await assert.rejects(posting, (err: unknown) => !(err instanceof S3UploadError));
  });
});
