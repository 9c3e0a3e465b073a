// AWS Signature Version 4 for S3, both ends: signing (presigned query URLs as boto3's generate_presigned_url
// makes them, and Authorization headers for the double's own S3 calls) and verifying what the sandbox S3
// endpoint receives. Hand-written rather than @smithy/signature-v4 because the shipped sandbox needs it at
// runtime, where the AWS SDK is only a devDependency, and because the server side has to rebuild the canonical
// request from an incoming request, which a signer library does not offer. Tests pin it to the SDK's signer.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { S3_ERRORS, type S3Failure } from './errors.js';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SERVICE = 's3';
/** S3 refuses a presigned URL that lives longer than a week. */
export const MAX_PRESIGN_SECONDS = 604_800;
/** S3 refuses a header-signed request whose date is further than this from its clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The SigV4 signing-key chain: date → region → service → "aws4_request". */
export function sigV4SigningKey(secretAccessKey: string, shortDate: string, region: string, service: string) {
  const kDate = hmac(`AWS4${secretAccessKey}`, shortDate);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, 'aws4_request');
}

/** `20261201T120000Z` */
export function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/** RFC 3986 percent-encoding as SigV4 wants it; `/` kept when encoding a path. */
export function uriEncode(s: string, keepSlash = false): string {
  const encoded = encodeURIComponent(s).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replaceAll('%2F', '/') : encoded;
}

/** Path-style object path: `/bucket/key` with the key encoded segment by segment. */
export function objectPath(bucket: string, key: string): string {
  return `/${uriEncode(bucket)}${key === '' ? '' : `/${uriEncode(key, true)}`}`;
}

