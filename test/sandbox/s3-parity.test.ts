// The same presigned-POST cases against a real S3 (Ceph radosgw) and the sandbox's S3 endpoint: the sandbox
// must answer with the same status and <Code> (s3-testing-with-radosgw.md §3, §5), except a bad signature,
// where radosgw says AccessDenied and AWS (which the sandbox copies) says SignatureDoesNotMatch.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { S3Settings } from '../../src/sandbox/backend/context.js';
import { S3Client, S3ClientError } from '../../src/sandbox/backend/s3-client.js';
import {
  createPresignedPost,
  type PresignedPost,
  type PresignPostInput,
} from '../../src/sandbox/s3/presign.js';
import { type S3Server, startS3Server } from '../../src/sandbox/s3/server.js';
import { sha256Hex, signRequest } from '../../src/sandbox/s3/sigv4.js';
import { postChunked as postChunkedForm } from '../helpers/presigned-post.js';
import { type Radosgw, startRadosgw } from '../helpers/radosgw.js';

const XML = 'application/xml';

interface Target {
  name: string;
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The stored bytes, or undefined when the key does not exist. */
  read(key: string): Promise<Buffer | undefined>;
}

interface Answer {
  status: number;
  code: string | undefined;
  body: string;
}

function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

async function postForm(post: PresignedPost, body: Uint8Array, fields = post.fields): Promise<Answer> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([body], { type: XML }), 'export.xml');
  const res = await fetch(post.url, { method: 'POST', body: form });
  const text = await res.text();
  return { status: res.status, code: errorCode(text), body: text };
}

async function postChunked(post: PresignedPost, body: Uint8Array): Promise<Answer> {
  const { status, text } = await postChunkedForm(post.url, post.fields, body, XML);
  return { status, code: errorCode(text), body: text };
}

function xmlBytes(size: number): Buffer {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData>';
  const tail = '</HealthData>\n';
  return Buffer.concat([
    Buffer.from(head),
    Buffer.alloc(size - head.length - tail.length, 0x20),
    Buffer.from(tail),
  ]);
}

let n = 0;
function presign(t: Target, over: Partial<PresignPostInput> = {}): PresignedPost {
  return createPresignedPost({
    endpoint: t.endpoint,
    bucket: t.bucket,
    region: t.region,
    accessKeyId: t.accessKeyId,
    secretAccessKey: t.secretAccessKey,
    key: `user-1/raw/p${++n}.xml`,
    expiresSeconds: 300,
    contentType: XML,
    maxBytes: 64 * 1024,
    ...over,
  });
}

interface Case {
  name: string;
  expect: { status: number; code: string | undefined };
  run(t: Target): Promise<{ answer: Answer; key: string }>;
  /** Whether the object must exist afterwards. */
  stored: boolean;
  /** Only the status is compared across targets (doc §5: RGW's code differs from AWS's). */
  statusOnly?: boolean;
}

const BODY = xmlBytes(40_000);

const CASES: Case[] = [
  {
    name: 'valid upload',
    expect: { status: 204, code: undefined },
    stored: true,
    async run(t) {
      const post = presign(t);
      return { answer: await postForm(post, BODY), key: post.fields.key! };
    },
  },
  {
    name: 'oversized body',
    expect: { status: 400, code: 'EntityTooLarge' },
    stored: false,
    async run(t) {
      const post = presign(t, { maxBytes: 1024 });
      return { answer: await postForm(post, xmlBytes(4096)), key: post.fields.key! };
    },
  },
  {
    name: 'empty file',
    expect: { status: 400, code: 'EntityTooSmall' },
    stored: false,
    async run(t) {
      const post = presign(t);
      return { answer: await postForm(post, new Uint8Array(0)), key: post.fields.key! };
    },
  },
  {
    name: 'expired policy',
    expect: { status: 403, code: 'AccessDenied' },
    stored: false,
    async run(t) {
      const post = presign(t, { now: new Date(Date.now() - 3_600_000), expiresSeconds: 60 });
      return { answer: await postForm(post, BODY), key: post.fields.key! };
    },
  },
  {
    name: 'wrong Content-Type field',
    expect: { status: 403, code: 'AccessDenied' },
    stored: false,
    async run(t) {
      const post = presign(t);
      const answer = await postForm(post, BODY, { ...post.fields, 'Content-Type': 'text/plain' });
      return { answer, key: post.fields.key! };
    },
  },
  {
    name: 'wrong key field',
    expect: { status: 403, code: 'AccessDenied' },
    stored: false,
    async run(t) {
      const post = presign(t);
      const key = `${post.fields.key!}.other`;
      return { answer: await postForm(post, BODY, { ...post.fields, key }), key };
    },
  },
  {
    name: 'tampered signature',
    expect: { status: 403, code: undefined },
    statusOnly: true,
    stored: false,
    async run(t) {
      const post = presign(t);
      const sig = post.fields['X-Amz-Signature']!;
      const tampered = {
        ...post.fields,
        'X-Amz-Signature': `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`,
      };
      return { answer: await postForm(post, BODY, tampered), key: post.fields.key! };
    },
  },
  {
    name: 'extra unsigned field',
    expect: { status: 403, code: 'AccessDenied' },
    stored: false,
    async run(t) {
      const post = presign(t);
      const fields = { ...post.fields };
      // Before the signature fields, as a browser form would put it; any position is "not in the policy".
      const extended = { 'x-amz-meta-foo': 'bar', ...fields };
      return { answer: await postForm(post, BODY, extended), key: post.fields.key! };
    },
  },
  {
    name: 'chunked without Content-Length',
    expect: { status: 411, code: 'MissingContentLength' },
    stored: false,
    async run(t) {
      const post = presign(t);
      return { answer: await postChunked(post, BODY), key: post.fields.key! };
    },
  },
  {
    name: 'success_action_status 201 in the policy',
    expect: { status: 201, code: undefined },
    stored: true,
    async run(t) {
      const post = presign(t, { extraFields: { success_action_status: '201' } });
      const answer = await postForm(post, BODY);
      assert.match(answer.body, /<PostResponse>.*<Key>user-1\/raw\/p\d+\.xml<\/Key>.*<\/PostResponse>/s);
      return { answer, key: post.fields.key! };
    },
  },
];

