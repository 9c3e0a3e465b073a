// The hand-written SigV4 (sandbox/s3/sigv4.ts) against references: AWS's published example, and the AWS SDK's
// own presigner for the same request and clock; and the verifier against what the SDK signs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { presignUrl, signRequest, verifyRequest } from '../../../src/sandbox/s3/sigv4.js';

const CREDS = {
  accessKeyId: 'AKIATESTKEY0000000000',
  secretAccessKey: 'testsecret/+key',
  region: 'us-east-1',
};
const ENDPOINT = 'http://127.0.0.1:7480';
const AT = Date.UTC(2026, 11, 1, 12, 0, 0);

function sdkClient() {
  return new S3Client({
    endpoint: ENDPOINT,
    region: CREDS.region,
    forcePathStyle: true,
    credentials: { accessKeyId: CREDS.accessKeyId, secretAccessKey: CREDS.secretAccessKey },
  });
}

/** The request a presigned URL makes, as the sandbox endpoint sees it. */
function incoming(url: string, method = 'PUT') {
  const u = new URL(url);
  return { method, rawUrl: `${u.pathname}${u.search}`, headers: { host: u.host } };
}

describe('SigV4 signing', () => {
  it("reproduces AWS's documented header-signing example (GET Object with a Range)", () => {
    const headers = signRequest({
      method: 'GET',
      url: 'https://examplebucket.s3.amazonaws.com/test.txt',
      headers: { range: 'bytes=0-9' },
      payloadHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      now: Date.UTC(2013, 4, 24),
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      region: 'us-east-1',
    });
    assert.equal(
      headers.authorization,
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('signs an upload_part URL exactly as the AWS SDK does for the same parameters and clock', async () => {
    const key = 'user 1/raw/5f2c-Apple Health+export.xml';
    const sdkUrl = new URL(
      await getSignedUrl(
        sdkClient(),
        new UploadPartCommand({ Bucket: 'uploads', Key: key, UploadId: 'u~1/x', PartNumber: 7 }),
        {
          expiresIn: 86_400,
          signingDate: new Date(AT),
        },
      ),
    );
    // The SDK adds parameters boto3 does not (x-id, checksums, X-Amz-Content-Sha256): sign the same set.
    const extra = [...sdkUrl.searchParams].filter(
      ([k]) => !/^X-Amz-(Algorithm|Credential|Date|Expires|SignedHeaders|Signature)$/.test(k),
    );
    const ours = new URL(
      presignUrl({
        ...CREDS,
        method: 'PUT',
        endpoint: ENDPOINT,
        bucket: 'uploads',
        key,
        query: extra,
        expiresSeconds: 86_400,
        now: AT,
      }),
    );
    assert.equal(ours.pathname, sdkUrl.pathname);
    assert.equal(ours.searchParams.get('X-Amz-Signature'), sdkUrl.searchParams.get('X-Amz-Signature'));
  });

  it('gives boto3-shaped part URLs: operation parameters, then the auth ones, only host signed', () => {
    const url = presignUrl({
      ...CREDS,
      method: 'PUT',
      endpoint: ENDPOINT,
      bucket: 'uploads',
      key: 'u/raw/x.xml',
      query: [
        ['uploadId', 'abc'],
        ['partNumber', '3'],
      ],
      expiresSeconds: 600,
      now: AT,
    });
    assert.match(
      url,
      /^http:\/\/127\.0\.0\.1:7480\/uploads\/u\/raw\/x\.xml\?uploadId=abc&partNumber=3&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIATESTKEY0000000000%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261201T120000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=[0-9a-f]{64}$/,
    );
  });
});

describe('SigV4 verification (what the sandbox S3 endpoint checks on every signed request)', () => {
  const partUrl = () =>
    presignUrl({
      ...CREDS,
      method: 'PUT',
      endpoint: ENDPOINT,
      bucket: 'uploads',
      key: 'u/raw/x.xml',
      query: [
        ['uploadId', 'abc'],
        ['partNumber', '1'],
      ],
      expiresSeconds: 60,
      now: AT,
    });

  it("accepts the SDK's presigned URL and its own, within their lifetime", async () => {
    const sdkUrl = await getSignedUrl(
      sdkClient(),
      new UploadPartCommand({ Bucket: 'uploads', Key: 'a b/c+d.xml', UploadId: 'x', PartNumber: 1 }),
      {
        expiresIn: 900,
        signingDate: new Date(AT),
      },
    );
    assert.deepEqual(verifyRequest(incoming(sdkUrl), CREDS, AT + 899_000), {
      ok: true,
      anonymous: false,
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
    assert.equal(verifyRequest(incoming(partUrl()), CREDS, AT + 60_000).ok, true);
  });

  it('refuses a changed signature, parameter or method as SignatureDoesNotMatch', () => {
    const url = partUrl();
    const sig = new URL(url).searchParams.get('X-Amz-Signature') as string;
    const variants = [
      url.replace(sig, `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`),
      url.replace('partNumber=1', 'partNumber=2'),
      url.replace('/u/raw/x.xml', '/u/raw/y.xml'),
    ];
    for (const v of variants) {
      const r = verifyRequest(incoming(v), CREDS, AT);
      assert.equal(r.ok ? 'ok' : `${r.failure.status} ${r.failure.code}`, '403 SignatureDoesNotMatch', v);
    }
    const asGet = verifyRequest(incoming(url, 'GET'), CREDS, AT);
    assert.equal(asGet.ok, false);
    const wrongSecret = verifyRequest(incoming(url), { ...CREDS, secretAccessKey: 'other' }, AT);
    assert.equal(wrongSecret.ok ? '' : wrongSecret.failure.code, 'SignatureDoesNotMatch');
  });

  it('refuses an expired URL with 403 AccessDenied "Request has expired", and other keys and lifetimes', () => {
    const expired = verifyRequest(incoming(partUrl()), CREDS, AT + 61_000);
    assert.ok(!expired.ok);
    assert.deepEqual(
      [expired.failure.status, expired.failure.code, expired.failure.message],
      [403, 'AccessDenied', 'Request has expired'],
    );
    const otherKey = verifyRequest(incoming(partUrl()), { ...CREDS, accessKeyId: 'AKIAOTHER' }, AT);
    assert.equal(otherKey.ok ? '' : otherKey.failure.code, 'InvalidAccessKeyId');
    const week = presignUrl({
      ...CREDS,
      method: 'GET',
      endpoint: ENDPOINT,
      bucket: 'b',
      key: 'k',
      expiresSeconds: 604_801,
      now: AT,
    });
    const tooLong = verifyRequest(incoming(week, 'GET'), CREDS, AT);
    assert.equal(
      tooLong.ok ? '' : `${tooLong.failure.status} ${tooLong.failure.code}`,
      '400 AuthorizationQueryParametersError',
    );
  });

  it('verifies a header-signed request and refuses one whose clock is off by more than 15 minutes', () => {
    const url = `${ENDPOINT}/uploads/u/raw/x.xml?uploadId=abc`;
    const headers = signRequest({ ...CREDS, method: 'GET', url, payloadHash: 'UNSIGNED-PAYLOAD', now: AT });
    const req = {
      method: 'GET',
      rawUrl: '/uploads/u/raw/x.xml?uploadId=abc',
      headers: { ...headers, host: '127.0.0.1:7480' },
    };
    assert.equal(verifyRequest(req, CREDS, AT + 60_000).ok, true);
    const skewed = verifyRequest(req, CREDS, AT + 16 * 60_000);
    assert.equal(skewed.ok ? '' : skewed.failure.code, 'RequestTimeTooSkewed');
    const tampered = verifyRequest({ ...req, rawUrl: '/uploads/u/raw/x.xml?uploadId=abd' }, CREDS, AT);
    assert.equal(tampered.ok ? '' : tampered.failure.code, 'SignatureDoesNotMatch');
  });

  it('lets an unsigned request through as anonymous (the server decides what that may do)', () => {
    assert.deepEqual(verifyRequest({ method: 'GET', rawUrl: '/b/k', headers: {} }, CREDS, AT), {
      ok: true,
      anonymous: true,
      payloadHash: 'UNSIGNED-PAYLOAD',
    });
  });
});
