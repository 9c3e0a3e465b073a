/**
 * How progress is shown, decided once per run for every command: `draw` (a bar or spinner, redrawn in
 * place), `lines` (a plain line at most every 10 % or 10 s, for logs and pipes), or `none`.
 *
 * - `none` whenever the user asked for quiet output: `--quiet`, `--json` (stdout is one document and a
 *   script reads it; stderr keeps only warnings and errors) or `--no-progress`.
 * - `draw` only on a terminal that reports a usable width, outside CI and not `TERM=dumb`: anything
 *   drawn must be cleared again, and a pipe, a log or a zero-width pty cannot be.
 * - `lines` otherwise (a pipe, a CI log).
 */
export type ProgressMode = 'draw' | 'lines' | 'none';

export interface ProgressFacts {
  stderrIsTTY: boolean;
  /** stderr's width as usableWidth() reads it (undefined: none usable). */
  stderrWidth: number | undefined;
  ci: boolean;
  term: string | undefined;
}

export interface ProgressFlags {
  quiet?: boolean;
  json?: boolean;
  /** false for `--no-progress`. */
  progress?: boolean;
}

export function progressMode(facts: ProgressFacts, flags: ProgressFlags): ProgressMode {
  if (flags.quiet || flags.json || flags.progress === false) return 'none';
  const canDraw = facts.stderrIsTTY && facts.stderrWidth !== undefined && !facts.ci && facts.term !== 'dumb';
  return canDraw ? 'draw' : 'lines';
}
