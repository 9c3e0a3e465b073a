import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';
import type { StatusFlags } from './run.js';

export const registerStatus: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('status')
    .description('recent import events for a user (--follow streams them)')
    .option('--user <id|email>', 'user, by id or email (env APPLE_IMPORT_USER)')
    .option('--follow', 'keep streaming new events until Ctrl-C')
    .option('--local-time', "show times in this machine's time zone (default: as the server sends them, UTC)")
    .option('--limit <n>', 'how many recent events, 1–200 (default 20)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ apple-import status --user $ID\n  $ apple-import status --user $ID --follow --json',
    )
    .action(state.action(async (f, flags: StatusFlags) => (await import('./run.js')).runStatus(f, flags)));
};
