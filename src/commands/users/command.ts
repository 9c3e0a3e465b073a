import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';
import type { UsersFlags } from './run.js';

export const registerUsers: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('users')
    .description('list users on the backend, to find the id to import into')
    .option('--search <text>', 'case-insensitive match on email, first or last name')
    .option('--email <email>', 'exact email')
    .option('--limit <n>', 'how many users to show, paging through the server (default 20)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ apple-import users --search dana\n  $ apple-import users --email dana@example.com --json',
    )
    .action(state.action(async (f, flags: UsersFlags) => (await import('./run.js')).runUsers(f, flags)));
};
