import type { Clock } from '../../adapters/clock.js';
import type { StoredCredential } from '../../adapters/config-store.js';
import { ApiError, AppError } from '../../errors.js';
import { jwtExpiryMs } from './jwt.js';

export type CredentialSource = 'flag' | 'env' | 'stored';

export type Credential =
  | { kind: 'api-key'; apiKey: string; source: CredentialSource }
  | { kind: 'token'; token: string; source: 'flag' | 'env'; expiresAt: number | undefined }
  | { kind: 'login'; stored: Extract<StoredCredential, { kind: 'login' }>; source: 'stored' };

export interface TokenGrant {
  access_token: string;
  refresh_token?: string | undefined;
  expires_in?: number | undefined;
}

export interface SessionDeps {
  server: string;
  profile: string;
  clock: Clock;
  flag: { apiKey?: string; token?: string; apiKeySource?: 'flag' | 'env'; tokenSource?: 'flag' | 'env' };
  store: {
    credential(profile: string, server: string): StoredCredential | undefined;
    saveCredential(profile: string, server: string, c: StoredCredential): Promise<void>;
    /** Every (profile, server) holding a credential (for the hint when this one has none). */
    logins?(): { profile: string; server: string }[];
  };
  refresh(refreshToken: string): Promise<TokenGrant>;
  /** Serialises refreshes across processes (refresh tokens rotate: contract §1.3). */
  withLock<T>(fn: () => Promise<T>): Promise<T>;
  /** A secret that must be masked from now on. */
  registerSecret(secret: string): void;
}

/** Refresh this long before `exp` so a request never leaves with a token about to expire (contract §9.1). */
export const REFRESH_MARGIN_MS = 60_000;

/** Converts a login/refresh answer into what is cached. */
export function credentialFromGrant(grant: TokenGrant, now: number, email?: string): StoredCredential {
  if (!grant.refresh_token) {
    throw new AppError('AUTH_INVALID', 'The server did not return a refresh token.', {
      hint: 'This backend may be older than the versions apple-import supports.',
    });
  }
  const expiresAt = jwtExpiryMs(grant.access_token) ?? now + (grant.expires_in ?? 3600) * 1000;
  return {
    kind: 'login',
    accessToken: grant.access_token,
    refreshToken: grant.refresh_token,
    expiresAt,
    ...(email ? { email } : {}),
    savedAt: now,
  };
}

/**
 * Which credential a request uses, and keeping a cached login fresh: flag > env > stored; a token or key
 * from a flag or the environment is used as is and never written to disk.
 */
export class Session {
  private cached: Credential | undefined | null = null;

  constructor(private readonly deps: SessionDeps) {}

  credential(): Credential | undefined {
    if (this.cached !== null) return this.cached;
    const { flag } = this.deps;
    const rank = (src: 'flag' | 'env' | undefined) => (src === 'flag' ? 0 : 1);
    let c: Credential | undefined;
    // flag beats env; at the same level a token beats a key (the backend tries the JWT first, §1.6).
    if (flag.token && (!flag.apiKey || rank(flag.tokenSource) <= rank(flag.apiKeySource))) {
      c = {
        kind: 'token',
        token: flag.token,
        source: flag.tokenSource ?? 'flag',
        expiresAt: jwtExpiryMs(flag.token),
      };
    } else if (flag.apiKey) {
      c = { kind: 'api-key', apiKey: flag.apiKey, source: flag.apiKeySource ?? 'flag' };
    } else {
      const stored = this.deps.store.credential(this.deps.profile, this.deps.server);
      if (stored?.kind === 'login') c = { kind: 'login', stored, source: 'stored' };
      else if (stored?.kind === 'api-key') c = { kind: 'api-key', apiKey: stored.apiKey, source: 'stored' };
    }
    if (c) this.register(c);
    this.cached = c;
    return c;
  }

  require(): Credential {
    const c = this.credential();
    if (!c) {
      throw new AppError('AUTH_REQUIRED', `Not logged in to ${this.deps.server}.`, {
        hint: this.loginHint(),
      });
    }
    return c;
  }

