/**
 * One request under its own signal, for the methods that send batches: an interrupt (Ctrl-C) does not
 * tear down a request whose answer is worth waiting for (`drainable()` says so when the interrupt comes:
 * the server may already have the batch, and its answer is what tells the ledger), but waits for it for
 * `drainMs` at most (30 s by default), then aborts it. Any other request is torn down at once.
 */
import type { Clock } from '../../../adapters/clock.js';

export const DEFAULT_DRAIN_MS = 30_000;

export interface DrainDeps {
  clock: Clock;
  /** The interrupt. */
  signal: AbortSignal;
  drainMs?: number;
  /** Called when an interrupt finds the request worth waiting for. */
  onDrain?(info: { waitMs: number }): void;
}

export async function sendDraining<T>(
  deps: DrainDeps,
  drainable: () => boolean,
  send: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const request = new AbortController();
  const settled = new AbortController();
  const onInterrupt = () => {
    if (!drainable()) {
      request.abort(deps.signal.reason);
      return;
    }
    const waitMs = deps.drainMs ?? DEFAULT_DRAIN_MS;
    deps.onDrain?.({ waitMs });
    deps.clock.sleep(waitMs, settled.signal).then(
      () => request.abort(deps.signal.reason),
      () => {},
    );
  };
  deps.signal.addEventListener('abort', onInterrupt, { once: true });
  try {
    return await send(request.signal);
  } finally {
    deps.signal.removeEventListener('abort', onInterrupt);
    settled.abort();
  }
}
