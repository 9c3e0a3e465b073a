/**
 * Progress for long byte transfers and short steps (product.md "Output"): a cli-progress bar and ora
 * spinners on stderr only when interactive; otherwise plain lines at most every 10 % or 10 s, so logs
 * and CI stay readable. Written for `upload` because src/io/progress.ts did not exist yet.
 */
import cliProgress from 'cli-progress';
import ora from 'ora';
import type { AppContext } from '../context.js';

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

export interface ByteProgress {
  update(done: number): void;
  /** Ends the display; `final` is printed as a plain line. */
  stop(final?: string): void;
}

const PLAIN_STEP = 0.1;
const PLAIN_INTERVAL_MS = 10_000;

export function byteProgress(ctx: AppContext, label: string, total: number): ByteProgress {
  const started = Date.now();
  const speed = (done: number) => {
    const s = (Date.now() - started) / 1000;
    return s > 0 ? `${formatBytes(done / s)}/s` : '';
  };
  if (ctx.io.interactive) {
    const bar = new cliProgress.SingleBar(
      {
        stream: ctx.io.stderr as NodeJS.WritableStream,
        format: `${label} {bar} {percentage}% | {done} of {size} | {speed} | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(1, total), 0, { done: formatBytes(0), size: formatBytes(total), speed: '' });
    return {
      update: (done) => bar.update(done, { done: formatBytes(done), speed: speed(done) }),
      stop: (final) => {
        bar.stop();
        if (final) ctx.out.info(final);
      },
    };
  }
  let lastFraction = 0;
  let lastAt = started;
  return {
    update: (done) => {
      const fraction = total > 0 ? done / total : 1;
      const now = Date.now();
      if (fraction >= 1 || (fraction - lastFraction < PLAIN_STEP && now - lastAt < PLAIN_INTERVAL_MS)) return;
      lastFraction = fraction;
      lastAt = now;
      ctx.out.info(
        `${label} ${Math.floor(fraction * 100)}% (${formatBytes(done)} of ${formatBytes(total)}, ${speed(done)})`,
      );
    },
    stop: (final) => {
      if (final) ctx.out.info(final);
    },
  };
}

/** Runs a short step under a spinner (interactive) or silently; the spinner never outlives the step. */
export async function withSpinner<T>(ctx: AppContext, text: string, fn: () => Promise<T>): Promise<T> {
  if (!ctx.io.interactive) return fn();
  const spinner = ora({ text, stream: ctx.io.stderr as NodeJS.WritableStream, isEnabled: true }).start();
  try {
    const value = await fn();
    spinner.stop();
    return value;
  } catch (err) {
    spinner.stop();
    throw err;
  }
}
