/**
 * Sends one SDK batch with the one retry policy (shared/retry.ts SDK_RETRY). Re-sending a batch is safe
 * (contract §6.3), so a lost answer is simply retried. An interrupt does not tear down a request in
 * flight: the route answers as soon as it has read the body, and that answer is what lets the ledger
 * record the batch, so a re-run does not send it again; it is awaited for `drainMs` at most.
 */
import type { Clock } from '../../../adapters/clock.js';
import { isAbortError } from '../../../errors.js';
import { sendDraining } from '../shared/drain.js';
import { isRetryable, retryDelayMs, SDK_RETRY } from '../shared/retry.js';

export interface SdkSendDeps {
  post(body: Buffer, requestId: string, signal: AbortSignal): Promise<unknown>;
  clock: Clock;
  /** The interrupt. */
  signal: AbortSignal;
  drainMs?: number;
  onDrain?(info: { waitMs: number }): void;
  onRetry?(info: { attempt: number; delayMs: number; reason: string }): void;
  random?: () => number;
  maxAttempts?: number;
}

/** The number of attempts it took; throws the last error, or the interrupt's reason. */
export async function sendSdkBatch(deps: SdkSendDeps, body: Buffer, requestId: string): Promise<number> {
  const maxAttempts = deps.maxAttempts ?? SDK_RETRY.maxAttempts;
  for (let attempt = 1; ; attempt++) {
    deps.signal.throwIfAborted();
    try {
      await post(deps, body, requestId);
      return attempt;
    } catch (err) {
      if (deps.signal.aborted) throw deps.signal.reason;
      if (isAbortError(err)) throw err;
      if (!isRetryable(err, SDK_RETRY) || attempt >= maxAttempts) throw err;
      const delayMs = retryDelayMs(attempt, err, deps.random);
      deps.onRetry?.({ attempt, delayMs, reason: err instanceof Error ? err.message : String(err) });
      await deps.clock.sleep(delayMs, deps.signal);
    }
  }
}

/** The route answers once it has read the body, so a request in flight is always worth its answer. */
function post(deps: SdkSendDeps, body: Buffer, requestId: string): Promise<unknown> {
  return sendDraining(
    deps,
    () => true,
    (signal) => deps.post(body, requestId, signal),
  );
}
