import { clearLine, clearScreenDown, cursorTo, moveCursor } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { Agent } from 'undici';
import type { Clock } from '../../src/adapters/clock.js';
import { main } from '../../src/main.js';
import { checkJsonOutput } from './json-schemas.js';

export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  tty?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  /** The width stderr reports (with `tty.stderr`, a terminal progress can be drawn in). */
  columns?: number;
  signal?: AbortSignal;
  clock?: Clock;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * A stream that looks like a terminal to what draws on it (ora, cli-progress): a TTY, a width, and the
 * cursor methods of tty.WriteStream, which write the escape sequences a terminal would get.
 */
function terminalLike(stream: PassThrough, columns: number | undefined): PassThrough {
  return Object.assign(stream, {
    isTTY: true,
    ...(columns === undefined ? {} : { columns, rows: 24 }),
    cursorTo: (x: number, y?: number) => cursorTo(stream, x, y),
    moveCursor: (dx: number, dy: number) => moveCursor(stream, dx, dy),
    clearLine: (dir: -1 | 0 | 1) => clearLine(stream, dir),
    clearScreenDown: () => clearScreenDown(stream),
    getWindowSize: () => [columns ?? 0, 24],
    hasColors: () => false,
  });
}

/** A short keep-alive so test servers can close promptly (undici's writing-tests advice). */
export const testDispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });

/** Runs the real CLI in-process with captured streams; env is exactly what is given (never process.env). */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return startCli(args, opts).done;
}

/** A CLI run in progress: its output so far, and a way to wait until the output says something. */
export interface RunningCli {
  stdout(): string;
  stderr(): string;
  /** Resolves once `until(stdout, stderr)` holds; rejects after `timeoutMs`, or if the run ends first. */
  waitFor(until: (stdout: string, stderr: string) => boolean, timeoutMs?: number): Promise<void>;
  done: Promise<RunResult>;
}

/** Like runCli, but hands back the run while it goes on (for commands that run until interrupted). */
export function startCli(args: string[], opts: RunOptions = {}): RunningCli {
  const stdout = new PassThrough();
  const stderr = opts.tty?.stderr ? terminalLike(new PassThrough(), opts.columns) : new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const stdin = opts.stdin === undefined ? Readable.from([]) : Readable.from([Buffer.from(opts.stdin)]);
  const waiters = new Set<() => void>();
  const changed = () => {
    for (const w of waiters) w();
  };
  stdout.on('data', changed);
  stderr.on('data', changed);
  let finished = false;
  const running = main(args, {
    env: { NO_COLOR: '1', ...opts.env },
    stdin,
    stdout,
    stderr,
    signal: opts.signal,
    clock: opts.clock,
    dispatcher: testDispatcher,
    tty: opts.tty ?? { stdin: false, stdout: false, stderr: false },
  });
  const done = running.then((code) => {
    finished = true;
    changed();
    // Every --json run in the suite is held to the published schema of its command (docs/schemas/).
    checkJsonOutput(args, code, out);
    return { code, stdout: out, stderr: err };
  });
  return {
    stdout: () => out,
    stderr: () => err,
    done,
    waitFor: (until, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (until(out, err)) {
            settle();
            resolve();
          } else if (finished) {
            settle();
            reject(new Error(`the run ended first:\n${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          settle();
          reject(new Error(`not seen within ${timeoutMs} ms:\n${out}\n${err}`));
        }, timeoutMs);
        const settle = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
