/**
 * One browser-style POST upload to S3 with a presigned policy (contract §2.2, §2.4, §9.10): every form
 * field unchanged and in order, the file part last, and an exact Content-Length (radosgw answers 411 to
 * a chunked body; s3-testing §3). The file is streamed with backpressure; nothing is buffered beyond
 * one chunk. No backend credential is ever sent here: the policy is the authorization.
 *
 * node:http rather than undici (which every backend call uses): its write callback says when the socket
 * is done with a chunk, so the sender can read the next bytes into the same buffer (onChunkWritten,
 * read-pool.ts). undici's request body gives no such signal, and a fresh buffer per read cost a 500 MB
 * upload 20 full GCs and about half of the sending thread's CPU. One connection per POST (no agent):
 * a part is hundreds of MB, and S3 closes after answering a rejected one anyway.
 */
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError, type AppErrorOptions, type ErrorCode } from '../errors.js';
import { networkError, parseRetryAfter } from './http.js';
import { multipartFraming, newBoundary } from './multipart-form.js';

export interface S3PostOptions extends Omit<S3StreamOptions, 'method' | 'headers' | 'preamble' | 'epilogue'> {
  fields: [string, string][];
  filename: string;
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

export async function postToS3(opts: S3PostOptions): Promise<S3PostResult> {
  const boundary = newBoundary();
  const { preamble, epilogue } = multipartFraming(opts.fields, opts.filename, boundary);
  return streamToS3({
    ...opts,
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    preamble,
    epilogue,
  });
}

/** One streamed request to S3 with an exact Content-Length: a presigned POST, or a part's presigned PUT. */
export interface S3StreamOptions {
  method: 'POST' | 'PUT';
  url: string;
  headers: Record<string, string>;
  /** Bytes before and after `file` (the POST's form framing). */
  preamble?: Buffer;
  epilogue?: Buffer;
  /** Exact bytes `file` yields; Content-Length is computed from it. */
  fileBytes: number;
  file: AsyncIterable<Buffer>;
  signal?: AbortSignal | undefined;
  /** No byte accepted and no answer for this long → a retryable timeout. */
  stallTimeoutMs: number;
  onProgress?(fileBytesSent: number): void;
  /** Each chunk of `file`, once the socket has written it and holds no reference to its bytes. */
  onChunkWritten?(chunk: Buffer): void;
  /**
   * Throws INPUT_CHANGED when the export is no longer the one opened: asked first when `file` turns out
   * longer or shorter than planned, which is what a file that changed under the read looks like.
   */
  checkUnchanged?(): Promise<void>;
  userAgent?: string;
}

export async function streamToS3(opts: S3StreamOptions): Promise<S3PostResult> {
  const preamble = opts.preamble ?? Buffer.alloc(0);
  const epilogue = opts.epilogue ?? Buffer.alloc(0);
  const contentLength = preamble.length + opts.fileBytes + epilogue.length;
  const url = new URL(opts.url);
  const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : null;
  // The presign's schema refuses such URLs already (contract §2.2); never hand one to a transport.
  if (send === null) throw new AppError('INTERNAL', `refusing to upload to a ${url.protocol} URL`);

  const req = send(url, {
    method: opts.method,
    agent: false,
    headers: {
      ...opts.headers,
      'content-length': String(contentLength),
      ...(opts.userAgent ? { 'user-agent': opts.userAgent } : {}),
    },
  });
  const x = new Exchange(req, opts.stallTimeoutMs);
  const onAbort = () => req.destroy(opts.signal?.reason ?? new Error('aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  try {
    let res: IncomingMessage;
    let text: string;
    try {
      await sendBody(x, opts, preamble, epilogue);
      res = await x.answered;
      x.touch();
      text = await readLimited(res, ERROR_BODY_LIMIT).catch((err: unknown) => {
        if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) return '';
        throw err;
      });
    } catch (err) {
      // S3 keeps nothing of a request that did not arrive whole (contract §2.4): never let it complete.
      req.destroy();
      throw transportError(opts.signal?.aborted ? (opts.signal.reason ?? err) : err, url, opts, x.stalled);
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) {
      const header = (h: string) => {
        const v = res.headers[h];
        return Array.isArray(v) ? v[0] : v;
      };
      return {
        status,
        etag: header('etag') ?? xmlTag(text, 'ETag'),
        location: header('location') ?? xmlTag(text, 'Location'),
      };
    }
    // An early rejection arrives before the whole body was sent; the request is over either way.
    req.destroy();
    throw s3ErrorFrom(status, text, parseRetryAfter(res.headers['retry-after']));
  } finally {
    x.close();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** One request's events as state the sending loop can wait on: the answer, a failure, room to write, a stall. */
class Exchange {
  response: IncomingMessage | undefined;
  failure: unknown;
  stalled = false;
  /** The last write filled the socket's buffer: wait for 'drain'. */
  full = false;
  readonly answered: Promise<IncomingMessage>;
  private last = Date.now();
  private wake: (() => void) | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly req: ClientRequest,
    stallTimeoutMs: number,
  ) {
    this.answered = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', (res) => {
        this.response = res;
        this.touch();
        resolve(res);
      });
      req.on('error', (err) => {
        this.failure ??= err;
        reject(err);
        this.notify();
      });
    });
    // Awaited once the body is sent; a failure before that is seen through `failure`.
    this.answered.catch(() => {});
    req.on('drain', () => {
      this.full = false;
      this.touch();
    });
    this.timer = setInterval(
      () => {
        if (Date.now() - this.last > stallTimeoutMs) {
          this.stalled = true;
          req.destroy(new Error('stalled'));
        }
      },
      Math.max(20, Math.min(1000, Math.floor(stallTimeoutMs / 4))),
    );
  }

  /** Progress (bytes accepted, an answer): the stall clock starts again, and the sender may go on. */
  touch(): void {
    this.last = Date.now();
    this.notify();
  }

  /** Whether the sender should stop: S3 has answered (early, a rejection), or the request failed. */
  get over(): boolean {
    return this.response !== undefined || this.failure !== undefined;
  }

  /** Resolves at the next event (drain, answer, failure). */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

