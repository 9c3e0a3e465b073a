import type { ConfigStore, ProfileSettings } from '../adapters/config-store.js';
import { UsageError } from '../errors.js';
import type { Env } from './env.js';

/** The global flags, as parsed before any command runs. */
export interface GlobalOptions {
  server?: string;
  profile?: string;
  apiKey?: string;
  token?: string;
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  debug: boolean;
  color: boolean;
  progress: boolean;
  insecure: boolean;
}

export type Source = 'flag' | 'env' | 'profile' | 'default';

export interface Resolved<T> {
  value: T;
  source: Source;
}

export const DEFAULT_SERVER = 'http://localhost:8000';
export const DEFAULT_PROFILE = 'default';

/** The keys `config set` accepts, with what each means; anything else is rejected. */
export const CONFIG_KEYS = {
  server: 'backend base URL, e.g. https://ow.example.com',
  user: 'default user id (UUID) for upload and status',
} as const satisfies Record<keyof ProfileSettings, string>;
export type ConfigKey = keyof typeof CONFIG_KEYS;

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(CONFIG_KEYS, key);
}

function pick<T>(flag: T | undefined, env: T | undefined, profile: T | undefined): Resolved<T> | undefined {
  if (flag !== undefined) return { value: flag, source: 'flag' };
  if (env !== undefined) return { value: env, source: 'env' };
  if (profile !== undefined) return { value: profile, source: 'profile' };
  return undefined;
}

/** Settings resolved as flag > environment > profile > default (product.md "Settings and precedence"). */
export interface Settings {
  profile: Resolved<string>;
  server: Resolved<string>;
  apiKey: Resolved<string> | undefined;
  token: Resolved<string> | undefined;
  user: Resolved<string> | undefined;
}

export function resolveSettings(
  globals: Pick<GlobalOptions, 'server' | 'profile' | 'apiKey' | 'token'> & { user?: string },
  env: Env,
  store: Pick<ConfigStore, 'profile'>,
): Settings {
  const profile = pick(globals.profile, env.profile, undefined) ?? {
    value: DEFAULT_PROFILE,
    source: 'default' as const,
  };
  const stored = store.profile(profile.value);
  const server = pick(globals.server, env.server, stored.server) ?? {
    value: DEFAULT_SERVER,
    source: 'default' as const,
  };
  return {
    profile,
    server: { ...server, value: normalizeServerUrl(server.value) },
    apiKey: pick(globals.apiKey, env.apiKey, undefined),
    token: pick(globals.token, env.token, undefined),
    user: pick(globals.user, env.user, stored.user),
  };
}

/** One spelling per server, so cached credentials are found again ("https://x/" and "https://x" match). */
export function normalizeServerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`Invalid server URL: ${raw}`, {
      hint: 'Use a full URL such as https://ow.example.com',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`Invalid server URL: ${raw} (only http and https are supported)`);
  }
  url.hash = '';
  url.search = '';
  return url.toString().replace(/\/+$/, '');
}

export function isLoopback(serverUrl: string): boolean {
  const host = new URL(serverUrl).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\./.test(host);
}
