import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';

export const registerWhoami: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('whoami')
    .description('show the server, profile, identity and where the credential comes from')
    .action(state.action(async (f) => (await import('./run.js')).runWhoami(f)));
};