// One radosgw for the whole file: a second cluster started in the same run can catch the first's monitor.
let rgw: Radosgw;
before(async () => {
  rgw = await startRadosgw();
  await rgw.createBucket('multipart');
});
after(async () => {
  await rgw?.stop();
});

describe('presigned POST parity: radosgw vs the sandbox S3 endpoint', () => {
  let sandbox: S3Server;
  const targets: Target[] = [];

  before(async () => {
    sandbox = await startS3Server({
      bucket: 'uploads',
      region: 'us-east-1',
      accessKeyId: rgw.accessKeyId,
      secretAccessKey: rgw.secretAccessKey,
    });
    targets.push(
      {
        name: 'radosgw',
        endpoint: rgw.endpoint,
        bucket: rgw.bucket,
        region: rgw.region,
        accessKeyId: rgw.accessKeyId,
        secretAccessKey: rgw.secretAccessKey,
        read: (key) =>
          rgw.getObject(key).catch((err: { name?: string }) => {
            if (err.name === 'NoSuchKey') return undefined;
            throw err;
          }),
      },
      {
        name: 'sandbox',
        endpoint: sandbox.endpoint,
        bucket: sandbox.bucket,
        region: 'us-east-1',
        accessKeyId: rgw.accessKeyId,
        secretAccessKey: rgw.secretAccessKey,
        async read(key) {
          const res = await fetch(`${sandbox.endpoint}/${sandbox.bucket}/${encodeURIComponent(key)}`);
          if (res.status === 404) {
            assert.equal(errorCode(await res.text()), 'NoSuchKey');
            return undefined;
          }
          assert.equal(res.status, 200);
          return Buffer.from(await res.arrayBuffer());
        },
      },
    );
  });
  after(async () => {
    await sandbox?.close();
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const seen: Record<string, { status: number; code: string | undefined }> = {};
      for (const t of targets) {
        const { answer, key } = await c.run(t);
        seen[t.name] = { status: answer.status, code: answer.code };
        const stored = await t.read(key);
        if (c.stored)
          assert.equal(Buffer.compare(stored ?? Buffer.alloc(0), BODY), 0, `${t.name}: bytes differ`);
        else assert.equal(stored, undefined, `${t.name}: ${c.name} must store nothing`);
      }
      if (c.statusOnly) {
        assert.equal(seen.radosgw?.status, c.expect.status);
        assert.equal(seen.sandbox?.status, c.expect.status);
        // The known difference (doc §5): radosgw's AccessDenied vs AWS's SignatureDoesNotMatch, which we copy.
        assert.equal(seen.radosgw?.code, 'AccessDenied');
        assert.equal(seen.sandbox?.code, 'SignatureDoesNotMatch');
      } else {
        assert.deepEqual(seen.radosgw, c.expect, 'radosgw');
        assert.deepEqual(seen.sandbox, c.expect, 'sandbox');
      }
    });
  }
});

