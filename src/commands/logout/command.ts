import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';

export const registerLogout: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('logout')
    .description('revoke the cached login on the server and delete it locally')
    .action(state.action(async (f) => (await import('./run.js')).runLogout(f)));
};
