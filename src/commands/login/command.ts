import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';
import type { LoginFlags } from './run.js';

export const registerLogin: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('login')
    .description('log in to the backend and cache the tokens (or store an API key)')
    .option('--email <email>', 'developer account email (prompted on a terminal)')
    .option('--password-stdin', 'read the password from stdin')
    .option('--api-key-stdin', 'read an API key from stdin and store it instead of logging in')
    .addHelpText(
      'after',
      `
Examples:
  $ apple-import login --server https://ow.example.com --email me@example.com
  $ printf '%s' "$OW_PASSWORD" | apple-import login --email me@example.com --password-stdin
  $ printf '%s' "$OW_API_KEY" | apple-import login --api-key-stdin`,
    )
    .action(state.action(async (f, flags: LoginFlags) => (await import('./run.js')).runLogin(f, flags)));
};
