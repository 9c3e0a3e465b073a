import type { Developer } from '../../adapters/backend-api.js';
import type { AppContext } from '../../context.js';
import { services } from '../../services.js';

/** `whoami`: proves the credential works and says where it comes from. */
export async function runWhoami(ctx: AppContext): Promise<number> {
  const { api, settings, session } = services(ctx);
  const server = settings.server.value;
  const credential = session.require();
  let identity: Developer | undefined;
  if (credential.kind === 'api-key') {
    // contract §9.1: an API key cannot call /auth/me; an authorised GET /users proves it works.
    await session.call((h) => api.listUsers(h, { page: 1, limit: 1 }, ctx.signal));
  } else {
    identity = await session.call((h) => api.me(h, ctx.signal));
  }
  const current = session.credential();
  const expiresAt =
    current?.kind === 'login'
      ? current.stored.expiresAt
      : current?.kind === 'token'
        ? current.expiresAt
        : undefined;
  const result = {
    server,
    profile: settings.profile.value,
    credential: { kind: credential.kind, source: credential.source },
    ...(expiresAt ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
    ...(identity
      ? {
          identity: {
            id: identity.id,
            email: identity.email,
            first_name: identity.first_name ?? null,
            last_name: identity.last_name ?? null,
          },
        }
      : {}),
  };
  if (ctx.globals.json) {
    ctx.out.json(result);
    return 0;
  }
  const sourceText = { flag: 'command-line flag', env: 'environment', stored: 'config file' }[
    credential.source
  ];
  const kindText = { login: 'login', token: 'access token', 'api-key': 'API key' }[credential.kind];
  ctx.out.data(`server:     ${server}`);
  ctx.out.data(`profile:    ${settings.profile.value}`);
  if (identity) {
    const name = [identity.first_name, identity.last_name].filter(Boolean).join(' ');
    ctx.out.data(`identity:   ${identity.email}${name ? ` (${name})` : ''} [${identity.id}]`);
  } else {
    ctx.out.data('identity:   API key (instance-wide; keys carry no identity)');
  }
  ctx.out.data(`credential: ${kindText} from ${sourceText}`);
  if (expiresAt) ctx.out.data(`expires:    ${new Date(expiresAt).toISOString()}`);
  return 0;
}
