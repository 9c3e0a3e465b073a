// Our presigned-POST signer against a real S3 (Ceph radosgw), driven by a plain fetch + FormData client.
// Per docs/s3-testing-with-radosgw.md §5 we assert on HTTP status and <Code> only, never on messages.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it, mock } from 'node:test';
import { S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost as sdkCreatePresignedPost } from '@aws-sdk/s3-presigned-post';
import {
  createPresignedPost,
  decodePolicy,
  type PresignedPost,
  type PresignPostInput,
  verifyPresignedPostSignature,
} from '../../../src/sandbox/s3/presign.js';
import { postChunked as postChunkedForm } from '../../helpers/presigned-post.js';
import { type Radosgw, startRadosgw } from '../../helpers/radosgw.js';

const XML = 'application/xml';

function baseInput(over: Partial<PresignPostInput> = {}): PresignPostInput {
  return {
    endpoint: 'http://127.0.0.1:9',
    bucket: 'uploads',
    region: 'us-east-1',
    accessKeyId: 'AKIATESTKEY0000000000',
    secretAccessKey: 'testsecretkey0000000000000000000000000000',
    key: 'user-1/raw/export.xml',
    expiresSeconds: 300,
    contentType: XML,
    maxBytes: 1024 * 1024,
    ...over,
  };
}

interface S3Answer {
  status: number;
  code: string | undefined;
}

function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

/** The "plain test client": every field unchanged and in order, the file part last (contract §2.2). */
async function postForm(post: PresignedPost, body: Uint8Array, fieldsOverride?: Record<string, string>) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fieldsOverride ?? post.fields)) form.append(k, v);
  form.append('file', new Blob([body], { type: XML }), 'export.xml');
  const res = await fetch(post.url, { method: 'POST', body: form });
  const text = await res.text();
  return { status: res.status, code: errorCode(text) } satisfies S3Answer;
}

async function postChunked(post: PresignedPost, body: Uint8Array): Promise<S3Answer> {
  const { status, text } = await postChunkedForm(post.url, post.fields, body, XML);
  return { status, code: errorCode(text) };
}

function xmlBytes(size: number): Buffer {
  const head = '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData>';
  const tail = '</HealthData>\n';
  assert.ok(size >= head.length + tail.length);
  return Buffer.concat([
    Buffer.from(head),
    Buffer.alloc(size - head.length - tail.length, 0x20),
    Buffer.from(tail),
  ]);
}

