import type { Readable, Writable } from 'node:stream';

/** The process's streams and terminal facts, decided once per run (architecture-anchors §6.6). */
export interface Io {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /** Colors allowed on stderr/stdout (NO_COLOR, FORCE_COLOR, --no-color, TTY). */
  color: boolean;
  /** Spinners and bars allowed: stderr is a TTY, not CI, not dumb, not --quiet/--json/--no-progress. */
  interactive: boolean;
  columns: number;
}

export interface IoFacts {
  noColorEnv: boolean;
  forceColor: string | undefined;
  ci: boolean;
  term: string | undefined;
}

export interface IoFlags {
  color?: boolean;
  quiet?: boolean;
  json?: boolean;
  progress?: boolean;
}

/** Refines the raw Io once global flags are known. */
export function refineIo(base: Io, facts: IoFacts, flags: IoFlags): Io {
  const forced = facts.forceColor !== undefined && facts.forceColor !== '0';
  const color =
    flags.color !== false && !facts.noColorEnv && facts.forceColor !== '0' && (base.stderrIsTTY || forced);
  const interactive =
    base.stderrIsTTY &&
    !facts.ci &&
    facts.term !== 'dumb' &&
    !flags.quiet &&
    !flags.json &&
    flags.progress !== false;
  return { ...base, color, interactive };
}
