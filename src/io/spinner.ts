import type { Io } from './io.js';

/** A phase indicator: an ora spinner when progress is drawn, one plain line per phase in `lines` mode. */
export interface PhaseSpinner {
  start(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

/** ora (and its dependencies) are imported only when a spinner is shown, so a non-TTY run never loads it. */
export async function createSpinner(io: Io, opts: { lines?: boolean } = {}): Promise<PhaseSpinner> {
  if (io.progress === 'draw') {
    const { default: ora } = await import('ora');
    // discardStdin off: it would put stdin in raw mode and swallow Ctrl-C handling and piped input.
    const spinner = ora({
      isEnabled: true,
      stream: io.stderr as NodeJS.WritableStream,
      discardStdin: false,
      // ora colours by its own reading of the terminal; ours (NO_COLOR, --no-color) decides.
      color: io.stderrColor ? 'cyan' : false,
    });
    return {
      start: (text) => {
        spinner.start(text);
      },
      succeed: (text) => {
        spinner.succeed(text);
      },
      fail: (text) => {
        spinner.fail(text);
      },
      stop: () => {
        spinner.stop();
      },
    };
  }
  const lines = io.progress === 'lines' && opts.lines !== false;
  const line = (s: string | undefined) => {
    if (lines && s) io.stderr.write(`${s}\n`);
  };
  return { start: line, succeed: line, fail: line, stop: () => {} };
}
