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
  /**
   * Spinners and bars allowed: stderr is a TTY that reports a width, not CI, not dumb, not
   * --quiet/--json/--no-progress.
   */
  interactive: boolean;
  /** The width stderr reports, as reported (0 or undefined on a pty allocated without a size). */
  stderrColumns: number | undefined;
  /** The width to lay text out in: the terminal's when it reports a usable one, else 80. */
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

/**
 * A terminal width a spinner or bar can be drawn in, or undefined. A pty allocated without a size (CI
 * runners, `docker exec -t`, `script` run from no terminal) reports 0 columns, and ora divides the text's
 * width by the columns to count the lines it clears: 0 made it clear forever (1 GB of cursor-up escapes).
 */
export function usableWidth(columns: number | undefined): number | undefined {
  return columns !== undefined && Number.isFinite(columns) && columns >= 1 ? Math.floor(columns) : undefined;
}

/** Refines the raw Io once global flags are known. */
export function refineIo(base: Io, facts: IoFacts, flags: IoFlags): Io {
  const forced = facts.forceColor !== undefined && facts.forceColor !== '0';
  const color =
    flags.color !== false && !facts.noColorEnv && facts.forceColor !== '0' && (base.stderrIsTTY || forced);
  // A terminal without a usable width gets the plain lines a pipe gets: nothing drawn can be cleared in it.
  const interactive =
    base.stderrIsTTY &&
    usableWidth(base.stderrColumns) !== undefined &&
    !facts.ci &&
    facts.term !== 'dumb' &&
    !flags.quiet &&
    !flags.json &&
    flags.progress !== false;
  return { ...base, color, interactive };
}
