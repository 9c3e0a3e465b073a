/**
 * The credential flows: a password login whose tokens are cached (contract §1.1), an API key proved and
 * stored (§1.5, §9.1), and a logout that revokes the refresh token on the server before the local copy
 * is deleted (§1.4: `/auth/logout` invalidates nothing).
 */
import type { AuthApi } from '../../adapters/backend-api.js';
import type { Clock } from '../../adapters/clock.js';
import type { StoredCredential } from '../../adapters/config-store.js';
import { ApiError, AppError } from '../../errors.js';
import { credentialFromGrant } from './session.js';

export interface CredentialStore {
  credential(profile: string, server: string): StoredCredential | undefined;
  saveCredential(profile: string, server: string, c: StoredCredential): Promise<void>;
  deleteCredential(profile: string, server: string): Promise<unknown>;
}

export interface AuthPorts {
  auth: Pick<AuthApi, 'login' | 'refresh' | 'revoke' | 'checkApiKey'>;
  store: CredentialStore;
  clock: Clock;
  signal: AbortSignal;
  /** A secret that must be masked from now on. */
  registerSecret(secret: string): void;
}

/** Where a credential is kept: one per profile and server. */
export interface LoginTarget {
  server: string;
  profile: string;
}

/**
 * What a login did to the profile's server: `saved` (the profile had none, so the server logged in to
 * becomes its server and later commands need no --server), `kept` (the profile names another server,
 * which stays: this login is used with --server), or `unchanged` (already the profile's server, or the
 * server came from the default and there was nothing to remember).
 */
export type ProfileServer = 'saved' | 'kept' | 'unchanged';

export interface ProfileServerStore {
  profile(name: string): { server?: string | undefined };
  setProfileValue(name: string, key: 'server', value: string): Promise<void>;
}

/** What a login or a stored key needs besides the credential flows: the profile's server to remember. */
export interface LoginPorts extends AuthPorts {
  profiles: ProfileServerStore;
  normalizeServer(url: string): string;
}

/** Where a login goes, and whether its server was given explicitly (a flag), so is worth remembering. */
export interface LoginPlace extends LoginTarget {
  explicitServer: boolean;
}

export interface RememberedServer {
  status: ProfileServer;
  /** The profile's server after the login, if it has one. */
  server: string | undefined;
}

/** After a login or a stored key: a server given explicitly is remembered in a profile that has none. */
async function rememberServer(ports: LoginPorts, place: LoginPlace): Promise<RememberedServer> {
  const stored = ports.profiles.profile(place.profile).server;
  const current = stored === undefined ? undefined : ports.normalizeServer(stored);
  if (current === place.server || !place.explicitServer) return { status: 'unchanged', server: current };
  if (current !== undefined) return { status: 'kept', server: current };
  await ports.profiles.setProfileValue(place.profile, 'server', place.server);
  return { status: 'saved', server: place.server };
}

export interface PasswordLogin {
  email: string;
  /** When the cached access token expires (it is refreshed before that). */
  expiresAt: number | undefined;
  profileServer: RememberedServer;
}

export async function loginWithPassword(
  ports: LoginPorts,
  target: LoginPlace,
  creds: { email: string; password: string },
): Promise<PasswordLogin> {
  ports.registerSecret(creds.password);
  let grant: Awaited<ReturnType<AuthPorts['auth']['login']>>;
  try {
    grant = await ports.auth.login({ ...creds, signal: ports.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      // contract §1.1: the backend's own words, e.g. "Incorrect email or password".
      throw new AppError(
        'AUTH_INVALID',
        `Login to ${target.server} failed: ${err.detail ?? 'unauthorized'}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  const credential = credentialFromGrant(grant, ports.clock.now(), creds.email);
  await ports.store.saveCredential(target.profile, target.server, credential);
  return {
    email: creds.email,
    expiresAt: credential.kind === 'login' ? credential.expiresAt : undefined,
    profileServer: await rememberServer(ports, target),
  };
}

/** Proves the key against the server, then stores it; a rejected key is never stored. */
export async function storeApiKey(
  ports: LoginPorts,
  target: LoginPlace,
  apiKey: string,
): Promise<{ profileServer: RememberedServer }> {
  ports.registerSecret(apiKey);
  try {
    await ports.auth.checkApiKey({ apiKey, signal: ports.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      throw new AppError(
        'AUTH_INVALID',
        `${target.server} rejected the API key: ${err.detail ?? err.message}`,
        {
          cause: err,
        },
      );
    }
    throw err;
  }
  await ports.store.saveCredential(target.profile, target.server, {
    kind: 'api-key',
    apiKey,
    savedAt: ports.clock.now(),
  });
  return { profileServer: await rememberServer(ports, target) };
}

export type RevokeOutcome = 'revoked' | 'already-revoked' | 'unreachable' | 'not-applicable';

export type LogoutResult =
  | { loggedOut: false; reason: 'not logged in' }
  | {
      loggedOut: true;
      revoke: RevokeOutcome;
      /** Why the server did not revoke it, when it did not (the local copy is deleted anyway). */
      problem?: { kind: 'unreachable' | 'refused'; message: string };
    };

/** Best effort on the server (a 404 means it was revoked already), then always deleted locally. */
export async function logout(ports: AuthPorts, target: LoginTarget): Promise<LogoutResult> {
  const stored = ports.store.credential(target.profile, target.server);
  if (!stored) return { loggedOut: false, reason: 'not logged in' };
  let revoke: RevokeOutcome = 'not-applicable';
  let problem: { kind: 'unreachable' | 'refused'; message: string } | undefined;
  if (stored.kind === 'login') {
    ports.registerSecret(stored.refreshToken);
    ports.registerSecret(stored.accessToken);
    try {
      await ports.auth.revoke({ refreshToken: stored.refreshToken, signal: ports.signal });
      revoke = 'revoked';
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) revoke = 'already-revoked';
      else if (err instanceof AppError && (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT')) {
        revoke = 'unreachable';
        problem = { kind: 'unreachable', message: err.message };
      } else if (err instanceof ApiError) {
        revoke = 'unreachable';
        problem = { kind: 'refused', message: err.message };
      } else throw err;
    }
  }
  await ports.store.deleteCredential(target.profile, target.server);
  return { loggedOut: true, revoke, ...(problem ? { problem } : {}) };
}
