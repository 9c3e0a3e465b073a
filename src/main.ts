import { CommanderError } from 'commander';
import { RunState } from './commands/types.js';
import { AppError, ExitCode, type ExitCodeValue, exitCodeFor, isAbortError } from './errors.js';
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
    return reportError(err, state);
  }
}

function reportError(err: unknown, state: RunState): ExitCodeValue {
  const write = (s: string) => state.system.stderr.write(`${state.redactor.redact(s)}\n`);
  const debug = state.ctx?.out.isDebug ?? false;
  if (err instanceof CommanderError) {
    // Commander has already printed its message and our hint.
    if (err.exitCode === 0) return ExitCode.OK;
    return ExitCode.USAGE;
  }
  const code = exitCodeFor(err);
  if (err instanceof AppError) {
    write(`error: ${err.message}`);
    if (err.hint) write(`hint: ${err.hint}`);
    if (debug) {
      if (err.details) write(`debug: ${err.details}`);
      if (err.cause) write(`debug: cause: ${describe(err.cause)}`);
      if (err.stack) write(`debug: ${err.stack}`);
    }
    return code;
  }
  // stdout was closed by its reader (bin.ts): nothing to say, and nowhere to say it.
  if ((state.system.signal?.reason as Error | undefined)?.name === 'OutputClosed')
    return ExitCode.INTERRUPTED;
  if (isAbortError(err) || state.system.signal?.aborted) {
    write('Interrupted.');
    return ExitCode.INTERRUPTED;
  }
  write(`error: unexpected error: ${describe(err)}`);
  if (debug && err instanceof Error && err.stack) write(`debug: ${err.stack}`);
  else write('hint: run again with --debug for details, and report it if it persists');
  return code;
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}
