/** Which failures a fresh presign and another attempt may cure, and how long to wait (contract §9.12). */
import { S3UploadError } from '../../../adapters/s3-post.js';
import { ApiError, AppError } from '../../../errors.js';

export const DEFAULT_MAX_ATTEMPTS = 5;
const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
/** A Retry-After larger than this is not worth waiting for in an interactive tool. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

export function isRetryable(err: unknown): boolean {
  if (err instanceof S3UploadError) return err.retryable;
  if (err instanceof ApiError) return err.status >= 500 || err.status === 429;
  return err instanceof AppError && (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT');
}

/** Exponential backoff with jitter; a server's Retry-After wins when it says to wait longer. */
export function retryDelayMs(attempt: number, err: unknown, random: () => number = Math.random): number {
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  const jittered = Math.round(base / 2 + (random() * base) / 2);
  const after =
    err instanceof S3UploadError || err instanceof ApiError ? (err.retryAfterMs ?? undefined) : undefined;
  return after === undefined ? jittered : Math.max(jittered, Math.min(after, MAX_RETRY_AFTER_MS));
}
