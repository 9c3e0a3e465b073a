/**
 * Sends the parts of a multipart upload that S3 does not have yet, `slots` at a time: URLs are signed in
 * batches as the parts come up; each part is one streamed PUT. A failure another attempt may cure (network,
 * 5xx, SlowDown, a stall, an expired URL) backs off on the injected clock (the one retry policy) and tries
 * again with a freshly signed URL; anything else stops every part in flight and is the run's error.
 */
import type { Clock } from '../../../adapters/clock.js';
import { ReadPool } from '../../../adapters/read-pool.js';
import type { S3PostResult } from '../../../adapters/s3-post.js';
import { S3UploadError } from '../../../adapters/s3-post.js';
import type { S3PutOptions } from '../../../adapters/s3-put.js';
import { AppError, CancelledError, isAbortError } from '../../../errors.js';
import { isRetryable, retryDelayMs, S3_RETRY } from '../shared/retry.js';
import type { PartBodies, PartLayout } from './multipart-body.js';

/** Part numbers signed per `/multipart/sign` call. */
export const SIGN_BATCH = 64;
/** Bytes per read of a part (reused buffers, read-pool.ts). */
const PART_CHUNK_BYTES = 1024 * 1024;

export interface MultipartSendDeps {
  sign(partNumbers: number[], signal: AbortSignal): Promise<Map<number, string>>;
  put(opts: S3PutOptions): Promise<S3PostResult>;
  clock: Clock;
  signal: AbortSignal;
  stallTimeoutMs: number;
  userAgent?: string;
  checkUnchanged?(): Promise<void>;
  maxAttempts?: number;
  random?: () => number;
}

export interface StoredPart {
  number: number;
  bytes: number;
  /** Exactly as S3 returned it, quotes kept. */
  etag: string;
  durationMs: number;
  attempts: number;
}

export interface MultipartSendEvents {
  onStart?(part: PartLayout, attempt: number): void;
  /** Bytes of all parts the transport has taken so far in this run, and how many parts are in flight. */
  onProgress?(sentBytes: number, inFlight: number): void;
  onRetry?(part: PartLayout, attempt: number, delayMs: number, err: unknown): void;
  /** S3 has the part (the ledger is written here). */
  onStored?(part: PartLayout, stored: StoredPart): void;
}

/** S3 no longer knows the upload (404 NoSuchUpload): it was aborted or cleaned up. */
export class UploadGoneError extends AppError {
  constructor(cause: unknown) {
    super('S3_UPLOAD_FAILED', 'S3 no longer knows this multipart upload (NoSuchUpload).', { cause });
    this.name = 'UploadGoneError';
  }
}

export async function sendMultipartParts(
  deps: MultipartSendDeps,
  bodies: PartBodies,
  parts: PartLayout[],
  skip: ReadonlySet<number>,
  events: MultipartSendEvents = {},
): Promise<void> {
  const todo = parts.filter((p) => !skip.has(p.number));
  const stop = new AbortController();
  const signal = AbortSignal.any([deps.signal, stop.signal]);
  const urls = new Map<number, string>();
  let signing: Promise<void> | null = null;
  let sentBytes = 0;
  let inFlight = 0;
  let next = 0;
  let failure: unknown = null;

  /** A URL for `part`: signed with the next parts still to send, one sign call at a time. */
  const urlFor = async (part: PartLayout): Promise<string> => {
    for (;;) {
      const url = urls.get(part.number);
      if (url !== undefined) return url;
      if (signing) {
        await signing;
        continue;
      }
      const from = todo.findIndex((p) => p.number === part.number);
      const batch = [part.number, ...todo.slice(from + 1, from + SIGN_BATCH).map((p) => p.number)].filter(
        (n, i, all) => all.indexOf(n) === i && (n === part.number || !urls.has(n)),
      );
      signing = deps.sign(batch, signal).then((signed) => {
        for (const [n, u] of signed) urls.set(n, u);
      });
      try {
        await signing;
      } finally {
        signing = null;
      }
    }
  };

  const sendOne = async (part: PartLayout): Promise<void> => {
    const max = deps.maxAttempts ?? S3_RETRY.maxAttempts;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new CancelledError();
      let counted = 0;
      try {
        const url = await urlFor(part);
        events.onStart?.(part, attempt);
        const started = deps.clock.now();
        const pool = new ReadPool(PART_CHUNK_BYTES);
        inFlight++;
        let res: S3PostResult;
        try {
          res = await deps.put({
            url,
            fileBytes: part.bytes,
            file: bodies.body(part, attempt, pool),
            onChunkWritten: (chunk) => pool.release(chunk),
            signal,
            stallTimeoutMs: deps.stallTimeoutMs,
            onProgress: (n) => {
              sentBytes += n - counted;
              counted = n;
              events.onProgress?.(sentBytes, inFlight);
            },
            ...(deps.checkUnchanged ? { checkUnchanged: deps.checkUnchanged } : {}),
            ...(deps.userAgent ? { userAgent: deps.userAgent } : {}),
          });
        } finally {
          inFlight--;
        }
        if (!res.etag)
          throw new AppError('S3_UPLOAD_FAILED', `S3 stored part ${part.number} but sent no ETag for it.`, {
            hint: 'A proxy in front of S3 may strip the header; the upload cannot be completed without it.',
          });
        events.onStored?.(part, {
          number: part.number,
          bytes: part.bytes,
          etag: res.etag,
          durationMs: Math.round(deps.clock.now() - started),
          attempts: attempt,
        });
        bodies.release(part);
        return;
      } catch (err) {
        sentBytes -= counted;
        if (signal.aborted || isAbortError(err)) throw deps.signal.aborted ? new CancelledError() : err;
        if (err instanceof S3UploadError && err.s3Code === 'NoSuchUpload') throw new UploadGoneError(err);
        if (!isRetryable(err, S3_RETRY) || attempt >= max) throw finalError(err, part, attempt);
        // The URL may be the reason (expired, or a stall on a connection it pinned): sign it again.
        urls.delete(part.number);
        const delay = retryDelayMs(attempt, err, deps.random);
        events.onRetry?.(part, attempt, delay, err);
        try {
          await deps.clock.sleep(delay, signal);
        } catch (sleepErr) {
          if (signal.aborted || isAbortError(sleepErr))
            throw deps.signal.aborted ? new CancelledError() : sleepErr;
          throw sleepErr;
        }
      }
    }
  };

  const worker = async (): Promise<void> => {
    while (failure === null) {
      const part = todo[next++];
      if (!part) return;
      try {
        await sendOne(part);
      } catch (err) {
        // The first failure is the run's; the others are what stopping it caused.
        if (failure === null) failure = err;
        stop.abort();
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(bodies.slots, todo.length)) }, worker));
  if (failure !== null) throw deps.signal.aborted ? new CancelledError() : failure;
}

function finalError(err: unknown, part: PartLayout, attempts: number): unknown {
  // What the export itself is found to be (broken, changed) is said as it is.
  if (!(err instanceof AppError) || err.code.startsWith('INPUT_')) return err;
  const after = attempts > 1 ? ` after ${attempts} attempts` : '';
  if (err instanceof S3UploadError || attempts > 1)
    return new AppError(err.code, `Uploading part ${part.number} failed${after}: ${err.message}`, {
      cause: err,
      ...(err.hint ? { hint: err.hint } : {}),
      ...(err.details ? { details: err.details } : {}),
    });
  return err;
}
