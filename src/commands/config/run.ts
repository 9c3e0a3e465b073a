import { CONFIG_KEYS, type ConfigKey, isConfigKey, normalizeServerUrl } from '../../config/settings.js';
import type { AppContext } from '../../context.js';
import { isUuid } from '../../core/users.js';
import { UsageError } from '../../errors.js';
import { services } from '../../services.js';

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

/** `config get`: exit 1 when the key has no stored value. */
export async function configGet(ctx: AppContext, key: string): Promise<number> {
  const k = checkKey(key);
  const { store, settings } = services(ctx);
  const value = store.profile(settings.profile.value)[k];
  if (ctx.globals.json) ctx.out.json({ profile: settings.profile.value, key: k, value: value ?? null });
  else if (value !== undefined) ctx.out.data(value);
  return value === undefined ? 1 : 0;
}

export async function configSet(ctx: AppContext, key: string, value: string): Promise<number> {
  const k = checkKey(key);
  const v = checkValue(k, value);
  const { store, settings } = services(ctx);
  await store.setProfileValue(settings.profile.value, k, v);
  if (ctx.globals.json) ctx.out.json({ profile: settings.profile.value, key: k, value: v });
  else ctx.out.success(`${k} = ${v} (profile ${settings.profile.value})`);
  return 0;
}

export async function configUnset(ctx: AppContext, key: string): Promise<number> {
  const k = checkKey(key);
  const { store, settings } = services(ctx);
  await store.setProfileValue(settings.profile.value, k, undefined);
  if (ctx.globals.json) ctx.out.json({ profile: settings.profile.value, key: k, value: null });
  else ctx.out.success(`${k} unset (profile ${settings.profile.value})`);
  return 0;
}

/** `config list`: the effective settings, each with its source (flag, env, profile, default). */
export async function configList(ctx: AppContext): Promise<number> {
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
}

export async function configPath(ctx: AppContext): Promise<number> {
  const { store } = services(ctx);
  if (ctx.globals.json) ctx.out.json({ path: store.path });
  else ctx.out.data(store.path);
  return 0;
}