describe('sandbox S3 endpoint: beyond the parity cases', () => {
  let s3: S3Server;
  const target = (): Target => ({
    name: 'sandbox',
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: 'us-east-1',
    accessKeyId: 'AKIASANDBOX000000000',
    secretAccessKey: 'sandboxsecret',
    read: async () => undefined,
  });
  const created: string[] = [];

  before(async () => {
    s3 = await startS3Server({
      bucket: 'uploads',
      region: 'us-east-1',
      accessKeyId: 'AKIASANDBOX000000000',
      secretAccessKey: 'sandboxsecret',
      onObjectCreated: (o) => created.push(o.key),
    });
  });
  after(async () => {
    await s3?.close();
  });

  it('answers 412 PreconditionFailed to a POST that is not multipart', async () => {
    const res = await fetch(`${s3.endpoint}/uploads`, { method: 'POST', body: 'key=x' });
    assert.equal(res.status, 412);
    assert.equal(errorCode(await res.text()), 'PreconditionFailed');
  });

  it('answers 403 AccessDenied to a form without policy or signature', async () => {
    const form = new FormData();
    form.append('key', 'user-1/raw/x.xml');
    form.append('file', new Blob([BODY]), 'x.xml');
    const res = await fetch(`${s3.endpoint}/uploads`, { method: 'POST', body: form });
    assert.equal(res.status, 403);
    assert.equal(errorCode(await res.text()), 'AccessDenied');
  });

  it('uses the AWS message texts (doc §4)', async () => {
    const expired = await postForm(
      presign(target(), { now: new Date(Date.now() - 3_600_000), expiresSeconds: 60 }),
      BODY,
    );
    assert.match(expired.body, /<Message>Invalid according to Policy: Policy expired\.<\/Message>/);
    const post = presign(target());
    const wrongType = await postForm(post, BODY, { ...post.fields, 'Content-Type': 'text/plain' });
    assert.match(wrongType.body, /Policy Condition failed: \["eq", "\$Content-Type", "application\/xml"\]/);
    const big = await postForm(presign(target(), { maxBytes: 1024 }), xmlBytes(4096));
    assert.match(big.body, /<ProposedSize>\d+<\/ProposedSize><MaxSizeAllowed>1024<\/MaxSizeAllowed>/);
  });

  it('streams a body much larger than its buffers and reports the object once stored', async () => {
    const size = 12 * 1024 * 1024 + 17;
    const post = presign(target(), { maxBytes: size });
    const body = xmlBytes(size);
    const answer = await postForm(post, body);
    assert.equal(answer.status, 204);
    const key = post.fields.key!;
    assert.ok(created.includes(key));
    const meta = await s3.stat(key);
    assert.equal(meta?.size, size);
    assert.equal(meta?.contentType, XML);
    const res = await fetch(`${s3.endpoint}/uploads/${encodeURIComponent(key)}`);
    assert.equal(res.headers.get('content-type'), XML);
    assert.equal(Buffer.compare(Buffer.from(await res.arrayBuffer()), body), 0);
  });

  it('rejects an oversized upload early and still stores nothing', async () => {
    const post = presign(target(), { maxBytes: 1024 * 1024 });
    const answer = await postForm(post, xmlBytes(20 * 1024 * 1024));
    assert.equal(answer.status, 400);
    assert.equal(answer.code, 'EntityTooLarge');
    assert.equal(await s3.stat(post.fields.key!), undefined);
  });
});

