import type { Command } from 'commander';
import { CONFIG_KEYS, type ConfigKey, isConfigKey, normalizeServerUrl } from '../config/settings.js';
import { isUuid } from '../core/users.js';
import { UsageError } from '../errors.js';
import type { RunState } from '../program.js';
import { services } from '../services.js';
import type { RegisterCommand } from './index.js';

const KEY_HELP = Object.entries(CONFIG_KEYS)
  .map(([k, v]) => `  ${k.padEnd(8)} ${v}`)
  .join('\n');

function checkKey(key: string): ConfigKey {
  if (!isConfigKey(key)) {
    throw new UsageError(`Unknown config key "${key}".`, {
      hint: `known keys: ${Object.keys(CONFIG_KEYS).join(', ')}`,
    });
  }
  return key;
}

function checkValue(key: ConfigKey, value: string): string {
  if (key === 'server') return normalizeServerUrl(value);
  if (key === 'user' && !isUuid(value)) throw new UsageError(`user must be a UUID, not "${value}".`);
  return value;
}

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
    .action(
      state.action(async (ctx, key: string) => {
        const k = checkKey(key);
        const { store, settings } = services(ctx);
        const value = store.profile(settings.profile.value)[k];
        if (ctx.globals.json) ctx.out.json({ profile: settings.profile.value, key: k, value: value ?? null });
        else if (value !== undefined) ctx.out.data(value);
        return value === undefined ? 1 : 0;
      }),
    );

  config
    .command('set <key> <value>')
    .description('store a value')
    .action(
      state.action(async (ctx, key: string, value: string) => {
        const k = checkKey(key);
        const v = checkValue(k, value);
        const { store, settings } = services(ctx);
        store.setProfileValue(settings.profile.value, k, v);
        if (ctx.globals.json) ctx.out.json({ profile: settings.profile.value, key: k, value: v });
        else ctx.out.success(`${k} = ${v} (profile ${settings.profile.value})`);
        return 0;
      }),
    );

  config
    .command('unset <key>')
    .description('remove a stored value')
    .action(
      state.action(async (ctx, key: string) => {
        const k = checkKey(key);
        const { store, settings } = services(ctx);
        store.setProfileValue(settings.profile.value, k, undefined);
        if (ctx.globals.json) ctx.out.json({ profile: settings.profile.value, key: k, value: null });
        else ctx.out.success(`${k} unset (profile ${settings.profile.value})`);
        return 0;
      }),
    );

  config
    .command('list')
    .description('show the effective settings and where each comes from')
    .action(
      state.action(async (ctx) => {
        const { settings, store, session } = services(ctx);
        const credential = session.credential();
        const rows = {
          profile: { value: settings.profile.value, source: settings.profile.source },
          server: { value: settings.server.value, source: settings.server.source },
          user: settings.user ? { value: settings.user.value, source: settings.user.source } : null,
          credential: credential ? { value: credential.kind, source: credential.source } : null,
        };
        if (ctx.globals.json) {
          ctx.out.json({ ...rows, configFile: store.path, profiles: Object.keys(store.profiles()) });
          return 0;
        }
        for (const [k, r] of Object.entries(rows)) {
          ctx.out.data(`${k.padEnd(10)} ${r ? `${r.value}  (${r.source})` : '-'}`);
        }
        return 0;
      }),
    );

  config
    .command('path')
    .description('print where the config file is')
    .action(
      state.action(async (ctx) => {
        const { store } = services(ctx);
        if (ctx.globals.json) ctx.out.json({ path: store.path });
        else ctx.out.data(store.path);
        return 0;
      }),
    );
};
