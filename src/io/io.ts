import type { Readable, Writable } from 'node:stream';
import { type ProgressMode, progressMode } from './progress-policy.js';

/** The process's streams and terminal facts, decided once per run (architecture-anchors §6.6). */
export interface Io {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
  stdinIsTTY: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /**
   * Colours allowed on each stream: only where that stream is a terminal (`validate > report.txt` from a
   * terminal writes no escape codes into the file), FORCE_COLOR forcing them anywhere, NO_COLOR and
   * --no-color turning them off everywhere.
   */
  stdoutColor: boolean;
  stderrColor: boolean;
  /** How progress is shown (progress-policy.ts): every command follows this one decision. */
  progress: ProgressMode;
  /** Spinners and bars are drawn: `progress === 'draw'`. */
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
  const allowed = flags.color !== false && !facts.noColorEnv && facts.forceColor !== '0';
  const colorOn = (isTTY: boolean) => allowed && (isTTY || forced);
  const progress = progressMode(
    {
      stderrIsTTY: base.stderrIsTTY,
      stderrWidth: usableWidth(base.stderrColumns),
      ci: facts.ci,
      term: facts.term,
    },
    flags,
  );
  return {
    ...base,
    stdoutColor: colorOn(base.stdoutIsTTY),
    stderrColor: colorOn(base.stderrIsTTY),
    progress,
    interactive: progress === 'draw',
  };
}
