/**
 * The one retry policy for requests an upload makes (presigns, S3 POSTs, direct and SDK batches; §9.12):
 * which failures another attempt may cure, and how long to wait before it, on the injected clock. The
 * methods differ only in what the overrides say.
 */
import { S3UploadError } from '../../../adapters/s3-post.js';
import { ApiError, AppError } from '../../../errors.js';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Statuses retried besides 5xx and 429. */
  alsoStatuses: readonly number[];
}

const BASE_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
/** A Retry-After larger than this is not worth waiting for in an interactive tool. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Every attempt at a part is a presign and a send of up to a whole part. */
export const S3_RETRY: RetryPolicy = { maxAttempts: 5, alsoStatuses: [] };
/**
 * A batch is small, and the backend reads all of it before it answers (contract §3.3), so a proxy's 408
 * on a slow link is worth another try.
 */
export const DIRECT_RETRY: RetryPolicy = { maxAttempts: 6, alsoStatuses: [408] };
/**
 * An SDK batch may be sent again safely (contract §6.3: upserts, workouts ON CONFLICT DO NOTHING), and a
 * current backend that offloads payloads to S3 rejects one it could not store with 503 "Failed to
 * persist payload; please retry." (current page §2.5): a 5xx like any other here.
 */
export const SDK_RETRY: RetryPolicy = { maxAttempts: 6, alsoStatuses: [408] };

export function isRetryable(err: unknown, policy: RetryPolicy): boolean {
  if (err instanceof S3UploadError) return err.retryable;
  if (err instanceof ApiError)
    return err.status >= 500 || err.status === 429 || policy.alsoStatuses.includes(err.status);
  return err instanceof AppError && (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT');
}

/**
 * Before attempt `attempt + 1`: the server's Retry-After when it gives one (capped), otherwise exponential
 * backoff with jitter.
 */
export function retryDelayMs(attempt: number, err: unknown, random: () => number = Math.random): number {
  const after =
    err instanceof S3UploadError || err instanceof ApiError ? (err.retryAfterMs ?? undefined) : undefined;
  if (after !== undefined) return Math.min(Math.max(after, 0), MAX_RETRY_AFTER_MS);
  const base = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}
