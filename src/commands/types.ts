import type { Command } from 'commander';
import type { GlobalOptions } from '../config/settings.js';
import type { Factory, System } from '../factory.js';
import { Redactor } from '../io/redact.js';

/** Adds one top-level command (its name, flags and help) to the program; its body is loaded on use. */
export type RegisterCommand = (program: Command, state: RunState) => void;

/** Shared by main() and every command: the Factory appears once global flags are parsed. */
export class RunState {
  private context: Factory | undefined;
  exitCode = 0;
  readonly redactor = new Redactor();
  /** What commander wrote to stderr (its error and our hint), for the --json error document. */
  private readonly commanderOutput: string[] = [];

  constructor(
    readonly system: System,
    readonly version: string,
  ) {}

  /** Commands that work on local files only: their Factory has no backend or config adapters. */
  private readonly localCommands = new WeakSet<Command>();

  /** Marks `command` as one that never talks to a backend nor reads the config file (validate, sample). */
  markLocal(command: Command): Command {
    this.localCommands.add(command);
    return command;
  }

  /**
   * The Factory is imported on first use: it brings chalk, which --help never needs, and, unless the
   * command is local, the backend and config adapters with zod (factory-ports.ts).
   */
  async init(globals: GlobalOptions, command?: Command): Promise<Factory> {
    const local = command !== undefined && this.localCommands.has(command);
    const [{ createFactory }, ports] = await Promise.all([
      import('../factory.js'),
      local ? undefined : import('../factory-ports.js'),
    ]);
    this.context = createFactory(this.system, globals, this.version, this.redactor, ports);
    return this.context;
  }

  noteCommanderOutput(text: string): void {
    this.commanderOutput.push(text);
  }

  /** Commander's error message and the hint printed after it, as it wrote them. */
  commanderError(): { message: string | undefined; hint: string | undefined } {
    const lines = this.commanderOutput.join('').split('\n').filter(Boolean);
    const hint = lines.find((l) => l.startsWith('hint: '));
    const message = lines.find((l) => l.startsWith('error: '));
    return { message: message?.slice('error: '.length), hint: hint?.slice('hint: '.length) };
  }

  get ctx(): Factory | undefined {
    return this.context;
  }

  /** Wraps a command body: it receives the Factory and returns its exit code. */
  action<A extends unknown[]>(fn: (f: Factory, ...args: A) => Promise<number | undefined>) {
    return async (...args: A): Promise<void> => {
      if (!this.context) throw new Error('context not initialised before action');
      this.exitCode = (await fn(this.context, ...args)) ?? 0;
    };
  }
}
