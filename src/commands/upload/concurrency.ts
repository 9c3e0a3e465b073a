import { availableParallelism } from 'node:os';

/** The most parts in flight `--concurrency` takes. */
export const MAX_CONCURRENCY = 16;

/**
 * Parts in flight by default: two per core (a part spends most of its time waiting on the network, and
 * the check and the reads need little CPU), at least 2 and at most 8 (memory: a read pool per part).
 */
export function defaultConcurrency(): number {
  return Math.min(8, Math.max(2, 2 * availableParallelism()));
}
