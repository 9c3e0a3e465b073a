import { join } from 'node:path';
import { BackendApi } from './adapters/backend-api.js';
import { ConfigStore } from './adapters/config-store.js';
import { withFileLock } from './adapters/file-lock.js';
import { HttpClient } from './adapters/http.js';
import { isLoopback, resolveSettings, type Settings } from './config/settings.js';
import type { AppContext } from './context.js';
import { Session } from './core/session.js';

export interface Services {
  store: ConfigStore;
  settings: Settings;
  http: HttpClient;
  api: BackendApi;
  session: Session;
}

const cache = new WeakMap<AppContext, Services>();

/** Builds the adapters a command needs from the context, once per run (the Factory's lazy parts). */
export function services(ctx: AppContext, extra: { user?: string } = {}): Services {
  const hit = cache.get(ctx);
  if (hit) return hit;
  const store = new ConfigStore(ctx.env.configDir);
  const settings = resolveSettings({ ...ctx.globals, user: extra.user }, ctx.env, store);
  const server = settings.server.value;
  if (server.startsWith('http://') && !isLoopback(server) && !ctx.globals.insecure) {
    ctx.out.warn(
      `${server} uses plain http: credentials travel unencrypted (use --insecure to silence this).`,
    );
  }
  const http = new HttpClient({
    baseUrl: server,
    dispatcher: ctx.dispatcher,
    signal: ctx.signal,
    userAgent: `apple-import/${ctx.version}`,
    debug: (m) => ctx.out.debug(m),
  });
  const api = new BackendApi(http);
  const lockPath = join(store.dir, 'credentials.lock');
  const session = new Session({
    server,
    profile: settings.profile.value,
    clock: ctx.clock,
    flag: {
      apiKey: settings.apiKey?.value,
      apiKeySource: sourceOf(settings.apiKey),
      token: settings.token?.value,
      tokenSource: sourceOf(settings.token),
    },
    store,
    refresh: (rt) => api.refresh(rt, ctx.signal),
    withLock: (fn) =>
      withFileLock(
        lockPath,
        { clock: ctx.clock, signal: ctx.signal, ...(ctx.host ? { owner: ctx.host } : {}) },
        fn,
      ),
    registerSecret: (s) => ctx.redactor.add(s),
  });
  const built = { store, settings, http, api, session };
  cache.set(ctx, built);
  return built;
}

function sourceOf(r: { source: string } | undefined): 'flag' | 'env' | undefined {
  return r === undefined ? undefined : r.source === 'env' ? 'env' : 'flag';
}