// Multipart: the double's S3 client (header-signed create, list, complete, abort) and presigned part URLs,
// against radosgw and the sandbox endpoint. Both must answer the same status and <Code>, except where radosgw
// 16 is known to differ from AWS S3 (checked here, so a change in either shows): the sandbox then answers as
// AWS does, and `radosgw` names what radosgw answers instead.
describe('multipart parity: radosgw vs the sandbox S3 endpoint', () => {
  let sandbox: S3Server;
  const targets: { name: string; settings: S3Settings }[] = [];
  const MIB = 1024 * 1024;
  const part1 = Buffer.alloc(5 * MIB, 0x61);
  const part2 = Buffer.from('<tail/>\n'.repeat(128));
  let n = 0;

  before(async () => {
    sandbox = await startS3Server({
      bucket: 'multipart',
      region: 'us-east-1',
      accessKeyId: rgw.accessKeyId,
      secretAccessKey: rgw.secretAccessKey,
    });
    const creds = { region: 'us-east-1', accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey };
    targets.push(
      { name: 'radosgw', settings: { endpoint: rgw.endpoint, bucket: 'multipart', ...creds } },
      { name: 'sandbox', settings: { endpoint: sandbox.endpoint, bucket: 'multipart', ...creds } },
    );
  });
  after(async () => {
    await sandbox?.close();
  });

  const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

  interface Outcome {
    status: number;
    code: string | undefined;
  }

  /** A part PUT: its status, error code and the ETag header S3 returned. */
  async function send(url: string, body: Buffer): Promise<Outcome & { etag: string }> {
    const res = await fetch(url, { method: 'PUT', body });
    const text = await res.text();
    return { status: res.status, code: errorCode(text), etag: res.headers.get('etag') ?? '' };
  }

  async function put(url: string, body: Buffer): Promise<Outcome> {
    const { status, code } = await send(url, body);
    return { status, code };
  }

  /** Status and code of an S3 call through the double's client; 200 when it succeeds. */
  async function outcome(call: () => Promise<unknown>): Promise<Outcome> {
    try {
      await call();
      return { status: 200, code: undefined };
    } catch (err) {
      if (!(err instanceof S3ClientError)) throw err;
      return { status: err.status, code: err.code };
    }
  }

  interface Upload {
    client: S3Client;
    key: string;
    uploadId: string;
  }

  async function open(settings: S3Settings): Promise<Upload> {
    const client = new S3Client(settings, Date.now);
    const key = `user-1/raw/mp${++n}-export.xml`;
    return { client, key, uploadId: await client.createMultipartUpload(key, 'application/xml') };
  }

  const partUrl = (u: Upload, part: number) => u.client.presignUploadPart(u.key, u.uploadId, part, 600);

  async function rawComplete(settings: S3Settings, u: Upload, body: string): Promise<Outcome> {
    const path = u.key.split('/').map(encodeURIComponent).join('/');
    const url = `${settings.endpoint}/${settings.bucket}/${path}?uploadId=${encodeURIComponent(u.uploadId)}`;
    const headers = signRequest({
      ...settings,
      method: 'POST',
      url,
      payloadHash: sha256Hex(body),
      now: Date.now(),
    });
    const res = await fetch(url, { method: 'POST', headers, body });
    return { status: res.status, code: errorCode(await res.text()) };
  }

  const cases: {
    name: string;
    /** AWS S3's answer, which the sandbox gives. */
    expect: Outcome;
    /** Radosgw 16's answer where it differs from AWS. */
    radosgw?: Outcome;
    run(settings: S3Settings, target: string): Promise<Outcome>;
  }[] = [
    {
      name: 'a 5 MiB part and a small last part complete; ETags and bytes as S3 computes them',
      expect: { status: 200, code: undefined },
      async run(settings, target) {
        const u = await open(settings);
        const a = await send(partUrl(u, 1), part1);
        const b = await send(partUrl(u, 2), part2);
        assert.deepEqual([a.etag, b.etag], [`"${md5(part1)}"`, `"${md5(part2)}"`]);
        const listed = await u.client.listParts(u.key, u.uploadId, { maxParts: 1000, marker: 0 });
        assert.deepEqual(
          listed.parts.map((p) => [p.partNumber, p.etag, p.size]),
          [
            ['1', a.etag, part1.length],
            ['2', b.etag, part2.length],
          ],
        );
        const etag = await u.client.completeMultipartUpload(u.key, u.uploadId, [
          { partNumber: 1, etag: a.etag },
          { partNumber: 2, etag: b.etag },
        ]);
        const expected = createHash('md5')
          .update(Buffer.from(md5(part1) + md5(part2), 'hex'))
          .digest('hex');
        // Radosgw 16 leaves the result's <ETag> empty; the object's own ETag is the same on both.
        assert.equal(etag, target === 'radosgw' ? '' : `"${expected}-2"`);
        assert.deepEqual(await u.client.headObject(u.key), {
          size: part1.length + part2.length,
          etag: `"${expected}-2"`,
        });
        const body = await fetch(u.client.presignGetObject(u.key));
        assert.ok(Buffer.from(await body.arrayBuffer()).equals(Buffer.concat([part1, part2])));
        return { status: 200, code: undefined };
      },
    },
    {
      name: 'a part under 5 MiB that is not the last: EntityTooSmall at completion',
      expect: { status: 400, code: 'EntityTooSmall' },
      async run(settings) {
        const u = await open(settings);
        const a = await send(partUrl(u, 1), part2);
        const b = await send(partUrl(u, 2), part2);
        const r = await outcome(() =>
          u.client.completeMultipartUpload(u.key, u.uploadId, [
            { partNumber: 1, etag: a.etag },
            { partNumber: 2, etag: b.etag },
          ]),
        );
        assert.equal(await u.client.headObject(u.key), null, 'no object');
        return r;
      },
    },
    {
      name: 'a part URL with a changed signature: 403 SignatureDoesNotMatch',
      expect: { status: 403, code: 'SignatureDoesNotMatch' },
      async run(settings) {
        const u = await open(settings);
        const url = partUrl(u, 1);
        const sig = new URL(url).searchParams.get('X-Amz-Signature') as string;
        const r = await put(url.replace(sig, `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`), part2);
        const listed = await u.client.listParts(u.key, u.uploadId, { maxParts: 1000, marker: 0 });
        assert.equal(listed.parts.length, 0, 'nothing stored');
        return r;
      },
    },
    {
      name: 'an expired part URL: 403 AccessDenied',
      expect: { status: 403, code: 'AccessDenied' },
      async run(settings) {
        const u = await open(settings);
        const past = new S3Client(settings, () => Date.now() - 2 * 3600_000);
        return put(past.presignUploadPart(u.key, u.uploadId, 1, 60), part2);
      },
    },
    {
      name: 'a wrong ETag at completion: InvalidPart',
      expect: { status: 400, code: 'InvalidPart' },
      async run(settings) {
        const u = await open(settings);
        await put(partUrl(u, 1), part2);
        return outcome(() =>
          u.client.completeMultipartUpload(u.key, u.uploadId, [{ partNumber: 1, etag: `"${md5(part1)}"` }]),
        );
      },
    },
    {
      name: 'parts out of order at completion: InvalidPartOrder',
      expect: { status: 400, code: 'InvalidPartOrder' },
      // Radosgw sorts them and completes.
      radosgw: { status: 200, code: undefined },
      async run(settings) {
        const u = await open(settings);
        const a = await send(partUrl(u, 1), part1);
        const b = await send(partUrl(u, 2), part2);
        const body =
          '<CompleteMultipartUpload>' +
          `<Part><ETag>${b.etag}</ETag><PartNumber>2</PartNumber></Part>` +
          `<Part><ETag>${a.etag}</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`;
        return rawComplete(settings, u, body);
      },
    },
    {
      name: 'complete after abort: NoSuchUpload',
      expect: { status: 404, code: 'NoSuchUpload' },
      // Radosgw: 500 "This multipart completion is already in progress".
      radosgw: { status: 500, code: 'InternalError' },
      async run(settings) {
        const u = await open(settings);
        const a = await send(partUrl(u, 1), part2);
        await u.client.abortMultipartUpload(u.key, u.uploadId);
        return outcome(() =>
          u.client.completeMultipartUpload(u.key, u.uploadId, [{ partNumber: 1, etag: a.etag }]),
        );
      },
    },
    {
      name: 'a part upload after abort: NoSuchUpload',
      expect: { status: 404, code: 'NoSuchUpload' },
      async run(settings) {
        const u = await open(settings);
        const url = partUrl(u, 1);
        await u.client.abortMultipartUpload(u.key, u.uploadId);
        return put(url, part2);
      },
    },
    {
      name: 'a second abort: NoSuchUpload (which the backend swallows)',
      expect: { status: 404, code: 'NoSuchUpload' },
      async run(settings) {
        const u = await open(settings);
        await u.client.abortMultipartUpload(u.key, u.uploadId);
        return outcome(() => u.client.abortMultipartUpload(u.key, u.uploadId));
      },
    },
    {
      name: 'ListParts of an upload that does not exist: NoSuchUpload',
      expect: { status: 404, code: 'NoSuchUpload' },
      radosgw: { status: 404, code: 'NoSuchKey' },
      async run(settings) {
        const client = new S3Client(settings, Date.now);
        return outcome(() =>
          client.listParts('user-1/raw/none.xml', 'AAAAAAAAAAAAAAAAAAAAAAAA', { maxParts: 1000, marker: 0 }),
        );
      },
    },
    {
      name: 'a chunked part PUT without Content-Length',
      expect: { status: 501, code: 'NotImplemented' },
      // Radosgw asks for the length (s3-testing-with-radosgw.md §4: AWS answers a chunked PUT with 501).
      radosgw: { status: 411, code: 'MissingContentLength' },
      async run(settings) {
        const u = await open(settings);
        const res = await fetch(partUrl(u, 1), {
          method: 'PUT',
          body: new Blob([part2]).stream(),
          duplex: 'half',
        } as RequestInit);
        return { status: res.status, code: errorCode(await res.text()) };
      },
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const seen: Record<string, Outcome> = {};
      for (const t of targets) seen[t.name] = await c.run(t.settings, t.name);
      assert.deepEqual(seen.radosgw, c.radosgw ?? c.expect, 'radosgw');
      assert.deepEqual(seen.sandbox, c.expect, 'sandbox');
    });
  }
});
