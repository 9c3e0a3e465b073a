import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningCli, type RunOptions, type RunResult, runCli, startCli } from './run-cli.js';

/** A temp config dir and a runCli bound to it and to a server; every result is kept for secret checks. */
export class CliEnv {
  readonly results: RunResult[] = [];
  private constructor(
    readonly configDir: string,
    public server: string,
  ) {}

  static async create(server: string): Promise<CliEnv> {
    return new CliEnv(await mkdtemp(join(tmpdir(), 'apple-import-test-')), server);
  }

  async run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await runCli(args, { ...opts, env: this.envFor(opts) });
    this.results.push(r);
    return r;
  }

  /** Like run(), for a command that runs until it is interrupted. */
  start(args: string[], opts: RunOptions = {}): RunningCli {
    const running = startCli(args, { ...opts, env: this.envFor(opts) });
    void running.done.then((r) => this.results.push(r));
    return running;
  }

  private envFor(opts: RunOptions): Record<string, string | undefined> {
    return { APPLE_IMPORT_CONFIG_DIR: this.configDir, APPLE_IMPORT_SERVER: this.server, ...opts.env };
  }

  /** Everything any run printed, for "no secret in output" assertions. */
  allOutput(): string {
    return this.results.map((r) => r.stdout + r.stderr).join('\n');
  }

  async dispose(): Promise<void> {
    await rm(this.configDir, { recursive: true, force: true });
  }
}

export function configFile(configDir: string): string {
  return join(configDir, 'config.json');
}
