import type { AppContext } from '../../context.js';
import { ApiError, AppError } from '../../errors.js';
import { services } from '../../services.js';

/** `logout`: revokes the cached login on the server (best effort), then deletes it locally. */
export async function runLogout(ctx: AppContext): Promise<number> {
  const { api, store, settings } = services(ctx);
  const server = settings.server.value;
  const profile = settings.profile.value;
  const stored = store.credential(profile, server);
  if (!stored) {
    if (ctx.globals.json) ctx.out.json({ server, profile, loggedOut: false, reason: 'not logged in' });
    else ctx.out.info(`Not logged in to ${server} (profile ${profile}); nothing to do.`);
    return 0;
  }
  let revoked: 'revoked' | 'already-revoked' | 'unreachable' | 'not-applicable' = 'not-applicable';
  if (stored.kind === 'login') {
    ctx.redactor.add(stored.refreshToken);
    ctx.redactor.add(stored.accessToken);
    // contract §1.4: /auth/logout invalidates nothing; revoking the refresh token is the real logout.
    try {
      await api.revoke(stored.refreshToken, ctx.signal);
      revoked = 'revoked';
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) revoked = 'already-revoked';
      else if (err instanceof AppError && (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT')) {
        revoked = 'unreachable';
        ctx.out.warn(
          `could not reach ${server} to revoke the login (${err.message}); deleting it locally anyway.`,
        );
      } else if (err instanceof ApiError) {
        revoked = 'unreachable';
        ctx.out.warn(`the server did not revoke the login (${err.message}); deleting it locally anyway.`);
      } else throw err;
    }
  }
  await store.deleteCredential(profile, server);
  if (ctx.globals.json) ctx.out.json({ server, profile, loggedOut: true, revoke: revoked });
  else ctx.out.success(`Logged out of ${server} (profile ${profile}).`);
  return 0;
}