describe('createPresignedPost (unit)', () => {
  const now = new Date('2026-11-27T12:34:56.789Z');

  it('builds the fields in order and the policy the backend uses (contract §2.4)', () => {
    const post = createPresignedPost(baseInput({ now, endpoint: 'http://127.0.0.1:9/' }));
    assert.equal(post.url, 'http://127.0.0.1:9/uploads');
    assert.deepEqual(Object.keys(post.fields), [
      'key',
      'Content-Type',
      'bucket',
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'Policy',
      'X-Amz-Signature',
    ]);
    assert.equal(post.fields['X-Amz-Credential'], 'AKIATESTKEY0000000000/20261127/us-east-1/s3/aws4_request');
    assert.equal(post.fields['X-Amz-Date'], '20261127T123456Z');
    assert.match(post.fields['X-Amz-Signature']!, /^[0-9a-f]{64}$/);
    const policy = decodePolicy(post.fields.Policy!);
    assert.equal(policy.expiration, '2026-11-27T12:39:56Z');
    assert.deepEqual(policy.conditions, [
      ['content-length-range', 1, 1024 * 1024],
      { 'Content-Type': XML },
      { bucket: 'uploads' },
      { 'X-Amz-Algorithm': 'AWS4-HMAC-SHA256' },
      { 'X-Amz-Credential': 'AKIATESTKEY0000000000/20261127/us-east-1/s3/aws4_request' },
      { 'X-Amz-Date': '20261127T123456Z' },
      { key: 'user-1/raw/export.xml' },
    ]);
  });

  it('produces the same Policy and signature as @aws-sdk/s3-presigned-post for the same clock', async () => {
    const input = baseInput({ now, maxBytes: 5_000_000, expiresSeconds: 600 });
    const ours = createPresignedPost(input);
    const client = new S3Client({
      endpoint: input.endpoint,
      region: input.region,
      forcePathStyle: true,
      credentials: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey },
    });
    mock.timers.enable({ apis: ['Date'], now });
    let sdk: Awaited<ReturnType<typeof sdkCreatePresignedPost>>;
    try {
      sdk = await sdkCreatePresignedPost(client, {
        Bucket: input.bucket,
        Key: input.key,
        Conditions: [['content-length-range', 1, input.maxBytes], { 'Content-Type': XML }],
        Fields: { 'Content-Type': XML },
        Expires: input.expiresSeconds,
      });
    } finally {
      mock.timers.reset();
      client.destroy();
    }
    assert.equal(sdk.url, ours.url);
    assert.equal(
      Buffer.from(ours.fields.Policy!, 'base64').toString(),
      Buffer.from(sdk.fields.Policy!, 'base64').toString(),
    );
    assert.equal(ours.fields['X-Amz-Signature'], sdk.fields['X-Amz-Signature']);
    assert.deepEqual({ ...ours.fields }, { ...sdk.fields });
  });

  it('binds extra fields with exact-match conditions', () => {
    const post = createPresignedPost(baseInput({ now, extraFields: { success_action_status: '201' } }));
    assert.equal(post.fields.success_action_status, '201');
    assert.deepEqual(decodePolicy(post.fields.Policy!).conditions[2], { success_action_status: '201' });
  });

  it('rejects inputs that would make a contradictory or unusable policy', () => {
    assert.throws(() => createPresignedPost(baseInput({ maxBytes: 0 })), { code: 'INTERNAL' });
    assert.throws(() => createPresignedPost(baseInput({ minBytes: 10, maxBytes: 5 })), { code: 'INTERNAL' });
    assert.throws(() => createPresignedPost(baseInput({ maxBytes: 1.5 })), { code: 'INTERNAL' });
    assert.throws(() => createPresignedPost(baseInput({ key: '' })), { code: 'INTERNAL' });
    assert.throws(() => createPresignedPost(baseInput({ extraFields: { policy: 'x' } })), {
      code: 'INTERNAL',
    });
    assert.throws(() => createPresignedPost(baseInput({ now: new Date(Number.NaN) })), { code: 'INTERNAL' });
  });

  it('verifies its own signature and rejects tampering, a wrong secret and missing fields', () => {
    const post = createPresignedPost(baseInput({ now }));
    const secret = baseInput().secretAccessKey;
    assert.equal(verifyPresignedPostSignature(post.fields, secret), true);
    assert.equal(verifyPresignedPostSignature(post.fields, `${secret}x`), false);
    const sig = post.fields['X-Amz-Signature']!;
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    assert.equal(verifyPresignedPostSignature({ ...post.fields, 'X-Amz-Signature': flipped }, secret), false);
    const bigger = createPresignedPost(baseInput({ now, maxBytes: 2 ** 40 })).fields.Policy!;
    assert.equal(verifyPresignedPostSignature({ ...post.fields, Policy: bigger }, secret), false);
    const otherRegion = post.fields['X-Amz-Credential']!.replace('us-east-1', 'eu-west-1');
    assert.equal(
      verifyPresignedPostSignature({ ...post.fields, 'X-Amz-Credential': otherRegion }, secret),
      false,
    );
    const { Policy: _p, ...noPolicy } = post.fields;
    assert.equal(verifyPresignedPostSignature(noPolicy, secret), false);
    assert.equal(
      verifyPresignedPostSignature({ ...post.fields, 'X-Amz-Algorithm': 'AWS4-HMAC-SHA1' }, secret),
      false,
    );
    assert.equal(
      verifyPresignedPostSignature({ ...post.fields, 'X-Amz-Credential': 'garbage' }, secret),
      false,
    );
  });

  it('accepts boto3-style lowercase field names', () => {
    const post = createPresignedPost(baseInput({ now }));
    const lower = Object.fromEntries(Object.entries(post.fields).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal(verifyPresignedPostSignature(lower, baseInput().secretAccessKey), true);
  });

  it('decodePolicy rejects what is not a policy', () => {
    assert.throws(() => decodePolicy('not base64!'), { code: 'INPUT_INVALID' });
    assert.throws(() => decodePolicy(Buffer.from('{nope').toString('base64')), { code: 'INPUT_INVALID' });
    assert.throws(() => decodePolicy(Buffer.from('[]').toString('base64')), { code: 'INPUT_INVALID' });
    const noConditions = Buffer.from(JSON.stringify({ expiration: '2026-01-01T00:00:00Z' })).toString(
      'base64',
    );
    assert.throws(() => decodePolicy(noConditions), { code: 'INPUT_INVALID' });
    const badDate = Buffer.from(JSON.stringify({ expiration: 'soon', conditions: [] })).toString('base64');
    assert.throws(() => decodePolicy(badDate), { code: 'INPUT_INVALID' });
  });
});