/** Writes the framing and the file with backpressure; stops early when S3 answers or the request fails. */
async function sendBody(
  x: Exchange,
  opts: S3StreamOptions,
  preamble: Buffer,
  epilogue: Buffer,
): Promise<void> {
  const req = x.req;
  const written = opts.onChunkWritten;
  if (preamble.length > 0) x.full = !req.write(preamble);
  let sent = 0;
  for await (const chunk of opts.file) {
    while (x.full && !x.over) await x.next();
    if (x.over) break;
    sent += chunk.length;
    if (sent > opts.fileBytes) break;
    x.touch();
    x.full = !req.write(chunk, written ? (err) => (err ? undefined : written(chunk)) : undefined);
    opts.onProgress?.(sent);
  }
  // An answer before the whole body (S3 refusing early) is the outcome, whatever the socket did after it.
  if (x.response !== undefined) return;
  if (x.failure !== undefined) throw x.failure;
  // A size that differs from the plan would make S3 reject or truncate; never send a wrong body.
  if (sent !== opts.fileBytes) {
    // A file that grew or shrank under the read is the likeliest cause: that is the user's to know.
    await opts.checkUnchanged?.();
    throw new AppError(
      'INTERNAL',
      `the part was ${sent > opts.fileBytes ? 'longer' : 'shorter'} than planned (${opts.fileBytes} bytes); did the export change while uploading?`,
    );
  }
  x.touch();
  if (epilogue.length > 0) req.end(epilogue);
  else req.end();
}

function transportError(err: unknown, url: URL, opts: S3StreamOptions, stalled: boolean): unknown {
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

async function readLimited(body: IncomingMessage, limit: number): Promise<string> {
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
