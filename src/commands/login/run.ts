import { normalizeServerUrl } from '../../config/settings.js';
import {
  type LoginPorts,
  type LoginTarget,
  loginWithPassword,
  type RememberedServer,
  storeApiKey,
} from '../../core/auth/login.js';
import { UsageError } from '../../errors.js';
import type { Factory } from '../../factory.js';
import { prompt, readAllStdin } from '../../io/prompt.js';

/** The flags as commander hands them over (strings), before run() checks them. */
export interface LoginFlags {
  email?: string;
  passwordStdin?: boolean;
  apiKeyStdin?: boolean;
}

function loginPorts(f: Factory): LoginPorts {
  return {
    auth: f.authApi(),
    store: f.configStore(),
    profiles: f.configStore(),
    normalizeServer: normalizeServerUrl,
    clock: f.clock,
    signal: f.signal,
    registerSecret: (s) => f.redactor.add(s),
  };
}

/** `login`: a password login whose tokens are cached, or an API key checked and stored. */
export async function runLogin(f: Factory, flags: LoginFlags): Promise<number> {
  if (flags.passwordStdin && flags.apiKeyStdin) {
    throw new UsageError('--password-stdin and --api-key-stdin cannot be used together.');
  }
  const settings = f.settings();
  const target = { server: settings.server.value, profile: settings.profile.value };
  // A server given with --server is remembered in a profile that has none, so `whoami` next finds the login.
  const place = { ...target, explicitServer: settings.server.source === 'flag' };
  if (settings.apiKey || settings.token) {
    f.out.warn(
      `a ${settings.token ? 'token' : 'API key'} from ${settings.token?.source ?? settings.apiKey?.source} takes precedence over what this login stores.`,
    );
  }

  if (flags.apiKeyStdin) {
    const apiKey = (await readAllStdin(f.io)).trim();
    if (!apiKey)
      throw new UsageError('No API key on stdin.', {
        hint: 'printf \'%s\' "$KEY" | apple-import login --api-key-stdin',
      });
    const { profileServer: remembered } = await storeApiKey(loginPorts(f), place, apiKey);
    if (f.globals.json) f.out.json({ ...target, credential: 'api-key', profileServer: remembered });
    else f.out.success(`API key stored for ${target.server} (profile ${target.profile}).`);
    tellProfileServer(f, target, remembered);
    return 0;
  }

  const { email, password } = await askCredentials(f, flags);
  const login = await loginWithPassword(loginPorts(f), place, { email, password });
  const expiresAt = login.expiresAt === undefined ? undefined : new Date(login.expiresAt).toISOString();
  const remembered = login.profileServer;
  if (f.globals.json)
    f.out.json({ ...target, email, credential: 'login', expiresAt, profileServer: remembered });
  else f.out.success(`Logged in to ${target.server} as ${email} (profile ${target.profile}).`);
  tellProfileServer(f, target, remembered);
  return 0;
}

function tellProfileServer(f: Factory, target: LoginTarget, r: RememberedServer): void {
  if (r.status === 'saved')
    f.out.info(
      `Saved ${target.server} as the server of profile ${target.profile}: later commands use it without --server.`,
    );
  else if (r.status === 'kept')
    f.out.info(
      `Profile ${target.profile} keeps its server ${r.server}; use --server ${target.server} to use this login, or make it the default with \`apple-import config set server ${target.server}\`.`,
    );
}

/** The email from the flag or a prompt, the password from stdin or a hidden prompt. */
async function askCredentials(f: Factory, flags: LoginFlags): Promise<{ email: string; password: string }> {
  let email = flags.email;
  if (!email) {
    if (!f.io.stdinIsTTY || flags.passwordStdin) {
      throw new UsageError('No email given.', { hint: 'pass --email <email>' });
    }
    email = (await prompt(f.io, 'Email: ', { signal: f.signal })).trim();
    if (!email) throw new UsageError('No email given.');
  }
  let password: string;
  if (flags.passwordStdin) {
    password = await readAllStdin(f.io);
  } else if (f.io.stdinIsTTY) {
    password = await prompt(f.io, 'Password: ', { hidden: true, signal: f.signal });
  } else {
    throw new UsageError('No password given and stdin is not a terminal.', {
      hint: 'pipe it in: printf \'%s\' "$PASSWORD" | apple-import login --email <email> --password-stdin',
    });
  }
  if (!password) throw new UsageError('The password is empty.');
  f.redactor.add(password);
  return { email, password };
}
