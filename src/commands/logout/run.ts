import { logout } from '../../core/auth/login.js';
import type { Factory } from '../../factory.js';

/** `logout`: revokes the cached login on the server (best effort), then deletes it locally. */
export async function runLogout(f: Factory): Promise<number> {
  const settings = f.settings();
  const target = { server: settings.server.value, profile: settings.profile.value };
  const result = await logout(
    {
      auth: f.authApi(),
      store: f.configStore(),
      clock: f.clock,
      signal: f.signal,
      registerSecret: (s) => f.redactor.add(s),
    },
    target,
  );
  if (!result.loggedOut) {
    if (f.globals.json) f.out.json({ ...target, loggedOut: false, reason: result.reason });
    else f.out.info(`Not logged in to ${target.server} (profile ${target.profile}); nothing to do.`);
    return 0;
  }
  if (result.problem?.kind === 'unreachable')
    f.out.warn(
      `could not reach ${target.server} to revoke the login (${result.problem.message}); deleting it locally anyway.`,
    );
  else if (result.problem)
    f.out.warn(
      `the server did not revoke the login (${result.problem.message}); deleting it locally anyway.`,
    );
  if (f.globals.json) f.out.json({ ...target, loggedOut: true, revoke: result.revoke });
  else f.out.success(`Logged out of ${target.server} (profile ${target.profile}).`);
  return 0;
}
