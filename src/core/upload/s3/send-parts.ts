/**
 * Sends the planned parts one after another: for every attempt a fresh presign (contract §2), then one
 * streamed POST to S3. Retryable failures (network, 5xx, 429, a stall, an expired policy) back off
 * through the injected clock; policy violations fail at once. A part keeps its filename across attempts,
 * so a retry overwrites the same key and never leaves a duplicate.
 */
import type { Clock } from '../../../adapters/clock.js';
import { type Presign, type PresignRequest, serverCapFrom } from '../../../adapters/import-api.js';
import { ReadPool } from '../../../adapters/read-pool.js';
import { type S3PostOptions, type S3PostResult, S3UploadError } from '../../../adapters/s3-post.js';
import { ApiError, AppError, CancelledError, isAbortError } from '../../../errors.js';
import { formatBytes } from '../../../io/progress.js';
import type { ScanSummary } from '../../reader/types.js';
import { isRetryable, retryDelayMs, S3_RETRY } from '../shared/retry.js';
import { DEFAULT_STALL_TIMEOUT_MS } from '../types.js';
import { checkedBody } from './checked-body.js';
import { partBytes } from './part-bytes.js';
import type { PartSpec } from './part-planner.js';
import type { UploadPlan } from './preflight.js';

/** Assumed worst-case throughput when sizing the policy's lifetime (a slow home uplink). */
const CONSERVATIVE_BYTES_PER_SECOND = 512 * 1024;
/**
 * Bytes per read of a part's file. The buffers are reused (read-pool.ts), so size costs no garbage, and
 * a 1 MiB chunk makes every step of the send (read, repair, write) four times rarer than the readers'
 * 256 KiB: 0.06 s less CPU on a 500 MB upload.
 */
const SEND_CHUNK_BYTES = 1024 * 1024;

/** Contract §2.1: 60–3600 s; long enough for the part at a slow rate plus slack for the presign itself. */
export function expirationFor(bytes: number): number {
  return Math.min(3600, Math.max(60, Math.ceil(bytes / CONSERVATIVE_BYTES_PER_SECOND) + 60));
}

export interface UploadDeps {
  presign(req: PresignRequest, signal: AbortSignal): Promise<Presign>;
  /** One presigned POST (adapters/s3-post.ts). */
  post(opts: S3PostOptions): Promise<S3PostResult>;
  clock: Clock;
  signal: AbortSignal;
  userAgent?: string;
  stallTimeoutMs?: number;
  maxAttempts?: number;
  random?: () => number;
}

export interface PartResult {
  index: number;
  filename: string;
  fileKey: string;
  bucket: string;
  bytes: number;
  durationMs: number;
  attempts: number;
  etag: string | undefined;
  /** For a streamed part: the scan made while sending it (its repairs are reported from this). */
  scan?: ScanSummary;
}

export interface UploadEvents {
  onPresign?(part: PartSpec, attempt: number): void;
  onPartStart?(part: PartSpec, attempt: number): void;
  onPartProgress?(part: PartSpec, sentBytes: number): void;
  onRetry?(part: PartSpec, attempt: number, delayMs: number, err: unknown): void;
  /** Called once a part is stored, before the next one starts (the ledger is written here). */
  onPartDone?(part: PartSpec, result: PartResult): void;
}

/** The server refused our part size; the parts must be planned again for `cap` bytes. */
export class ServerCapError extends AppError {
  constructor(readonly cap: number) {
    super('S3_UPLOAD_FAILED', `The server accepts at most ${formatBytes(cap)} per upload.`);
    this.name = 'ServerCapError';
  }
}

export async function uploadParts(
  deps: UploadDeps,
  plan: UploadPlan,
  filenames: (part: PartSpec) => string,
  skip: ReadonlySet<number>,
  events: UploadEvents = {},
): Promise<PartResult[]> {
  const results: PartResult[] = [];
  for (const part of plan.parts) {
    if (skip.has(part.index)) continue;
    const result = await uploadOne(deps, plan, part, filenames(part), events);
    events.onPartDone?.(part, result);
    results.push(result);
  }
  return results;
}

