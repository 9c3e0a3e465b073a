import type { Clock } from '../../../adapters/clock.js';
import type { SyncStatusEvent } from '../../../adapters/sync-api.js';
import { ApiError, AppError, isAbortError } from '../../../errors.js';
import { feedNames } from '../../sync/tracker.js';
import { sendDraining } from '../shared/drain.js';
import { DIRECT_RETRY, isRetryable, retryDelayMs } from '../shared/retry.js';

/**
 * Sends one batch with retries, without ever sending it twice once the server has accepted it: when a
 * response is lost after the whole body went out, the server may have queued the import, so the
 * sync-status feed is searched for the filename before trying again (contract §3.4: each import emits
 * `started` with `metadata.filename`; §9.12: /direct retries are not safe).
 */

export interface SendDeps {
  /**
   * `signal` is the request's own, not the interrupt: it must reach the transport alone (no client-wide
   * signal combined in), or an interrupt would tear down a request this module means to let finish.
   */
  post(
    filename: string,
    body: Buffer,
    progress: { bodySent: boolean },
    signal: AbortSignal,
  ): Promise<{ task_id: string }>;
  recent(limit: number, signal: AbortSignal): Promise<SyncStatusEvent[]>;
  clock: Clock;
  /** The interrupt (Ctrl-C): stops retries and feed checks at once; see `drainMs` for a request in flight. */
  signal: AbortSignal;
  /**
   * After an interrupt, how long to wait for the answer to a request whose body has gone out in full
   * (default 30 s). A second Ctrl-C still exits at once (src/bin.ts).
   */
  drainMs?: number;
  /** Called when an interrupt finds a body sent in full and the answer is awaited. */
  onDrain?(info: { waitMs: number }): void;
  random?: () => number;
  /** Default: the retry policy's (shared/retry.ts). */
  maxAttempts?: number;
  /** How long to look for the file on the feed after a lost answer (the task emits `started` when it runs). */
  acceptanceChecks?: number[];
  onRetry?(info: { attempt: number; delayMs: number; reason: string }): void;
}

export interface SendResult {
  /** null when acceptance was learnt from the feed (the answer carrying it was lost). */
  taskId: string | null;
  attempts: number;
  recoveredFromFeed: boolean;
}

/** What a failed or interrupted sendBatch may have left on the server. */
export interface SendTrack {
  /**
   * Some attempt sent its whole body and ended without a definite answer (lost, a gateway error, or
   * interrupted while waiting): the server may have queued the batch. False means it cannot have it.
   */
  uncertain: boolean;
}

const DEFAULT_CHECKS_MS = [1_000, 2_000, 4_000];

/** Transport failures and gateway errors may hide an accepted upload. */
function mayHaveBeenAccepted(err: unknown, bodySent: boolean): boolean {
  if (!bodySent) return false;
  if (err instanceof ApiError) return err.status === 502 || err.status === 504;
  return err instanceof AppError && (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT');
}

export async function sendBatch(
  deps: SendDeps,
  filename: string,
  body: Buffer,
  track: SendTrack = { uncertain: false },
): Promise<SendResult> {
  const maxAttempts = deps.maxAttempts ?? DIRECT_RETRY.maxAttempts;
  for (let attempt = 1; ; attempt++) {
    deps.signal.throwIfAborted();
    const progress = { bodySent: false };
    try {
      const answer = await post(deps, filename, body, progress);
      return { taskId: answer.task_id, attempts: attempt, recoveredFromFeed: false };
    } catch (err) {
      if (progress.bodySent && (deps.signal.aborted || mayHaveBeenAccepted(err, true)))
        track.uncertain = true;
      // Interrupted: whatever the request ended with, the run stops here.
      if (deps.signal.aborted) throw deps.signal.reason;
      if (isAbortError(err)) throw err;
      if (mayHaveBeenAccepted(err, progress.bodySent) && (await onFeed(deps, filename))) {
        return { taskId: null, attempts: attempt, recoveredFromFeed: true };
      }
      if (!isRetryable(err, DIRECT_RETRY) || attempt >= maxAttempts) throw err;
      const delayMs = retryDelayMs(attempt, err, deps.random);
      deps.onRetry?.({ attempt, delayMs, reason: err instanceof Error ? err.message : String(err) });
      await deps.clock.sleep(delayMs, deps.signal);
    }
  }
}

/**
 * One POST under its own signal. On an interrupt, a request still sending its body is torn down at once:
 * the multipart part is incomplete, so the server cannot have the batch. One whose body went out in full
 * may already be queued (the backend answers 200 only after reading it all, contract §3.2–§3.3), and the
 * answer carries the task id that tells the ledger so; without it the batch stays pending and the next run
 * has to look for it on the feed, which shows it only once its import starts (contract §3.4, §4.3). So that
 * answer is awaited, for `drainMs` at most.
 */
async function post(
  deps: SendDeps,
  filename: string,
  body: Buffer,
  progress: { bodySent: boolean },
): Promise<{ task_id: string }> {
  return sendDraining(
    deps,
    () => progress.bodySent,
    (signal) => deps.post(filename, body, progress, signal),
  );
}

/** Looks for any xml_import event naming the file, waiting between looks for the task to start. */
async function onFeed(deps: SendDeps, filename: string): Promise<boolean> {
  for (const wait of deps.acceptanceChecks ?? DEFAULT_CHECKS_MS) {
    await deps.clock.sleep(wait, deps.signal);
    if (await feedNames(deps.recent, new Set([filename]), deps.signal)) return true;
  }
  return false;
}
