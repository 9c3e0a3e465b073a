import { CommanderError } from 'commander';
import { RunState } from './commands/types.js';
import {
  AppError,
  ERROR_EXIT_CODES,
  type ErrorCode,
  ExitCode,
  type ExitCodeValue,
  exitCodeFor,
  isAbortError,
} from './errors.js';
import type { System } from './factory.js';
import { buildProgram } from './program.js';
import { VERSION } from './version.js';

/** Runs one CLI invocation in-process and returns its exit code; never calls process.exit. */
export async function main(argv: string[], system: System): Promise<number> {
  const state = new RunState(system, VERSION);
  const program = buildProgram(state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return state.exitCode;
  } catch (err) {
    return reportError(err, state, wantsJson(argv), argv);
  }
}

/** `--json` among the flags (before a `--`), known even when commander refused the command line. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** What every failed run says: on stderr as text, and with --json as the one document on stdout. */
export interface ErrorDocument {
  error: { code: ErrorCode; exitCode: ExitCodeValue; message: string; hint: string | null };
}

function reportError(err: unknown, state: RunState, json: boolean, argv: string[]): ExitCodeValue {
  const write = (s: string) => state.system.stderr.write(`${state.redactor.redact(s)}\n`);
  const debug = state.ctx?.out.isDebug ?? false;
  // With --json, stdout holds exactly one document: the error's, unless the command printed its own
  // (a result that ends in an error, e.g. a partial upload, keeps its result as the document).
  const document = (code: ErrorCode, message: string, hint: string | undefined): ExitCodeValue => {
    const exitCode = ERROR_EXIT_CODES[code];
    if (json && !state.ctx?.out.jsonWritten) {
      const doc: ErrorDocument = { error: { code, exitCode, message, hint: hint ?? null } };
      state.system.stdout.write(`${state.redactor.redact(JSON.stringify(doc, null, 2))}\n`);
    }
    return exitCode;
  };
  if (err instanceof CommanderError) {
    // Commander has already printed its message and our hint.
    if (err.exitCode === 0) return ExitCode.OK;
    const said = state.commanderError();
    return document('USAGE', said.message ?? err.message.replace(/^error: /, ''), said.hint);
  }
  // stdout was closed by its reader (bin.ts): nothing to say, and nowhere to say it.
  if ((state.system.signal?.reason as Error | undefined)?.name === 'OutputClosed')
    return ExitCode.INTERRUPTED;
  if (
    isAbortError(err) ||
    (err instanceof AppError && err.code === 'CANCELLED') ||
    state.system.signal?.aborted
  ) {
    // Every command ends an interruption the same way: what was done, then the command that goes on.
    const soFar = state.ctx?.out.doneSoFar;
    const done = soFar?.describe();
    const again = `apple-import ${argv.map(shellWord).join(' ')}`;
    const message = `Interrupted${done ? `: ${done}` : ''}.`;
    const hint = soFar?.resumes ? `resume with: ${again}` : `run it again with: ${again}`;
    write(message);
    write(hint[0]!.toUpperCase() + hint.slice(1));
    return document('CANCELLED', message, hint);
  }
  if (err instanceof AppError) {
    write(`error: ${err.message}`);
    if (err.hint) write(`hint: ${err.hint}`);
    if (debug) {
      if (err.details) write(`debug: ${err.details}`);
      if (err.cause) write(`debug: cause: ${describe(err.cause)}`);
      if (err.stack) write(`debug: ${err.stack}`);
    }
    document(err.code, err.message, err.hint);
    return exitCodeFor(err);
  }
  const message = `unexpected error: ${describe(err)}`;
  const hint = 'run again with --debug for details, and report it if it persists';
  write(`error: ${message}`);
  if (debug && err instanceof Error && err.stack) write(`debug: ${err.stack}`);
  else write(`hint: ${hint}`);
  document('INTERNAL', message, hint);
  return exitCodeFor(err);
}

/** A word as a POSIX shell reads it back: quoted when it holds anything but safe characters. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
