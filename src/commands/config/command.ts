import type { Command } from 'commander';
import { CONFIG_KEYS } from '../../config/settings.js';
import type { RegisterCommand, RunState } from '../types.js';

const KEY_HELP = Object.entries(CONFIG_KEYS)
  .map(([k, v]) => `  ${k.padEnd(8)} ${v}`)
  .join('\n');

const run = () => import('./run.js');

export const registerConfig: RegisterCommand = (program: Command, state: RunState) => {
  const config = program
    .command('config')
    .description('read and change settings in the config file (per --profile)')
    .addHelpText(
      'after',
      `\nKeys:\n${KEY_HELP}\n\nExamples:\n  $ apple-import config set server https://ow.example.com\n  $ apple-import --profile staging config set user 3f1c2b9e-5a41-4c7d-9e2b-71d0a8c4e6f1\n  $ apple-import config list --json`,
    );

  config
    .command('get <key>')
    .description('print a stored value')
    .action(state.action(async (f, key: string) => (await run()).configGet(f, key)));

  config
    .command('set <key> <value>')
    .description('store a value')
    .action(state.action(async (f, key: string, value: string) => (await run()).configSet(f, key, value)));

  config
    .command('unset <key>')
    .description('remove a stored value')
    .action(state.action(async (f, key: string) => (await run()).configUnset(f, key)));

  config
    .command('list')
    .description('show the effective settings and where each comes from')
    .action(state.action(async (f) => (await run()).configList(f)));

  config
    .command('path')
    .description('print where the config file is')
    .action(state.action(async (f) => (await run()).configPath(f)));
};
