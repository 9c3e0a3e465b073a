import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';
import type { SandboxFlags } from './run.js';

export const registerSandbox: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('sandbox')
    .description('run a local Open Wearables-compatible backend and S3 endpoint, to try the tool offline')
    .option('--port <port>', 'backend port on 127.0.0.1 (default 8000 if free, else any; 0 = any free port)')
    .option('--s3-port <port>', 'S3 endpoint port on 127.0.0.1 (default 0: any free port)')
    .option(
      '--data-dir <dir>',
      'keep objects, accounts, the API key, users and logins in DIR across restarts (default: a temp dir removed on stop)',
    )
    .option(
      '--backend <generation>',
      'backend to model: current, or 2026-08 (before multipart upload)',
      'current',
    )
    .option('--completion-mode <mode>', 'how a current backend starts S3 imports: client (default) or sns')
    .addHelpText(
      'after',
      [
        '',
        'Prints the URL, a developer login, an API key and two user ids on stdout (with --json: one JSON',
        'document), then serves until Ctrl-C. It listens on port 8000, the default server of every command, when',
        'that port is free. Without --data-dir everything is gone when it stops; with it, the same credentials,',
        'users and logins come back. Imports behave as on the backend modelled: a current one imports',
        'multipart uploads when they are completed (client mode) or every object (sns mode); 2026-08 imports',
        'every presigned POST, without sync events, as those servers did.',
        '',
        'Exit status: 130 after Ctrl-C, once both servers have stopped (as every command that is interrupted),',
        '2 if a port given with --port or --s3-port is in use.',
        '',
        'Examples:',
        '  $ apple-import sandbox',
        '  $ apple-import sandbox --data-dir ~/.cache/apple-import-sandbox',
        '  $ apple-import sandbox --backend 2026-08 --port 0 --json > sandbox.json',
      ].join('\n'),
    )
    .action(state.action(async (f, flags: SandboxFlags) => (await import('./run.js')).runSandbox(f, flags)));
};
