import { whoami } from '../../core/auth/whoami.js';
import type { Factory } from '../../factory.js';

/** `whoami`: proves the credential works and says where it comes from. */
export async function runWhoami(f: Factory): Promise<number> {
  const settings = f.settings();
  const server = settings.server.value;
  const { credential, expiresAt, identity, backend } = await whoami({
    session: f.session(),
    backend: f.backend(),
    serverInfo: (s) => f.openApi().read(server, s),
    signal: f.signal,
  });
  if (f.globals.json) {
    f.out.json({
      server,
      profile: settings.profile.value,
      credential,
      backend,
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
    });
    return 0;
  }
  const sourceText = { flag: 'command-line flag', env: 'environment', stored: 'config file' }[
    credential.source
  ];
  const kindText = { login: 'login', token: 'access token', 'api-key': 'API key' }[credential.kind];
  f.out.data(`server:     ${server}`);
  f.out.data(`profile:    ${settings.profile.value}`);
  if (identity) {
    const name = [identity.first_name, identity.last_name].filter(Boolean).join(' ');
    f.out.data(`identity:   ${identity.email}${name ? ` (${name})` : ''} [${identity.id}]`);
  } else {
    f.out.data('identity:   API key (instance-wide; keys carry no identity)');
  }
  f.out.data(`credential: ${kindText} from ${sourceText}`);
  if (expiresAt) f.out.data(`expires:    ${new Date(expiresAt).toISOString()}`);
  f.out.data(`backend:    ${backend}`);
  return 0;
}
