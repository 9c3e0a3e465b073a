import type { AppContext } from '../../context.js';
import { credentialFromGrant } from '../../core/auth/session.js';
import { ApiError, AppError, UsageError } from '../../errors.js';
import { prompt, readAllStdin } from '../../io/prompt.js';
import { services } from '../../services.js';
import type { LoginFlags } from './command.js';

/** `login`: a password login whose tokens are cached, or an API key checked and stored. */
export async function runLogin(ctx: AppContext, flags: LoginFlags): Promise<number> {
  if (flags.passwordStdin && flags.apiKeyStdin) {
    throw new UsageError('--password-stdin and --api-key-stdin cannot be used together.');
  }
  const { api, store, settings } = services(ctx);
  const server = settings.server.value;
  const profile = settings.profile.value;
  if (settings.apiKey || settings.token) {
    ctx.out.warn(
      `a ${settings.token ? 'token' : 'API key'} from ${settings.token?.source ?? settings.apiKey?.source} takes precedence over what this login stores.`,
    );
  }

  if (flags.apiKeyStdin) {
    const apiKey = (await readAllStdin(ctx.io)).trim();
    if (!apiKey)
      throw new UsageError('No API key on stdin.', {
        hint: 'printf \'%s\' "$KEY" | apple-import login --api-key-stdin',
      });
    ctx.redactor.add(apiKey);
    // contract §9.1: an API key cannot call /auth/me; GET /users?limit=1 is the cheap check.
    try {
      await api.listUsers({ 'x-open-wearables-api-key': apiKey }, { page: 1, limit: 1 }, ctx.signal);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        throw new AppError('AUTH_INVALID', `${server} rejected the API key: ${err.detail ?? err.message}`, {
          cause: err,
        });
      }
      throw err;
    }
    await store.saveCredential(profile, server, { kind: 'api-key', apiKey, savedAt: ctx.clock.now() });
    if (ctx.globals.json) ctx.out.json({ server, profile, credential: 'api-key' });
    else ctx.out.success(`API key stored for ${server} (profile ${profile}).`);
    return 0;
  }

  let email = flags.email;
  if (!email) {
    if (!ctx.io.stdinIsTTY || flags.passwordStdin) {
      throw new UsageError('No email given.', { hint: 'pass --email <email>' });
    }
    email = (await prompt(ctx.io, 'Email: ', { signal: ctx.signal })).trim();
    if (!email) throw new UsageError('No email given.');
  }
  let password: string;
  if (flags.passwordStdin) {
    password = await readAllStdin(ctx.io);
  } else if (ctx.io.stdinIsTTY) {
    password = await prompt(ctx.io, 'Password: ', { hidden: true, signal: ctx.signal });
  } else {
    throw new UsageError('No password given and stdin is not a terminal.', {
      hint: 'pipe it in: printf \'%s\' "$PASSWORD" | apple-import login --email <email> --password-stdin',
    });
  }
  if (!password) throw new UsageError('The password is empty.');
  ctx.redactor.add(password);

  let grant: Awaited<ReturnType<typeof api.login>>;
  try {
    grant = await api.login(email, password, ctx.signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      // contract §1.1: the backend's own words, e.g. "Incorrect email or password".
      throw new AppError('AUTH_INVALID', `Login to ${server} failed: ${err.detail ?? 'unauthorized'}`, {
        cause: err,
      });
    }
    throw err;
  }
  const credential = credentialFromGrant(grant, ctx.clock.now(), email);
  await store.saveCredential(profile, server, credential);
  const expiresAt = credential.kind === 'login' ? new Date(credential.expiresAt).toISOString() : undefined;
  if (ctx.globals.json) ctx.out.json({ server, profile, email, credential: 'login', expiresAt });
  else ctx.out.success(`Logged in to ${server} as ${email} (profile ${profile}).`);
  return 0;
}
