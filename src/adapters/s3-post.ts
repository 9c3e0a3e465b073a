/**
 * One browser-style POST upload to S3 with a presigned policy (contract §2.2, §2.4, §9.10): every form
 * field unchanged and in order, the file part last, and an exact Content-Length (radosgw answers 411 to
 * a chunked body; s3-testing §3). The file is streamed with backpressure; nothing is buffered beyond
 * one chunk. No backend credential is ever sent here: the policy is the authorization.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { type Dispatcher, request } from 'undici';
import { AppError, type AppErrorOptions, type ErrorCode } from '../errors.js';
import { networkError, parseRetryAfter } from './http.js';

export interface S3PostOptions {
  url: string;
  fields: [string, string][];
  filename: string;
  /** Exact bytes `file` yields; Content-Length is computed from it. */
  fileBytes: number;
  file: AsyncIterable<Buffer>;
  dispatcher?: Dispatcher | undefined;
  signal?: AbortSignal | undefined;
  /** No byte accepted and no answer for this long → a retryable timeout. */
  stallTimeoutMs: number;
  onProgress?(fileBytesSent: number): void;
  userAgent?: string;
}

export interface S3PostResult {
  status: number;
  etag: string | undefined;
  location: string | undefined;
}

/** An upload that S3 refused or that did not complete; `retryable` says whether a fresh presign may help. */
export class S3UploadError extends AppError {
  readonly status: number | undefined;
  readonly s3Code: string | undefined;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    opts: AppErrorOptions & {
      code?: ErrorCode;
      status?: number;
      s3Code?: string;
      retryable: boolean;
      retryAfterMs?: number | undefined;
    },
  ) {
    super(opts.code ?? 'S3_UPLOAD_FAILED', message, opts);
    this.name = 'S3UploadError';
    this.status = opts.status;
    this.s3Code = opts.s3Code;
    this.retryable = opts.retryable;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

const ERROR_BODY_LIMIT = 64 * 1024;

function quoteName(s: string): string {
  return s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** The multipart framing around the file; exported for tests and the size arithmetic. */
export function multipartFraming(
  fields: [string, string][],
  filename: string,
  boundary: string,
): { preamble: Buffer; epilogue: Buffer } {
  let head = '';
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoteName(name)}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteName(filename)}"\r\nContent-Type: application/xml\r\n\r\n`;
  return { preamble: Buffer.from(head, 'utf8'), epilogue: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
}

export async function postToS3(opts: S3PostOptions): Promise<S3PostResult> {
  const boundary = `----apple-import-${randomBytes(12).toString('hex')}`;
  const { preamble, epilogue } = multipartFraming(opts.fields, opts.filename, boundary);
  const contentLength = preamble.length + opts.fileBytes + epilogue.length;
  const url = new URL(opts.url);

  let last = Date.now();
  let stalled = false;
  const watchdog = new AbortController();
  const timer = setInterval(
    () => {
      if (Date.now() - last > opts.stallTimeoutMs) {
        stalled = true;
        watchdog.abort(new Error('stalled'));
      }
    },
    Math.max(20, Math.min(1000, Math.floor(opts.stallTimeoutMs / 4))),
  );
  const signal = opts.signal ? AbortSignal.any([opts.signal, watchdog.signal]) : watchdog.signal;

  async function* body(): AsyncGenerator<Buffer> {
    yield preamble;
    let sent = 0;
    for await (const chunk of opts.file) {
      sent += chunk.length;
      if (sent > opts.fileBytes) break;
      last = Date.now();
      yield chunk;
      opts.onProgress?.(sent);
    }
    // A size that differs from the plan would make S3 reject or truncate; never send a wrong body.
    if (sent !== opts.fileBytes) {
      throw new AppError(
        'INTERNAL',
        `the part was ${sent > opts.fileBytes ? 'longer' : 'shorter'} than planned (${opts.fileBytes} bytes); did the export change while uploading?`,
      );
    }
    last = Date.now();
    yield epilogue;
  }

  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(contentLength),
        ...(opts.userAgent ? { 'user-agent': opts.userAgent } : {}),
      },
      body: Readable.from(body(), { objectMode: false, highWaterMark: 1 }),
      signal,
      dispatcher: opts.dispatcher,
      headersTimeout: 0,
      bodyTimeout: opts.stallTimeoutMs,
    });
  } catch (err) {
    clearInterval(timer);
    throw transportError(err, url, opts, stalled);
  }
  clearInterval(timer);

  let text: string;
  try {
    text = await readLimited(res.body, ERROR_BODY_LIMIT);
  } catch (err) {
    if (res.statusCode >= 200 && res.statusCode < 300) text = '';
    else throw transportError(err, url, opts, stalled);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) {
    const header = (h: string) => {
      const v = res.headers[h];
      return Array.isArray(v) ? v[0] : v;
    };
    return {
      status: res.statusCode,
      etag: header('etag') ?? xmlTag(text, 'ETag'),
      location: header('location') ?? xmlTag(text, 'Location'),
    };
  }
  throw s3ErrorFrom(res.statusCode, text, parseRetryAfter(res.headers['retry-after']));
}

