// Presigned-POST policy enforcement for the sandbox S3 endpoint, answering as AWS S3 does (status, <Code> and
// message texts from s3-testing-with-radosgw.md §4). Radosgw agrees on status and code except for a bad
// signature (it says AccessDenied, AWS SignatureDoesNotMatch — §5); we follow AWS there.
import { AppError } from '../../errors.js';
import { S3_ERRORS, type S3Failure } from './errors.js';
import { decodePolicy, verifyPresignedPostSignature } from './presign.js';

export interface PolicyCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What the file part must satisfy once its size is known. */
export interface AcceptedPost {
  key: string;
  contentType: string | null;
  /** Inclusive byte bounds from every `content-length-range` condition. */
  minBytes: number;
  maxBytes: number;
  /** `success_action_status` as S3 honours it: 200, 201 or 204. */
  successStatus: 200 | 201 | 204;
}

/** Fields that never need a policy condition (AWS POST Object docs; SigV2 forms included). */
const EXEMPT = new Set(['policy', 'x-amz-signature', 'signature', 'awsaccesskeyid', 'file']);

const denied = (message: string): S3Failure => ({ status: 403, code: 'AccessDenied', message });
const invalidPolicy = (message: string): S3Failure => ({
  status: 400,
  code: 'InvalidPolicyDocument',
  message: `Invalid Policy: ${message}`,
});

/** Case-insensitive lookup: form field names are case-insensitive to S3 (boto3 sends `policy`). */
function lookup(fields: Map<string, string>, name: string): string | undefined {
  return fields.get(name.toLowerCase());
}

interface Condition {
  op: 'eq' | 'starts-with' | 'content-length-range';
  field: string;
  value: string;
  min: number;
  max: number;
  /** How S3 prints the condition in a failure message. */
  text: string;
}

function conditionText(parts: unknown[]): string {
  return `[${parts.map((p) => JSON.stringify(p)).join(', ')}]`;
}

function parseCondition(raw: unknown): Condition | S3Failure {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const entries = Object.entries(raw);
    if (entries.length !== 1) {
      return invalidPolicy(
        'Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.',
      );
    }
    const [name, value] = entries[0] as [string, unknown];
    if (typeof value !== 'string') return invalidPolicy('Invalid Simple-Condition: value must be a string.');
    return { op: 'eq', field: name, value, min: 0, max: 0, text: conditionText(['eq', `$${name}`, value]) };
  }
  if (!Array.isArray(raw) || raw.length !== 3) return invalidPolicy('Invalid Condition.');
  const [op, a, b] = raw as [unknown, unknown, unknown];
  if (typeof op !== 'string') return invalidPolicy('Invalid Condition.');
  const lower = op.toLowerCase();
  if (lower === 'content-length-range') {
    const min = Number(a);
    const max = Number(b);
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min < 0 || max < min) {
      return invalidPolicy('Invalid content-length-range condition.');
    }
    return { op: 'content-length-range', field: '', value: '', min, max, text: conditionText(raw) };
  }
  if ((lower === 'eq' || lower === 'starts-with') && typeof a === 'string' && a.startsWith('$')) {
    if (typeof b !== 'string') return invalidPolicy(`Invalid ${lower} condition.`);
    return { op: lower, field: a.slice(1), value: b, min: 0, max: 0, text: conditionText(raw) };
  }
  return invalidPolicy(`Unknown condition: ${JSON.stringify(raw)}`);
}

function accessKeyOf(fields: Map<string, string>): string | undefined {
  const credential = lookup(fields, 'X-Amz-Credential');
  if (credential !== undefined) return credential.split('/')[0];
  return lookup(fields, 'AWSAccessKeyId');
}

/**
 * Checks a POST form's fields (everything before the file part) against its policy, in the order S3 does:
 * signature present, known key, signature, policy document, expiry, conditions, uncovered fields. Returns what
 * the file must satisfy, or the failure to answer with.
 */
export function checkPostForm(
  form: [string, string][],
  bucket: string,
  creds: PolicyCredentials,
  nowMs: number,
): AcceptedPost | S3Failure {
  const fields = new Map<string, string>();
  for (const [name, value] of form) fields.set(name.toLowerCase(), value);
  const policyB64 = lookup(fields, 'Policy');
  const v4sig = lookup(fields, 'X-Amz-Signature');
  const v2sig = lookup(fields, 'signature');

  if (policyB64 === undefined && v4sig === undefined && v2sig === undefined) return denied('Access Denied');
  if (policyB64 === undefined) return denied('Access Denied');
  if (v4sig === undefined && v2sig === undefined) {
    const name = lookup(fields, 'AWSAccessKeyId') !== undefined ? 'Signature' : 'X-Amz-Signature';
    return {
      status: 400,
      code: 'InvalidArgument',
      message: `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`,
      extra: [
        ['ArgumentName', name],
        ['ArgumentValue', ''],
      ],
    };
  }
  const accessKeyId = accessKeyOf(fields);
  if (accessKeyId !== creds.accessKeyId) return S3_ERRORS.invalidAccessKeyId(accessKeyId ?? '');
  if (!verifyPresignedPostSignature(Object.fromEntries(fields), creds.secretAccessKey)) {
    return S3_ERRORS.signatureDoesNotMatch([
      ['AWSAccessKeyId', accessKeyId],
      ['StringToSign', policyB64],
      ['SignatureProvided', v4sig ?? v2sig ?? ''],
    ]);
  }

  let policy: ReturnType<typeof decodePolicy>;
  try {
    policy = decodePolicy(policyB64);
  } catch (err) {
    const message = err instanceof AppError ? err.message.replace(/^Invalid Policy: /, '') : 'Invalid JSON.';
    return invalidPolicy(message);
  }
  if (Date.parse(policy.expiration) <= nowMs) return denied('Invalid according to Policy: Policy expired.');

  const covered = new Set<string>();
  let minBytes = 0;
  let maxBytes = Number.MAX_SAFE_INTEGER;
  for (const raw of policy.conditions) {
    const condition = parseCondition(raw);
    if ('status' in condition) return condition;
    if (condition.op === 'content-length-range') {
      minBytes = Math.max(minBytes, condition.min);
      maxBytes = Math.min(maxBytes, condition.max);
      continue;
    }
    const name = condition.field.toLowerCase();
    covered.add(name);
    // The bucket condition is met by the request's bucket, whether or not a `bucket` field is sent.
    const actual = name === 'bucket' ? bucket : lookup(fields, name);
    const met =
      actual !== undefined &&
      (condition.op === 'eq' ? actual === condition.value : actual.startsWith(condition.value));
    if (!met) return denied(`Invalid according to Policy: Policy Condition failed: ${condition.text}`);
  }
  for (const [name] of form) {
    const lower = name.toLowerCase();
    if (EXEMPT.has(lower) || lower.startsWith('x-ignore-') || covered.has(lower)) continue;
    return denied(`Invalid according to Policy: Extra input fields: ${name}`);
  }

  const key = lookup(fields, 'key');
  if (key === undefined || key === '') {
    return {
      status: 400,
      code: 'InvalidArgument',
      message:
        "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
      extra: [
        ['ArgumentName', 'key'],
        ['ArgumentValue', ''],
      ],
    };
  }
  const status = lookup(fields, 'success_action_status');
  const successStatus = status === '200' ? 200 : status === '201' ? 201 : 204;
  return { key, contentType: lookup(fields, 'Content-Type') ?? null, minBytes, maxBytes, successStatus };
}
