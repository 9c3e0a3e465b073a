// S3's error answers: `<Error><Code/><Message/>…</Error>` as application/xml, with the status, code and message
// texts AWS uses (s3-testing-with-radosgw.md §4), so a client's error handling meets the real wording.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** An S3 error answer: HTTP status, `<Code>`, `<Message>` and any extra elements, in order. */
export interface S3Failure {
  status: number;
  code: string;
  message: string;
  extra?: [string, string][];
}

/** After an early error, read at most this much more before dropping the connection (RGW reads ~8 MiB). */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

/** Element text only (never attributes), so quotes stay readable as in AWS's messages. */
export function xmlEscape(s: string): string {
  return s.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}

export function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

export function isS3Failure(x: unknown): x is S3Failure {
  return typeof x === 'object' && x !== null && 'status' in x && 'code' in x;
}

/** Thrown by handlers; the server answers it with sendS3Error. */
export class S3Error extends Error {
  constructor(readonly failure: S3Failure) {
    super(`${failure.code}: ${failure.message}`);
  }
}

export function sendS3Error(res: ServerResponse, failure: S3Failure, resource: string, close = false): void {
  const id = requestId();
  const extra = (failure.extra ?? []).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${failure.code}</Code><Message>${xmlEscape(failure.message)}</Message>${extra}` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${id}</RequestId><HostId>${id}</HostId></Error>`;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(failure.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': id,
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/** Reads and discards what the client is still sending, so it sees our answer rather than a reset. */
export function drain(req: IncomingMessage): void {
  let seen = 0;
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > DRAIN_LIMIT_BYTES) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

/** The failures more than one route answers with, worded as AWS words them. */
export const S3_ERRORS = {
  noSuchBucket: (): S3Failure => ({
    status: 404,
    code: 'NoSuchBucket',
    message: 'The specified bucket does not exist',
  }),
  noSuchKey: (): S3Failure => ({
    status: 404,
    code: 'NoSuchKey',
    message: 'The specified key does not exist.',
  }),
  noSuchUpload: (uploadId: string): S3Failure => ({
    status: 404,
    code: 'NoSuchUpload',
    message:
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    extra: [['UploadId', uploadId]],
  }),
  methodNotAllowed: (): S3Failure => ({
    status: 405,
    code: 'MethodNotAllowed',
    message: 'The specified method is not allowed against this resource.',
  }),
  missingContentLength: (): S3Failure => ({
    status: 411,
    code: 'MissingContentLength',
    message: 'You must provide the Content-Length HTTP header.',
  }),
  malformedXml: (): S3Failure => ({
    status: 400,
    code: 'MalformedXML',
    message: 'The XML you provided was not well-formed or did not validate against our published schema',
  }),
  entityTooLarge: (proposed: number | string, max: number): S3Failure => ({
    status: 400,
    code: 'EntityTooLarge',
    message: 'Your proposed upload exceeds the maximum allowed size',
    extra: [
      ['ProposedSize', String(proposed)],
      ['MaxSizeAllowed', String(max)],
    ],
  }),
  /** A POST form must carry exactly one file part; `count` is how many it had. */
  oneFilePart: (count: number): S3Failure => ({
    status: 400,
    code: 'InvalidArgument',
    message: 'POST requires exactly one file upload per request.',
    extra: [
      ['ArgumentName', 'file'],
      ['ArgumentValue', String(count)],
    ],
  }),
  accessDenied: (): S3Failure => ({ status: 403, code: 'AccessDenied', message: 'Access Denied' }),
  invalidAccessKeyId: (accessKeyId: string): S3Failure => ({
    status: 403,
    code: 'InvalidAccessKeyId',
    message: 'The AWS Access Key Id you provided does not exist in our records.',
    extra: [['AWSAccessKeyId', accessKeyId]],
  }),
  /** `extra` names what the signature was computed over: the POST policy, or the string to sign. */
  signatureDoesNotMatch: (extra: [string, string][]): S3Failure => ({
    status: 403,
    code: 'SignatureDoesNotMatch',
    message:
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    extra,
  }),
  internal: (err: unknown): S3Failure => ({
    status: 500,
    code: 'InternalError',
    message: `We encountered an internal error: ${String(err)}`,
  }),
} as const;