  /** Names a login held for another server (the usual cause: it was made with --server), else how to log in. */
  private loginHint(): string {
    const { profile, server } = this.deps;
    const logins = this.deps.store.logins?.() ?? [];
    const elsewhere =
      logins.find((l) => l.profile === profile && l.server !== server) ??
      logins.find((l) => l.profile !== profile && l.server === server) ??
      logins.find((l) => l.profile !== profile);
    const login = 'run `apple-import login` (or set APPLE_IMPORT_API_KEY)';
    if (!elsewhere) return login;
    const flags = [
      elsewhere.server !== server ? `--server ${elsewhere.server}` : '',
      elsewhere.profile !== profile ? `--profile ${elsewhere.profile}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return `there is a login for ${elsewhere.server} (profile ${elsewhere.profile}): pass ${flags} to use it, or log in here: ${login}`;
  }

  /** Headers for an authenticated request, refreshing a cached login that is about to expire. */
  async headers(): Promise<Record<string, string>> {
    const c = this.require();
    if (c.kind === 'api-key') return { 'x-open-wearables-api-key': c.apiKey };
    if (c.kind === 'token') return { authorization: `Bearer ${c.token}` };
    if (c.stored.expiresAt - this.deps.clock.now() < REFRESH_MARGIN_MS)
      await this.refresh(c.stored.refreshToken);
    const fresh = this.require();
    return { authorization: `Bearer ${fresh.kind === 'login' ? fresh.stored.accessToken : ''}` };
  }

  /**
   * Runs an authenticated call; on a 401 with a cached login it refreshes once and retries once
   * (contract §1.8: an expired JWT on an API-key route gives a generic 401, so any 401 qualifies).
   */
  async call<T>(fn: (headers: Record<string, string>) => Promise<T>): Promise<T> {
    const headers = await this.headers();
    try {
      return await fn(headers);
    } catch (err) {
      const c = this.credential();
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      if (c?.kind !== 'login') throw this.rejected(c, err);
      await this.refresh(c.stored.refreshToken);
      try {
        return await fn(await this.headers());
      } catch (again) {
        if (again instanceof ApiError && again.status === 401) throw this.rejected(this.credential(), again);
        throw again;
      }
    }
  }

  /**
   * Refreshes under the cross-process lock. If another process already rotated the token we hold, its
   * result is adopted instead of spending our (now revoked) refresh token.
   */
  async refresh(usedRefreshToken: string): Promise<void> {
    await this.deps.withLock(async () => {
      const current = this.deps.store.credential(this.deps.profile, this.deps.server);
      if (current?.kind !== 'login') {
        throw new AppError('AUTH_REQUIRED', `Not logged in to ${this.deps.server} any more.`, {
          hint: 'run `apple-import login`',
        });
      }
      const now = this.deps.clock.now();
      if (current.refreshToken !== usedRefreshToken && current.expiresAt - now >= REFRESH_MARGIN_MS) {
        this.setLogin(current);
        return;
      }
      let grant: TokenGrant;
      try {
        grant = await this.deps.refresh(current.refreshToken);
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 400)) {
          throw new AppError(
            'AUTH_REFRESH_FAILED',
            `Your login to ${this.deps.server} has expired or was revoked.`,
            {
              cause: err,
              hint: 'run `apple-import login` again',
            },
          );
        }
        throw err;
      }
      const next = credentialFromGrant(grant, this.deps.clock.now(), current.email);
      // Saved before anything else: the old refresh token is already revoked server-side.
      await this.deps.store.saveCredential(this.deps.profile, this.deps.server, next);
      this.setLogin(next as Extract<StoredCredential, { kind: 'login' }>);
    });
  }

  private setLogin(stored: Extract<StoredCredential, { kind: 'login' }>): void {
    const c: Credential = { kind: 'login', stored, source: 'stored' };
    this.register(c);
    this.cached = c;
  }

  private register(c: Credential): void {
    if (c.kind === 'api-key') this.deps.registerSecret(c.apiKey);
    else if (c.kind === 'token') this.deps.registerSecret(c.token);
    else {
      this.deps.registerSecret(c.stored.accessToken);
      this.deps.registerSecret(c.stored.refreshToken);
    }
  }

  private rejected(c: Credential | undefined, err: ApiError): AppError {
    const what =
      c?.kind === 'api-key'
        ? `The API key (from ${c.source === 'stored' ? 'the config file' : c.source === 'env' ? 'APPLE_IMPORT_API_KEY' : '--api-key'})`
        : c?.kind === 'token'
          ? `The token (from ${c.source === 'env' ? 'APPLE_IMPORT_TOKEN' : '--token'})`
          : 'Your login';
    return new AppError(
      'AUTH_INVALID',
      `${what} was rejected by ${this.deps.server}: ${err.detail ?? err.message}`,
      {
        cause: err,
        hint:
          c?.kind === 'login'
            ? 'run `apple-import login` again'
            : 'check the credential, or run `apple-import login`',
      },
    );
  }
}
