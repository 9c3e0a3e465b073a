// SigV4 presigned POST (browser-based upload) without the AWS SDK: the backend double and `apple-import
// sandbox` need it at runtime, where @aws-sdk is only a devDependency (sigv4.ts says why it is hand-written).
// The policy mirrors what the backend's boto3 call produces (contract §2.4) and is built in the same order as
// @aws-sdk/s3-presigned-post, so for the same inputs and clock the Policy and signature are byte-identical to
// the SDK's.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors.js';
import { sigV4SigningKey } from './sigv4.js';

export interface PresignPostInput {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  key: string;
  expiresSeconds: number;
  /** The backend always uses 'application/xml' (contract §2.4). */
  contentType: string;
  maxBytes: number;
  /** Default 1, as the backend's `content-length-range` (contract §2.4). */
  minBytes?: number;
  now?: Date;
  /** Sent as form fields and bound by exact-match conditions (e.g. success_action_status). */
  extraFields?: Record<string, string>;
}

export interface PresignedPost {
  /** Path-style: `${endpoint}/${bucket}`. */
  url: string;
  /** Send every pair unchanged and in this order, then the file part last (contract §2.2). */
  fields: Record<string, string>;
}

export interface PostPolicy {
  expiration: string;
  conditions: unknown[];
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SERVICE = 's3';
/** Names we set ourselves; an extra field with one of these would make the policy contradict itself. */
const RESERVED = new Set([
  'key',
  'content-type',
  'bucket',
  'policy',
  'file',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-signature',
  'x-amz-security-token',
  'awsaccesskeyid',
  'signature',
]);

/** S3 wants second precision: `2026-11-27T12:00:00Z`. */
function iso8601(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function invalid(message: string): never {
  throw new AppError('INTERNAL', `createPresignedPost: ${message}`);
}

export function createPresignedPost(input: PresignPostInput): PresignedPost {
  const minBytes = input.minBytes ?? 1;
  if (!Number.isSafeInteger(minBytes) || minBytes < 0)
    invalid(`minBytes must be an integer ≥ 0, got ${minBytes}`);
  if (!Number.isSafeInteger(input.maxBytes) || input.maxBytes < minBytes) {
    invalid(`maxBytes must be an integer ≥ minBytes (${minBytes}), got ${input.maxBytes}`);
  }
  if (!Number.isFinite(input.expiresSeconds)) invalid(`expiresSeconds must be finite`);
  if (input.key === '') invalid('key must not be empty');
  if (input.bucket === '') invalid('bucket must not be empty');
  const extra = input.extraFields ?? {};
  for (const name of Object.keys(extra)) {
    if (RESERVED.has(name.toLowerCase())) invalid(`extraFields may not set '${name}'`);
  }

  const now = input.now ?? new Date();
  if (Number.isNaN(now.getTime())) invalid('now is not a valid date');
  const amzDate = iso8601(now).replace(/[-:]/g, '');
  const shortDate = amzDate.slice(0, 8);
  const credential = `${input.accessKeyId}/${shortDate}/${input.region}/${SERVICE}/aws4_request`;
  // Negative expiresSeconds is allowed on purpose: tests need an already-expired policy.
  const expiration = iso8601(new Date(now.getTime() + input.expiresSeconds * 1000));

  // Same order as @aws-sdk/s3-presigned-post: explicit conditions, then one per signed field, then key.
  const signedFields: [string, string][] = [
    ['Content-Type', input.contentType],
    ...Object.entries(extra),
    ['bucket', input.bucket],
    ['X-Amz-Algorithm', ALGORITHM],
    ['X-Amz-Credential', credential],
    ['X-Amz-Date', amzDate],
  ];
  const conditions: unknown[] = [
    ['content-length-range', minBytes, input.maxBytes],
    ...signedFields.map(([k, v]) => ({ [k]: v })),
    { key: input.key },
  ];
  const policy = Buffer.from(JSON.stringify({ expiration, conditions }), 'utf8').toString('base64');
  const signature = hmac(
    sigV4SigningKey(input.secretAccessKey, shortDate, input.region, SERVICE),
    policy,
  ).toString('hex');

  const fields: Record<string, string> = { key: input.key };
  for (const [k, v] of signedFields) fields[k] = v;
  fields.Policy = policy;
  fields['X-Amz-Signature'] = signature;
  return { url: `${input.endpoint.replace(/\/+$/, '')}/${input.bucket}`, fields };
}

/** S3 form-field names are case-insensitive (boto3 sends `policy`, the JS SDK `Policy`). */
function field(fields: Record<string, string>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(fields)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function equalHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks the form's signature over its Policy with the given secret: SigV4 (`X-Amz-Signature` with
 * `X-Amz-Credential`) or SigV2 (`signature`, HMAC-SHA1, which boto3 may emit — contract §2.2). It does not
 * check expiry or conditions; use decodePolicy for those. Malformed input gives false, never a throw.
 */
export function verifyPresignedPostSignature(
  fields: Record<string, string>,
  secretAccessKey: string,
): boolean {
  const policy = field(fields, 'Policy');
  if (policy === undefined || policy === '') return false;
  const v4sig = field(fields, 'X-Amz-Signature');
  if (v4sig !== undefined) {
    if (field(fields, 'X-Amz-Algorithm') !== ALGORITHM) return false;
    const scope = /^[^/]+\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request$/.exec(
      field(fields, 'X-Amz-Credential') ?? '',
    );
    if (!scope) return false;
    const [, shortDate, region, service] = scope as unknown as [string, string, string, string];
    const expected = hmac(sigV4SigningKey(secretAccessKey, shortDate, region, service), policy).toString(
      'hex',
    );
    return equalHex(expected, v4sig.toLowerCase());
  }
  const v2sig = field(fields, 'signature');
  if (v2sig !== undefined) {
    const expected = createHmac('sha1', secretAccessKey).update(policy, 'utf8').digest('base64');
    return equalHex(expected, v2sig);
  }
  return false;
}

/** Decodes a POST policy; throws an AppError whose message reads like S3's InvalidPolicyDocument. */
export function decodePolicy(base64: string): PostPolicy {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw new AppError('INPUT_INVALID', 'Invalid Policy: Invalid base64 encoding.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(base64, 'base64').toString('utf8'));
  } catch (cause) {
    throw new AppError('INPUT_INVALID', 'Invalid Policy: Invalid JSON.', { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AppError('INPUT_INVALID', 'Invalid Policy: Invalid JSON.');
  }
  const { expiration, conditions } = parsed as Record<string, unknown>;
  if (typeof expiration !== 'string' || Number.isNaN(Date.parse(expiration))) {
    throw new AppError('INPUT_INVALID', 'Invalid Policy: Policy missing expiration.');
  }
  if (!Array.isArray(conditions)) {
    throw new AppError('INPUT_INVALID', 'Invalid Policy: Policy missing conditions.');
  }
  return { expiration, conditions };
}
