import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';
import type { SandboxFlags } from './run.js';

export const registerSandbox: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('sandbox')
    .description('run a local Open Wearables-compatible backend and S3 endpoint, to try the tool offline')
    .option('--port <port>', 'backend port on 127.0.0.1 (0 = any free port)', '0')
    .option('--s3-port <port>', 'S3 endpoint port on 127.0.0.1 (0 = any free port)', '0')
    .option('--data-dir <dir>', 'keep uploaded objects in DIR (default: a temp dir removed on stop)')
    .addHelpText(
      'after',
      [
        '',
        'Prints the URL, a developer login, an API key and two user ids (with --json: one JSON document on',
        'stdout), then serves until Ctrl-C. Everything is in memory and gone when it stops. An S3 upload is',
        'imported as soon as it lands and reported as sync events, so `apple-import status` shows it.',
        '',
        'Exit status: 130 after Ctrl-C, once both servers have stopped (as every command that is interrupted),',
        '1 if it cannot start (e.g. the port is in use).',
        '',
        'Examples:',
        '  $ apple-import sandbox',
        '  $ apple-import sandbox --port 8000 --json > sandbox.json',
      ].join('\n'),
    )
    .action(state.action(async (f, flags: SandboxFlags) => (await import('./run.js')).runSandbox(f, flags)));
};