describe('presigned POST against radosgw', () => {
  let rgw: Radosgw;
  let n = 0;
  const presign = (over: Partial<PresignPostInput> = {}) =>
    createPresignedPost({
      endpoint: rgw.endpoint,
      bucket: rgw.bucket,
      region: rgw.region,
      accessKeyId: rgw.accessKeyId,
      secretAccessKey: rgw.secretAccessKey,
      key: `user-1/raw/t${++n}.xml`,
      expiresSeconds: 300,
      contentType: XML,
      maxBytes: 64 * 1024,
      ...over,
    });

  before(async () => {
    rgw = await startRadosgw();
    // Surfaced in the test output so the start time is measured on every CI run.
    console.log(`# radosgw (${rgw.store}) up in ${rgw.startMs} ms after ${rgw.attempts} attempt(s)`);
  });
  after(async () => {
    await rgw?.stop();
  });

  it('(a) a valid upload gets 204 and the object reads back byte-for-byte', async () => {
    const post = presign();
    const body = xmlBytes(40_000);
    assert.deepEqual(await postForm(post, body), { status: 204, code: undefined });
    const stored = await rgw.getObject(post.fields.key!);
    assert.equal(Buffer.compare(stored, body), 0);
  });

  it('(a) success_action_status=201 bound by the policy gets 201', async () => {
    const post = presign({ extraFields: { success_action_status: '201' } });
    assert.deepEqual(await postForm(post, xmlBytes(100)), { status: 201, code: undefined });
  });

  it('(b) a body larger than max gets 400 EntityTooLarge and nothing is stored', async () => {
    const post = presign({ maxBytes: 1024 });
    assert.deepEqual(await postForm(post, xmlBytes(4096)), { status: 400, code: 'EntityTooLarge' });
    await assert.rejects(rgw.getObject(post.fields.key!), { name: 'NoSuchKey' });
  });

  it('(b) an empty file under min 1 gets 400 EntityTooSmall', async () => {
    assert.deepEqual(await postForm(presign(), new Uint8Array(0)), { status: 400, code: 'EntityTooSmall' });
  });

  it('(c) an expired policy gets 403 AccessDenied', async () => {
    const post = presign({ now: new Date(Date.now() - 3_600_000), expiresSeconds: 60 });
    assert.deepEqual(await postForm(post, xmlBytes(100)), { status: 403, code: 'AccessDenied' });
  });

  it('(d) a changed Content-Type field gets 403 AccessDenied', async () => {
    const post = presign();
    const answer = await postForm(post, xmlBytes(100), { ...post.fields, 'Content-Type': 'text/plain' });
    assert.deepEqual(answer, { status: 403, code: 'AccessDenied' });
  });

  it('(e) a tampered signature gets 403', async () => {
    const post = presign();
    const sig = post.fields['X-Amz-Signature']!;
    const tampered = {
      ...post.fields,
      'X-Amz-Signature': `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`,
    };
    // RGW answers AccessDenied where AWS says SignatureDoesNotMatch (doc §5), so only the status is portable.
    assert.equal((await postForm(post, xmlBytes(100), tampered)).status, 403);
  });

  it('(e) a policy signed with the wrong secret gets 403', async () => {
    const post = presign({ secretAccessKey: `${rgw.secretAccessKey}x` });
    assert.equal((await postForm(post, xmlBytes(100))).status, 403);
  });

  it('(f) a chunked POST without Content-Length gets 411 MissingContentLength', async () => {
    assert.deepEqual(await postChunked(presign(), xmlBytes(100)), {
      status: 411,
      code: 'MissingContentLength',
    });
  });

  it("the SDK's presigned POST for the same inputs is accepted too", async () => {
    const client = new S3Client({
      endpoint: rgw.endpoint,
      region: rgw.region,
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    });
    try {
      const sdk = await sdkCreatePresignedPost(client, {
        Bucket: rgw.bucket,
        Key: 'user-1/raw/sdk.xml',
        Conditions: [['content-length-range', 1, 64 * 1024], { 'Content-Type': XML }],
        Fields: { 'Content-Type': XML },
        Expires: 300,
      });
      const answer = await postForm({ url: sdk.url, fields: sdk.fields }, xmlBytes(200));
      assert.deepEqual(answer, { status: 204, code: undefined });
    } finally {
      client.destroy();
    }
  });

  it('verifyPresignedPostSignature agrees with RGW on a SigV2 form (boto3 signature_version=s3)', async () => {
    const key = 'user-1/raw/v2.xml';
    const policy = Buffer.from(
      JSON.stringify({
        expiration: new Date(Date.now() + 300_000).toISOString(),
        conditions: [
          { bucket: rgw.bucket },
          { key },
          { 'Content-Type': XML },
          ['content-length-range', 1, 1024],
        ],
      }),
    ).toString('base64');
    const fields = {
      key,
      'Content-Type': XML,
      AWSAccessKeyId: rgw.accessKeyId,
      policy,
      signature: createHmac('sha1', rgw.secretAccessKey).update(policy).digest('base64'),
    };
    assert.equal(verifyPresignedPostSignature(fields, rgw.secretAccessKey), true);
    const answer = await postForm({ url: `${rgw.endpoint}/${rgw.bucket}`, fields }, xmlBytes(100));
    assert.deepEqual(answer, { status: 204, code: undefined });
    assert.equal(verifyPresignedPostSignature({ ...fields, signature: 'AAAA' }, rgw.secretAccessKey), false);
  });
});