function canonicalQuery(pairs: readonly (readonly [string, string])[]): string {
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function canonicalRequest(
  method: string,
  path: string,
  query: readonly (readonly [string, string])[],
  headers: ReadonlyMap<string, string>,
  signedHeaders: readonly string[],
  payloadHash: string,
): string {
  const headerLines = signedHeaders.map(
    (h) => `${h}:${(headers.get(h) ?? '').trim().replace(/\s+/g, ' ')}\n`,
  );
  return [
    method,
    path,
    canonicalQuery(query),
    headerLines.join(''),
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
}

function stringToSign(date: string, scope: string, canonical: string): string {
  return [ALGORITHM, date, scope, sha256Hex(canonical)].join('\n');
}

function signature(secret: string, date: string, region: string, toSign: string): string {
  return hmac(sigV4SigningKey(secret, date.slice(0, 8), region, SERVICE), toSign).toString('hex');
}

export interface PresignUrlInput extends SigV4Credentials {
  method: 'GET' | 'PUT' | 'HEAD' | 'DELETE' | 'POST';
  /** Scheme, host and port, e.g. `http://127.0.0.1:9000`. */
  endpoint: string;
  bucket: string;
  key: string;
  /** The operation's own parameters, e.g. `partNumber` and `uploadId` for UploadPart. */
  query?: readonly (readonly [string, string])[];
  expiresSeconds: number;
  now: number;
}

/**
 * A presigned path-style URL, as boto3's `generate_presigned_url` builds it: the operation's parameters, then
 * the `X-Amz-*` ones, only `host` signed and the payload unsigned.
 */
export function presignUrl(input: PresignUrlInput): string {
  const base = new URL(input.endpoint);
  const date = amzDate(input.now);
  const scope = `${date.slice(0, 8)}/${input.region}/${SERVICE}/aws4_request`;
  const params: [string, string][] = [
    ...(input.query ?? []).map(([k, v]) => [k, v] as [string, string]),
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', `${input.accessKeyId}/${scope}`],
    ['X-Amz-Date', date],
    ['X-Amz-Expires', String(input.expiresSeconds)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const path = objectPath(input.bucket, input.key);
  const headers = new Map([['host', base.host]]);
  const canonical = canonicalRequest(input.method, path, params, headers, ['host'], UNSIGNED_PAYLOAD);
  const sig = signature(input.secretAccessKey, date, input.region, stringToSign(date, scope, canonical));
  const query = [...params, ['X-Amz-Signature', sig] as const].map(
    ([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`,
  );
  return `${base.origin}${path}?${query.join('&')}`;
}

export interface SignRequestInput extends SigV4Credentials {
  method: string;
  /** The full URL (path-style), query included. */
  url: string;
  /** Extra headers to send and sign (lowercase names). */
  headers?: Record<string, string>;
  /** The body's SHA-256 in hex, or UNSIGNED-PAYLOAD. */
  payloadHash: string;
  now: number;
}

/** The headers (Authorization, X-Amz-Date, X-Amz-Content-Sha256 and the given ones) for a header-signed request. */
export function signRequest(input: SignRequestInput): Record<string, string> {
  const url = new URL(input.url);
  const date = amzDate(input.now);
  const scope = `${date.slice(0, 8)}/${input.region}/${SERVICE}/aws4_request`;
  const headers = new Map<string, string>([
    ['host', url.host],
    ['x-amz-content-sha256', input.payloadHash],
    ['x-amz-date', date],
    ...Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as [string, string]),
  ]);
  const signed = [...headers.keys()].sort();
  const canonical = canonicalRequest(
    input.method,
    uriEncode(safeDecode(url.pathname), true),
    parseQuery(url.search.slice(1)),
    headers,
    signed,
    input.payloadHash,
  );
  const sig = signature(input.secretAccessKey, date, input.region, stringToSign(date, scope, canonical));
  const out: Record<string, string> = Object.fromEntries([...headers].filter(([k]) => k !== 'host'));
  out.authorization = `${ALGORITHM} Credential=${input.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}`;
  return out;
}

/** `a=1&b=%2F` → pairs, percent-decoded; `+` stays `+` (S3 does not read it as a space). */
export function parseQuery(raw: string): [string, string][] {
  if (raw === '') return [];
  return raw.split('&').map((piece) => {
    const eq = piece.indexOf('=');
    const k = eq < 0 ? piece : piece.slice(0, eq);
    const v = eq < 0 ? '' : piece.slice(eq + 1);
    return [safeDecode(k), safeDecode(v)];
  });
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** What the verifier needs of a request. */
export interface IncomingSigned {
  method: string;
  /** The request target as sent: path and query, still percent-encoded. */
  rawUrl: string;
  headers: Record<string, string | string[] | undefined>;
}

export type Verified =
  | { ok: true; anonymous: boolean; payloadHash: string }
  | { ok: false; failure: S3Failure };

const deny = (failure: S3Failure): Verified => ({ ok: false, failure });

function signatureMismatch(
  accessKeyId: string,
  toSign: string,
  provided: string,
  canonical: string,
): Verified {
  return deny(
    S3_ERRORS.signatureDoesNotMatch([
      ['AWSAccessKeyId', accessKeyId],
      ['StringToSign', toSign],
      ['SignatureProvided', provided],
      ['CanonicalRequest', canonical],
    ]),
  );
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(req: IncomingSigned, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * Checks a request's SigV4 signature (query-string or Authorization header) and, for a presigned URL, its
 * expiry, answering as S3 does: 403 SignatureDoesNotMatch, 403 AccessDenied "Request has expired",
 * 403 InvalidAccessKeyId, 400 AuthorizationQueryParametersError. A request with neither is anonymous.
 * For a header-signed request with a payload hash, the caller must check the body against `payloadHash`.
 */
export function verifyRequest(req: IncomingSigned, creds: SigV4Credentials, nowMs: number): Verified {
  const q = req.rawUrl.indexOf('?');
  const rawPath = q < 0 ? req.rawUrl : req.rawUrl.slice(0, q);
  const query = parseQuery(q < 0 ? '' : req.rawUrl.slice(q + 1));
  const path = uriEncode(safeDecode(rawPath), true);
  const get = (name: string) => query.find(([k]) => k === name)?.[1];
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) headers.set(k.toLowerCase(), Array.isArray(v) ? v.join(',') : v);
  }
  const authorization = header(req, 'authorization');

  if (get('X-Amz-Signature') !== undefined || get('X-Amz-Algorithm') !== undefined) {
    const queryError = (message: string): Verified =>
      deny({ status: 400, code: 'AuthorizationQueryParametersError', message });
    if (get('X-Amz-Algorithm') !== ALGORITHM) {
      return queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    }
    const credential = get('X-Amz-Credential') ?? '';
    const date = get('X-Amz-Date') ?? '';
    const expires = get('X-Amz-Expires') ?? '';
    const signedHeaders = (get('X-Amz-SignedHeaders') ?? '').split(';').filter(Boolean);
    const provided = get('X-Amz-Signature') ?? '';
    const scope = /^([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request$/.exec(credential);
    if (!scope || !/^\d{8}T\d{6}Z$/.test(date) || !/^\d+$/.test(expires) || signedHeaders.length === 0) {
      return queryError(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    if (Number(expires) > MAX_PRESIGN_SECONDS) {
      return queryError('X-Amz-Expires must be less than a week (in seconds) that is; 604800');
    }
    const [, accessKeyId, shortDate, region] = scope as unknown as [string, string, string, string];
    if (accessKeyId !== creds.accessKeyId) return invalidAccessKey(accessKeyId);
    const signedAt = Date.UTC(
      Number(date.slice(0, 4)),
      Number(date.slice(4, 6)) - 1,
      Number(date.slice(6, 8)),
      Number(date.slice(9, 11)),
      Number(date.slice(11, 13)),
      Number(date.slice(13, 15)),
    );
    const unsigned = query.filter(([k]) => k !== 'X-Amz-Signature');
    const payloadHash = get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD;
    const canonical = canonicalRequest(req.method, path, unsigned, headers, signedHeaders, payloadHash);
    const toSign = stringToSign(date, `${shortDate}/${region}/s3/aws4_request`, canonical);
    // S3 checks the signature before the expiry: a tampered expired URL is a signature error.
    if (
      shortDate !== date.slice(0, 8) ||
      !equalHex(signature(creds.secretAccessKey, date, region, toSign), provided)
    ) {
      return signatureMismatch(accessKeyId, toSign, provided, canonical);
    }
    const expiresAt = signedAt + Number(expires) * 1000;
    if (nowMs > expiresAt) {
      return deny({
        status: 403,
        code: 'AccessDenied',
        message: 'Request has expired',
        extra: [
          ['X-Amz-Expires', expires],
          ['Expires', new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z')],
          ['ServerTime', new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z')],
        ],
      });
    }
    return { ok: true, anonymous: false, payloadHash };
  }

  if (authorization !== undefined) {
    const m =
      /^AWS4-HMAC-SHA256\s+Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$/.exec(
        authorization.trim(),
      );
    if (!m) {
      return deny({
        status: 400,
        code: 'AuthorizationHeaderMalformed',
        message:
          'The authorization header is malformed; the authorization header requires three components: Credential, SignedHeaders, and Signature.',
      });
    }
    const [, accessKeyId, shortDate, region, signed, provided] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (accessKeyId !== creds.accessKeyId) return invalidAccessKey(accessKeyId);
    const date = headers.get('x-amz-date') ?? '';
    const payloadHash = headers.get('x-amz-content-sha256');
    if (payloadHash === undefined) {
      return deny({
        status: 400,
        code: 'InvalidRequest',
        message: 'Missing required header for this request: x-amz-content-sha256',
      });
    }
    if (payloadHash !== UNSIGNED_PAYLOAD && !/^[0-9a-f]{64}$/.test(payloadHash)) {
      return deny({
        status: 400,
        code: 'InvalidArgument',
        message: 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.',
      });
    }
    const signedHeaders = signed.split(';');
    const canonical = canonicalRequest(req.method, path, query, headers, signedHeaders, payloadHash);
    const toSign = stringToSign(date, `${shortDate}/${region}/s3/aws4_request`, canonical);
    if (
      !/^\d{8}T\d{6}Z$/.test(date) ||
      !equalHex(signature(creds.secretAccessKey, date, region, toSign), provided)
    ) {
      return signatureMismatch(accessKeyId, toSign, provided, canonical);
    }
    const at = Date.parse(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    if (Math.abs(nowMs - at) > MAX_SKEW_MS) {
      return deny({
        status: 403,
        code: 'RequestTimeTooSkewed',
        message: 'The difference between the request time and the current time is too large.',
      });
    }
    return { ok: true, anonymous: false, payloadHash };
  }
  return { ok: true, anonymous: true, payloadHash: UNSIGNED_PAYLOAD };
}

function invalidAccessKey(accessKeyId: string): Verified {
  return deny(S3_ERRORS.invalidAccessKeyId(accessKeyId));
}
