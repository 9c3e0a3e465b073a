/**
 * The built CLI on a real pseudo-terminal, its output read by a terminal emulator: what a user sees at the
 * end is the emulator's screen, so a bar left behind, a header written into a bar or a line cut short
 * shows up as it would on their terminal.
 */
import xterm from '@xterm/headless';
import { type IPty, spawn } from 'node-pty';
import { builtCli } from '../hostile/helpers.js';

export interface PtyRun {
  /** Every line of the final screen and its scrollback (a wrapped line joined again), trailing blanks cut. */
  screen: string[];
  /** The bytes the terminal got (escape codes included). */
  raw: string;
  exitCode: number;
  /** The emulator: cells' colours can be read from it. */
  terminal: xterm.Terminal;
}

export interface PtyOptions {
  cols: number;
  rows?: number;
  env?: Record<string, string | undefined>;
  /** Runs `bash -c SCRIPT` instead, with `$CLI` the command that starts the built CLI (for redirections). */
  script?: string;
  /** Called with the pty once it runs (to press Ctrl-C, say), its bytes so far and the screen now. */
  drive?: (pty: IPty, raw: () => string, screen: () => Promise<string[]>) => Promise<void>;
  timeoutMs?: number;
}

/** An operating-system command no terminal acts on (xterm ignores an OSC it does not know). */
const END = '\u001b]7770;end\u0007';
const END_OSC = '\\033]7770;end\\007';

/** Runs `apple-import ARGS` on a pty `cols` wide and returns the screen once it has exited. */
export async function runOnPty(args: string[], opts: PtyOptions): Promise<PtyRun> {
  const cli = await builtCli();
  const rows = opts.rows ?? 40;
  const env = {
    PATH: process.env.PATH ?? '',
    TERM: 'xterm-256color',
    HOME: process.env.HOME ?? '/tmp',
    CLI: `${process.execPath} ${cli}`,
    ...opts.env,
  };
  const cleanEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  // Run by bash, which writes END once the command has exited: everything the command wrote comes
  // before it on the pty, so the run is read in full once END is seen, however late node-pty's exit came.
  const script = opts.script ?? '$CLI "$@"';
  const wrapped = `${script}\ncode=$?\nprintf '${END_OSC}'\nexit $code`;
  const [file, argv] = ['bash', ['-c', wrapped, 'bash', ...args]];
  const terminal = new xterm.Terminal({ cols: opts.cols, rows, scrollback: 5000, allowProposedApi: true });
  const pty = spawn(file, argv, {
    name: 'xterm-256color',
    cols: opts.cols,
    rows,
    cwd: process.cwd(),
    env: cleanEnv,
  });
  let raw = '';
  let written = Promise.resolve();
  pty.onData((d) => {
    raw += d;
    written = written.then(() => new Promise<void>((resolve) => terminal.write(d, resolve)));
  });
  const exited = new Promise<number>((resolve) => pty.onExit((e) => resolve(e.exitCode)));
  const timer = setTimeout(() => pty.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  try {
    const screenNow = async () => {
      await written;
      return screenLines(terminal);
    };
    if (opts.drive) await opts.drive(pty, () => raw, screenNow);
    const exitCode = await exited;
    await waitForText(() => raw, END);
    await written;
    return { screen: screenLines(terminal), raw: raw.replace(END, ''), exitCode, terminal };
  } finally {
    clearTimeout(timer);
  }
}

function screenLines(terminal: xterm.Terminal): string[] {
  const buffer = terminal.buffer.active;
  const lines: string[] = [];
  for (let i = 0; i < buffer.length; i++) {
    const line = buffer.getLine(i);
    const text = line?.translateToString(true) ?? '';
    // A line the terminal wrapped is one line of output.
    if (line?.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}

/** Waits until `raw()` holds `what`. */
export async function waitForText(
  raw: () => string,
  what: string | RegExp,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const seen = () => (typeof what === 'string' ? raw().includes(what) : what.test(raw()));
  while (!seen()) {
    if (Date.now() > deadline) throw new Error(`not seen on the terminal: ${what}\n${raw().slice(-2000)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the screen's non-blank lines satisfy `ready`, and returns them. */
export async function waitForScreen(
  screen: () => Promise<string[]>,
  ready: (lines: string[]) => boolean,
  timeoutMs = 30_000,
): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = (await screen()).filter((l) => l !== '');
    if (ready(lines)) return lines;
    if (Date.now() > deadline) throw new Error(`the screen never got there:\n${lines.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const ESCAPE = /\u001b\[/;
