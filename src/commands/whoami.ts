import type { Command } from 'commander';
import type { RunState } from '../program.js';
import type { RegisterCommand } from './index.js';

export const registerWhoami: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('whoami')
    .description('show the server, profile, identity and where the credential comes from')
    .action(state.action(async (ctx) => (await import('./whoami-run.js')).runWhoami(ctx)));
};
