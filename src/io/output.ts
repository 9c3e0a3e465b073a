import { Chalk, type ChalkInstance } from 'chalk';
import type { Io } from './io.js';
import type { Redactor } from './redact.js';

export type Verbosity = 'quiet' | 'normal' | 'verbose' | 'debug';

/** Writes data to stdout and messages to stderr; every message goes through the redactor. */
export class Output {
  /** Styles for messages (stderr). */
  readonly theme: ChalkInstance;
  /** Styles for data (stdout): that stream may be a file while stderr is a terminal, or the reverse. */
  readonly dataTheme: ChalkInstance;
  constructor(
    readonly io: Io,
    private readonly redactor: Redactor,
    readonly verbosity: Verbosity = 'normal',
    readonly jsonMode = false,
  ) {
    this.theme = new Chalk({ level: io.stderrColor ? 1 : 0 });
    this.dataTheme = new Chalk({ level: io.stdoutColor ? 1 : 0 });
  }

  /** A line of data on stdout (not used in --json mode, where json() prints the one document). */
  data(line: string): void {
    this.io.stdout.write(`${this.redactor.redact(line)}\n`);
  }

  private wroteJson = false;

  /**
   * What the run has done so far, for the line an interruption ends with ("3 of ~24 batches sent"); set
   * by a command that can say, and whether running the same command again resumes it.
   */
  doneSoFar: { describe(): string | undefined; resumes: boolean } | undefined;

  /** The run's one JSON document on stdout; a secret the run knows is masked unless `redact` is false. */
  json(value: unknown, opts: { redact?: boolean } = {}): void {
    const text = JSON.stringify(value, null, 2);
    this.io.stdout.write(`${opts.redact === false ? text : this.redactor.redact(text)}\n`);
    this.wroteJson = true;
  }

  /** The document is out: an error after it must not print a second one. */
  get jsonWritten(): boolean {
    return this.wroteJson;
  }

  info(message: string): void {
    if (this.verbosity === 'quiet') return;
    this.io.stderr.write(`${this.redactor.redact(message)}\n`);
  }

  success(message: string): void {
    this.info(`${this.theme.green('✓')} ${message}`);
  }

  warn(message: string): void {
    this.io.stderr.write(`${this.theme.yellow('warning:')} ${this.redactor.redact(message)}\n`);
  }

  error(message: string): void {
    this.io.stderr.write(`${this.theme.red('error:')} ${this.redactor.redact(message)}\n`);
  }

  hint(message: string): void {
    this.io.stderr.write(`${this.theme.dim('hint:')} ${this.redactor.redact(message)}\n`);
  }

  verbose(message: string): void {
    if (this.verbosity === 'verbose' || this.verbosity === 'debug') this.info(this.theme.dim(message));
  }

  debug(message: string): void {
    if (this.verbosity === 'debug')
      this.io.stderr.write(`${this.theme.dim(`debug: ${this.redactor.redact(message)}`)}\n`);
  }

  get isDebug(): boolean {
    return this.verbosity === 'debug';
  }
}
