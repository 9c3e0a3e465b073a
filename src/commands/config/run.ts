import { CONFIG_KEYS, type ConfigKey, isConfigKey, normalizeServerUrl } from '../../config/settings.js';
import { isEmail, isUuid } from '../../core/users.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { Factory } from '../../factory.js';

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
  if (key === 'user' && !isUuid(value) && !isEmail(value))
    throw new UsageError(`user must be a user id (a UUID) or an email, not "${value}".`);
  return value;
}

/** `config get`: exit 1 (a failure, as `git config` does) when the key has no stored value. */
export async function configGet(f: Factory, key: string): Promise<number> {
  const k = checkKey(key);
  const store = f.configStore();
  const settings = f.settings();
  const value = store.profile(settings.profile.value)[k];
  if (f.globals.json) f.out.json({ profile: settings.profile.value, key: k, value: value ?? null });
  else if (value !== undefined) f.out.data(value);
  return value === undefined ? ExitCode.FAILURE : ExitCode.OK;
}

export async function configSet(f: Factory, key: string, value: string): Promise<number> {
  const k = checkKey(key);
  const v = checkValue(k, value);
  const store = f.configStore();
  const settings = f.settings();
  await store.setProfileValue(settings.profile.value, k, v);
  if (f.globals.json) f.out.json({ profile: settings.profile.value, key: k, value: v });
  else f.out.success(`${k} = ${v} (profile ${settings.profile.value})`);
  return 0;
}

export async function configUnset(f: Factory, key: string): Promise<number> {
  const k = checkKey(key);
  const store = f.configStore();
  const settings = f.settings();
  await store.setProfileValue(settings.profile.value, k, undefined);
  if (f.globals.json) f.out.json({ profile: settings.profile.value, key: k, value: null });
  else f.out.success(`${k} unset (profile ${settings.profile.value})`);
  return 0;
}

/** `config list`: the effective settings, each with its source (flag, env, profile, default). */
export async function configList(f: Factory): Promise<number> {
  const store = f.configStore();
  const settings = f.settings();
  const credential = f.session().credential();
  const rows = {
    profile: { value: settings.profile.value, source: settings.profile.source },
    server: { value: settings.server.value, source: settings.server.source },
    user: settings.user ? { value: settings.user.value, source: settings.user.source } : null,
    credential: credential ? { value: credential.kind, source: credential.source } : null,
  };
  if (f.globals.json) {
    f.out.json({ ...rows, configFile: store.path, profiles: Object.keys(store.profiles()) });
    return 0;
  }
  for (const [k, r] of Object.entries(rows)) {
    f.out.data(`${k.padEnd(10)} ${r ? `${r.value}  (${r.source})` : '-'}`);
  }
  return 0;
}

export async function configPath(f: Factory): Promise<number> {
  const store = f.configStore();
  if (f.globals.json) f.out.json({ path: store.path });
  else f.out.data(store.path);
  return 0;
}