function transportError(err: unknown, url: URL, opts: S3PostOptions, stalled: boolean): unknown {
  if (opts.signal?.aborted) return err;
  if (err instanceof AppError) return err;
  if (stalled) {
    return new S3UploadError(
      `${url.origin} accepted no data and sent no answer for ${Math.round(opts.stallTimeoutMs / 1000)} s.`,
      {
        code: 'TIMEOUT',
        retryable: true,
        cause: err,
      },
    );
  }
  const wrapped = networkError(err, url);
  const message = wrapped instanceof Error ? wrapped.message : String(wrapped);
  return new S3UploadError(message, { code: 'NETWORK_ERROR', retryable: true, cause: err });
}

async function readLimited(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    if (n < limit) parts.push(b.subarray(0, limit - n));
    n += b.length;
  }
  return Buffer.concat(parts).toString('utf8');
}

function xmlTag(text: string, tag: string): string | undefined {
  const m = text.match(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'i'));
  return m ? decodeXmlText(m[1]!.trim()) : undefined;
}

function decodeXmlText(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

const EXPLAIN: Record<string, string> = {
  EntityTooLarge: 'the file is larger than the presigned policy allows',
  EntityTooSmall: 'the file is smaller than the presigned policy allows',
  MissingContentLength: 'the request had no Content-Length (a bug in apple-import)',
  SignatureDoesNotMatch: 'the backend’s S3 credentials do not match the bucket',
  InvalidAccessKeyId: 'the backend’s S3 access key is unknown to S3',
  InvalidPolicyDocument: 'the backend produced an invalid upload policy',
};

/** S3's `<Error><Code/><Message/></Error>` (s3-testing §4) as an error; decides whether a retry may help. */
export function s3ErrorFrom(status: number, text: string, retryAfterMs?: number): S3UploadError {
  const s3Code = xmlTag(text, 'Code');
  const s3Message = xmlTag(text, 'Message');
  const what = [s3Code, s3Message].filter(Boolean).join(': ') || `HTTP ${status}`;
  const expired = s3Code === 'AccessDenied' && /expired/i.test(s3Message ?? '');
  const retryable =
    status >= 500 || status === 429 || expired || s3Code === 'RequestTimeout' || s3Code === 'SlowDown';
  const explanation = s3Code ? EXPLAIN[s3Code] : undefined;
  const hint = expired
    ? 'The presigned policy expired before the upload finished.'
    : s3Code === 'AccessDenied'
      ? 'S3 refused the upload policy (a form field, key or signature did not match); check the backend’s S3 settings.'
      : explanation;
  return new S3UploadError(`S3 rejected the upload (${status}): ${what}`, {
    status,
    ...(s3Code ? { s3Code } : {}),
    retryable,
    retryAfterMs,
    ...(hint ? { hint } : {}),
    details: text.slice(0, 1000),
  });
}
