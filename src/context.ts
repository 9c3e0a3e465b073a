import type { Readable, Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { type Clock, systemClock } from './adapters/clock.js';
import type { LockOwner } from './adapters/file-lock.js';
import { type Env, parseEnv } from './config/env.js';
import { type Io, refineIo, usableWidth } from './io/io.js';
import { Output, type Verbosity } from './io/output.js';
import { Redactor } from './io/redact.js';

/** What the process hands to main(): the only way the outside world reaches the program. */
export interface System {
  env: Record<string, string | undefined>;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Aborted on SIGINT. */
  signal?: AbortSignal;
  clock?: Clock;
  /** undici dispatcher override (tests use short keep-alive). */
  dispatcher?: Dispatcher;
  /** Overrides TTY detection, for tests. */
  tty?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  /** This process's pid and a liveness probe for other pids (the cross-process lock's owner). */
  host?: LockOwner;
}

export interface GlobalOptions {
  server?: string;
  profile?: string;
  apiKey?: string;
  token?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  debug: boolean;
  color: boolean;
  progress: boolean;
  insecure: boolean;
}

/** Everything a command may use; built once the global flags are parsed (GitHub CLI's Factory). */
export interface AppContext {
  version: string;
  env: Env;
  io: Io;
  out: Output;
  redactor: Redactor;
  signal: AbortSignal;
  clock: Clock;
  globals: GlobalOptions;
  dispatcher: Dispatcher | undefined;
  host: LockOwner | undefined;
}

export function baseIo(system: System): Io {
  const stdinIsTTY = system.tty?.stdin ?? Boolean(system.stdin.isTTY);
  const stdoutIsTTY = system.tty?.stdout ?? Boolean(system.stdout.isTTY);
  const stderrIsTTY = system.tty?.stderr ?? Boolean(system.stderr.isTTY);
  return {
    stdin: system.stdin,
    stdout: system.stdout,
    stderr: system.stderr,
    stdinIsTTY,
    stdoutIsTTY,
    stderrIsTTY,
    color: false,
    interactive: false,
    stderrColumns: system.stderr.columns,
    columns: usableWidth(system.stderr.columns) ?? usableWidth(system.stdout.columns) ?? 80,
  };
}

export function createContext(
  system: System,
  globals: GlobalOptions,
  version: string,
  redactor = new Redactor(),
): AppContext {
  const env = parseEnv(system.env);
  const io = refineIo(
    baseIo(system),
    { noColorEnv: env.noColor, forceColor: env.forceColor, ci: env.ci, term: env.term },
    { color: globals.color, quiet: globals.quiet, json: globals.json, progress: globals.progress },
  );
  const debug = globals.debug || env.debug;
  const verbosity: Verbosity = debug
    ? 'debug'
    : globals.quiet
      ? 'quiet'
      : globals.verbose
        ? 'verbose'
        : 'normal';
  for (const s of [globals.apiKey, globals.token, env.apiKey, env.token]) redactor.add(s);
  return {
    version,
    env,
    io,
    out: new Output(io, redactor, verbosity, globals.json),
    redactor,
    signal: system.signal ?? new AbortController().signal,
    clock: system.clock ?? { ...defaultClock },
    globals,
    dispatcher: system.dispatcher,
    host: system.host,
  };
}

const defaultClock = systemClock;
