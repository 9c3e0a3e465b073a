import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3UploadError } from '../../../../src/adapters/s3-post.js';
import {
  DIRECT_RETRY,
  isRetryable,
  retryDelayMs,
  S3_RETRY,
} from '../../../../src/core/upload/shared/retry.js';
import { ApiError, AppError } from '../../../../src/errors.js';

describe('retry policy', () => {
  it('retries 5xx, 429, network errors and timeouts for every method; 408 only for direct batches', () => {
    for (const policy of [S3_RETRY, DIRECT_RETRY]) {
      assert.ok(isRetryable(new ApiError(503, 'x'), policy));
      assert.ok(isRetryable(new ApiError(429, 'x'), policy));
      assert.ok(isRetryable(new AppError('NETWORK_ERROR', 'x'), policy));
      assert.ok(isRetryable(new AppError('TIMEOUT', 'x'), policy));
      assert.ok(!isRetryable(new ApiError(400, 'x'), policy));
      assert.ok(!isRetryable(new ApiError(401, 'x'), policy));
      assert.ok(!isRetryable(new Error('bug'), policy));
    }
    assert.ok(isRetryable(new ApiError(408, 'x'), DIRECT_RETRY));
    assert.ok(!isRetryable(new ApiError(408, 'x'), S3_RETRY));
    assert.ok(isRetryable(new S3UploadError('x', { retryable: true }), S3_RETRY));
    assert.ok(!isRetryable(new S3UploadError('x', { retryable: false }), S3_RETRY));
    assert.ok(S3_RETRY.maxAttempts < DIRECT_RETRY.maxAttempts);
  });

  it('backs off exponentially with jitter, capped; a Retry-After replaces it, capped at 5 minutes', () => {
    const low = () => 0;
    const high = () => 0.999999;
    assert.equal(retryDelayMs(1, new ApiError(503, 'x'), low), 500);
    assert.equal(retryDelayMs(1, new ApiError(503, 'x'), high), 1000);
    assert.equal(retryDelayMs(3, new ApiError(503, 'x'), high), 4000);
    assert.equal(retryDelayMs(20, new ApiError(503, 'x'), high), 30_000);
    assert.equal(retryDelayMs(4, new ApiError(503, 'x', { retryAfterMs: 0 }), high), 0);
    assert.equal(retryDelayMs(1, new ApiError(429, 'x', { retryAfterMs: 7000 }), low), 7000);
    assert.equal(
      retryDelayMs(1, new S3UploadError('x', { retryable: true, retryAfterMs: 3_600_000 }), low),
      300_000,
    );
  });
});