async function uploadOne(
  deps: UploadDeps,
  plan: UploadPlan,
  part: PartSpec,
  filename: string,
  events: UploadEvents,
): Promise<PartResult> {
  const max = deps.maxAttempts ?? S3_RETRY.maxAttempts;
  for (let attempt = 1; ; attempt++) {
    cancelledCheck(deps.signal);
    try {
      events.onPresign?.(part, attempt);
      const presign = await deps.presign(
        {
          filename,
          expirationSeconds: expirationFor(part.bytes),
          // Contract §2.1: the exact size, never the 50 MiB default; the field's floor is 1024.
          maxFileSize: Math.max(1024, part.bytes),
        },
        deps.signal,
      );
      events.onPartStart?.(part, attempt);
      const started = deps.clock.now();
      let scan: ScanSummary | undefined;
      // Each chunk's buffer is read into again once the socket has written it (read-pool.ts).
      const pool = new ReadPool(SEND_CHUNK_BYTES);
      const file = plan.streamed
        ? checkedBody(plan.source, plan.repair, {
            signal: deps.signal,
            pool,
            ...(plan.checkedBy ? { checkedBy: plan.checkedBy } : {}),
            onScanned: (s) => {
              scan = s;
            },
          })
        : partBytes(plan.source, part.segments, plan.repair, deps.signal, pool);
      const res = await deps.post({
        url: presign.uploadUrl,
        fields: presign.fields,
        filename,
        fileBytes: part.bytes,
        file,
        onChunkWritten: (chunk) => pool.release(chunk),
        signal: deps.signal,
        stallTimeoutMs: deps.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
        onProgress: (n) => events.onPartProgress?.(part, n),
        ...(plan.source.checkUnchanged ? { checkUnchanged: () => plan.source.checkUnchanged!() } : {}),
        ...(deps.userAgent ? { userAgent: deps.userAgent } : {}),
      });
      return {
        index: part.index,
        filename,
        fileKey: presign.fileKey,
        bucket: presign.bucket,
        bytes: part.bytes,
        durationMs: Math.round(deps.clock.now() - started),
        attempts: attempt,
        etag: res.etag,
        ...(scan ? { scan } : {}),
      };
    } catch (err) {
      if (deps.signal.aborted || isAbortError(err)) throw new CancelledError();
      const cap = err instanceof ApiError && err.status === 400 ? serverCapFrom(err.detail) : undefined;
      if (cap !== undefined && cap < part.bytes) throw new ServerCapError(cap);
      if (
        err instanceof ApiError &&
        [400, 403, 404, 503].includes(err.status) &&
        /S3/.test(err.detail ?? '')
      ) {
        throw new AppError('S3_UPLOAD_FAILED', `S3 uploads are not available on this server: ${err.detail}`, {
          hint: 'The backend operator must configure its S3 bucket; or try --method direct.',
          cause: err,
        });
      }
      if (!isRetryable(err, S3_RETRY) || attempt >= max) throw finalError(err, part, attempt);
      const delay = retryDelayMs(attempt, err, deps.random);
      events.onRetry?.(part, attempt, delay, err);
      try {
        await deps.clock.sleep(delay, deps.signal);
      } catch (sleepErr) {
        if (deps.signal.aborted || isAbortError(sleepErr)) throw new CancelledError();
        throw sleepErr;
      }
    }
  }
}

function cancelledCheck(signal: AbortSignal): void {
  if (signal.aborted) throw new CancelledError();
}

function finalError(err: unknown, part: PartSpec, attempts: number): unknown {
  if (!(err instanceof AppError)) return err;
  const where = `part ${part.index}`;
  const after = attempts > 1 ? ` after ${attempts} attempts` : '';
  if (err instanceof S3UploadError) {
    return new S3UploadError(`Uploading ${where} failed${after}: ${err.message}`, {
      ...(err.status !== undefined ? { status: err.status } : {}),
      ...(err.s3Code ? { s3Code: err.s3Code } : {}),
      code: err.code,
      retryable: false,
      cause: err,
      ...(err.hint ? { hint: err.hint } : {}),
      ...(err.details ? { details: err.details } : {}),
    });
  }
  if (attempts > 1) {
    return new AppError(err.code, `Uploading ${where} failed${after}: ${err.message}`, {
      cause: err,
      ...(err.hint ? { hint: err.hint } : {}),
    });
  }
  return err;
}
