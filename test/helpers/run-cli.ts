import { PassThrough, Readable } from 'node:stream';
import { Agent } from 'undici';
import type { Clock } from '../../src/adapters/clock.js';
import { main } from '../../src/main.js';

export interface RunOptions {
  env?: Record<string, string | undefined>;
  stdin?: string;
  tty?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  signal?: AbortSignal;
  clock?: Clock;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A short keep-alive so test servers can close promptly (undici's writing-tests advice). */
export const testDispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });

/** Runs the real CLI in-process with captured streams; env is exactly what is given (never process.env). */
export async function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const stdin = opts.stdin === undefined ? Readable.from([]) : Readable.from([Buffer.from(opts.stdin)]);
  const code = await main(args, {
    env: { NO_COLOR: '1', ...opts.env },
    stdin,
    stdout,
    stderr,
    signal: opts.signal,
    clock: opts.clock,
    dispatcher: testDispatcher,
    tty: opts.tty ?? { stdin: false, stdout: false, stderr: false },
  });
  return { code, stdout: out, stderr: err };
}
