import type { Clock } from '../../src/adapters/clock.js';

/** Sleeps end when the test says so; each is recorded with its length. Time stands still. */
export function manualClock(): Clock & { sleeps: { ms: number; end(): void }[] } {
  const sleeps: { ms: number; end(): void }[] = [];
  return {
    sleeps,
    now: () => 0,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        sleeps.push({ ms, end: resolve });
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
  };
}

/**
 * Time that jumps by each sleep's length instead of waiting, from the real time (`from: 'now'`) or a
 * fixed start. Before the first sleep returns, `first()` runs (and is awaited), so a test can change the
 * world at the moment the code under test starts to wait.
 */
export function steppingClock(
  opts: { from?: number | 'now'; first?: () => Promise<void> } = {},
): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  const start = opts.from ?? 1_000_000;
  let skew = 0;
  return {
    sleeps,
    now: () => (start === 'now' ? Date.now() : start) + skew,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      skew += ms;
      if (sleeps.length === 1) await opts.first?.();
      signal?.throwIfAborted();
    },
  };
}

/** Real time, but sleeps return at once (and are recorded). */
export function fastClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => Date.now(),
    sleep: async (ms, signal) => {
      sleeps.push(ms);
      signal?.throwIfAborted();
    },
  };
}
