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

/**
 * Sizes in binary units everywhere (KiB, MiB, GiB), as the size flags and their defaults are (8 MiB
 * batches, 1 GiB parts): one convention, so a figure in a message is the figure a flag takes.
 */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
}

/**
 * As the run's progress mode says (progress-policy.ts): a cli-progress bar, one line at most every 10 %
 * or 10 s (product.md "Output", so CI logs stay short), or nothing. `now` is injected so the plain cadence
 * is testable.
 */
export function createByteProgress(
  io: Io,
  label: string,
  total: number,
  now: () => number,
  /** When the work began, if before this reporter (a bar drawn again after a message). */
  startedAt?: number,
): ByteProgressReporter {
  if (io.progress === 'none') return { update: () => {}, stop: () => {} };
  const started = startedAt ?? now();
  const speed = (done: number): string => {
    const seconds = (now() - started) / 1000;
    return seconds > 0 ? `${formatBytes(done / seconds)}/s` : '';
  };
  if (io.progress === 'draw' && total > 0) {
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
      const fraction = total > 0 ? done / total : 0;
      const step = Math.floor(fraction / PLAIN_STEP);
      const t = now();
      if ((total > 0 && step > lastStep && fraction < 1) || t - lastAt >= PLAIN_INTERVAL_MS) {
        lastStep = Math.max(lastStep, step);
        lastAt = t;
        const rate = speed(done);
        const pct =
          total > 0
            ? `${Math.floor(fraction * 100)}% (${formatBytes(done)} of ${formatBytes(total)}${rate ? `, ${rate}` : ''})`
            : formatBytes(done);
        io.stderr.write(`${label}: ${pct}\n`);
      }
    },
    stop: () => {},
  };
}

/**
 * Progress of a run that prints messages between updates: one reporter at a time, per label. pause()
 * clears a drawn bar so a message can be printed, and the next update draws it again (with the speed
 * and ETA since the label first appeared). Plain lines keep their cadence across pauses.
 */
export class ProgressDisplay {
  private current: { key: string; reporter: ByteProgressReporter } | null = null;
  private readonly plain = new Map<string, ByteProgressReporter>();
  private readonly firstSeen = new Map<string, number>();

  constructor(
    private readonly io: Io,
    private readonly now: () => number,
  ) {}

  update(label: string, done: number, total: number): void {
    const key = `${label}\u0000${total}`;
    if (this.current?.key !== key) {
      this.pause();
      this.current = { key, reporter: this.reporter(key, label, total) };
    }
    this.current.reporter.update(done);
  }

  /** Clears a drawn bar (before a message is printed). */
  pause(): void {
    if (this.current && this.io.progress === 'draw') this.current.reporter.stop();
    this.current = null;
  }

  /** The reporter of `label` is done with: the next update of it starts afresh. */
  end(label: string, total: number): void {
    const key = `${label}\u0000${total}`;
    if (this.current?.key === key) this.pause();
    this.plain.delete(key);
    this.firstSeen.delete(key);
  }

  private reporter(key: string, label: string, total: number): ByteProgressReporter {
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, this.now());
    if (this.io.progress === 'draw')
      return createByteProgress(this.io, label, total, this.now, this.firstSeen.get(key));
    let r = this.plain.get(key);
    if (!r) {
      r = createByteProgress(this.io, label, total, this.now);
      this.plain.set(key, r);
    }
    return r;
  }
}
