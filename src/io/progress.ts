import { createRequire } from 'node:module';
import type { Io } from './io.js';

type CliProgress = typeof import('cli-progress');
let cliProgress: CliProgress | undefined;

/**
 * cli-progress (with string-width) is loaded only when a bar is drawn, so a non-TTY run never loads it.
 * It is CommonJS, so require() loads it synchronously and createByteProgress stays synchronous for the
 * progress callbacks that call it.
 */
function loadCliProgress(): CliProgress {
  cliProgress ??= createRequire(import.meta.url)('cli-progress') as CliProgress;
  return cliProgress;
}

/** Byte progress for long passes (validate, upload): a bar when interactive, sparse plain lines otherwise. */
export interface ByteProgressReporter {
  update(done: number): void;
  /** Removes the bar (or prints nothing more in plain mode). */
  stop(): void;
}

const PLAIN_STEP = 0.1;
const PLAIN_INTERVAL_MS = 10_000;

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

/**
 * A cli-progress bar on interactive stderr; otherwise one line at most every 10 % or 10 s (product.md
 * "Output"), so CI logs stay short. `now` is injected so the plain cadence is testable.
 */
export function createByteProgress(
  io: Io,
  label: string,
  total: number,
  now: () => number,
  quiet = false,
): ByteProgressReporter {
  const started = now();
  const speed = (done: number): string => {
    const seconds = (now() - started) / 1000;
    return seconds > 0 ? `${formatBytes(done / seconds)}/s` : '';
  };
  if (io.interactive && total > 0) {
    const { SingleBar, Presets } = loadCliProgress();
    const bar = new SingleBar(
      {
        stream: io.stderr as NodeJS.WritableStream,
        format: `${label} [{bar}] {percentage}% | {doneText} of {totalText} | {speed} | ETA {eta_formatted}`,
        barCompleteChar: '█',
        barIncompleteChar: '░',
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 10,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { doneText: formatBytes(0), totalText: formatBytes(total), speed: '' });
    return {
      update: (done) =>
        bar.update(Math.min(done, total), { doneText: formatBytes(done), speed: speed(done) }),
      stop: () => bar.stop(),
    };
  }
  let lastStep = 0;
  let lastAt = started;
  return {
    update: (done) => {
      if (quiet) return;
      const fraction = total > 0 ? done / total : 0;
      const step = Math.floor(fraction / PLAIN_STEP);
      const t = now();
      if ((total > 0 && step > lastStep && fraction < 1) || t - lastAt >= PLAIN_INTERVAL_MS) {
        lastStep = Math.max(lastStep, step);
        lastAt = t;
        const pct =
          total > 0
            ? `${Math.floor(fraction * 100)}% (${formatBytes(done)} of ${formatBytes(total)}, ${speed(done)})`
            : formatBytes(done);
        io.stderr.write(`${label}: ${pct}\n`);
      }
    },
    stop: () => {},
  };
}
