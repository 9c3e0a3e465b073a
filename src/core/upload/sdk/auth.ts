/**
 * The credential the SDK route takes (contract §1.6 SDKAuthDep): an API key as it is, or an SDK user
 * token. A developer's JWT (a login, or a developer token passed in) is refused there, so one is used
 * only to mint an SDK token for the user (`POST /users/{id}/token`, §1.7), kept in memory, never written,
 * and minted again shortly before it expires (60 min lifetime, §1.2) or when the route answers 401.
 */
import type { TokenResponse } from '../../../adapters/backend-api.js';
import type { Clock } from '../../../adapters/clock.js';
import type { Authorizer } from '../../../adapters/http.js';
import { ApiError, AppError } from '../../../errors.js';
import { isSdkToken, jwtExpiryMs, jwtSubject } from '../../auth/jwt.js';
import { REFRESH_MARGIN_MS } from '../../auth/session.js';

export type SdkCredential = { kind: 'api-key'; apiKey: string } | { kind: 'bearer'; token: string };

export interface SdkAuthDeps {
  /** The session's credential (throws AUTH_REQUIRED without one). */
  credential(): SdkCredential;
  /** Mints an SDK token for the user with the developer's credential. */
  mint(userId: string): Promise<TokenResponse>;
  clock: Clock;
  /** The minted token must be masked in everything printed from now on. */
  registerSecret(secret: string): void;
}

export class SdkAuthorizer implements Authorizer {
  private token: string | null = null;
  private expiresAt = 0;

  constructor(
    private readonly deps: SdkAuthDeps,
    private readonly userId: string,
  ) {}

  /** How the route is called: `api-key`, `sdk-token` (given), or `minted` (from a developer login). */
  get mode(): 'api-key' | 'sdk-token' | 'minted' {
    const c = this.deps.credential();
    if (c.kind === 'api-key') return 'api-key';
    return isSdkToken(c.token) ? 'sdk-token' : 'minted';
  }

  /**
   * The user an SDK token given as the credential is for, or null for any other credential. Such a
   * token reaches only the SDK routes, not the user and status routes (contract §1.6).
   */
  static tokenUser(c: SdkCredential): string | null {
    if (c.kind !== 'bearer' || !isSdkToken(c.token)) return null;
    return jwtSubject(c.token) ?? null;
  }

  async call<T>(fn: (headers: Record<string, string>) => Promise<T>): Promise<T> {
    const c = this.deps.credential();
    if (c.kind === 'api-key') return fn({ 'x-open-wearables-api-key': c.apiKey });
    if (isSdkToken(c.token)) return fn({ authorization: `Bearer ${c.token}` });
    try {
      return await fn({ authorization: `Bearer ${await this.minted()}` });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      this.token = null;
      return fn({ authorization: `Bearer ${await this.minted()}` });
    }
  }

  private async minted(): Promise<string> {
    if (this.token !== null && this.expiresAt - this.deps.clock.now() > REFRESH_MARGIN_MS) return this.token;
    let grant: TokenResponse;
    try {
      grant = await this.deps.mint(this.userId);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 400)) {
        throw new AppError(
          'AUTH_INVALID',
          `The server would not issue an SDK token for user ${this.userId}.`,
          {
            cause: err,
            hint: 'log in again, or use an API key (APPLE_IMPORT_API_KEY)',
            ...(err.detail ? { details: err.detail } : {}),
          },
        );
      }
      throw err;
    }
    this.deps.registerSecret(grant.access_token);
    if (grant.refresh_token) this.deps.registerSecret(grant.refresh_token);
    this.token = grant.access_token;
    this.expiresAt =
      jwtExpiryMs(grant.access_token) ?? this.deps.clock.now() + (grant.expires_in ?? 3600) * 1000;
    return this.token;
  }
}
