import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** The young generation's size (both semi-spaces) past which it stops growing. */
const YOUNG_GENERATION_BYTES = 8 * 1024 * 1024;

/**
 * Caps the main thread's young generation. V8 doubles it while allocation is fast, up to 16 MiB per
 * semi-space (two of them), and a pass over an export allocates fast: per-element objects that die at
 * once. Those pages stay resident for the rest of the run, about a fifth of what an upload may hold.
 * `--max-semi-space-size` is read only when the heap is set up, before any of our code runs, but the
 * growth factor is read each time the young generation grows: once a collection finds it at the cap,
 * the factor becomes 1. Kept from growing at all it is too small (objects live past
 * a collection and the old generation grows instead). Worker threads get theirs through
 * `resourceLimits`. Tests in-process never touch V8's flags (bin.ts calls this).
 */
export function capYoungGeneration(): void {
  const observer = new PerformanceObserver(() => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (young === undefined || young.space_size < YOUNG_GENERATION_BYTES) return;
    // Set again after every collection: each new isolate (a worker thread starting) resets it to 2.
    setFlagsFromString('--semi-space-growth-factor=1');
  });
  observer.observe({ entryTypes: ['gc'] });
}
