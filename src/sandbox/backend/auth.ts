import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { BackendContext, RouteHandler } from './context.js';
import { isoAt } from './context.js';
import { signJwt, verifyJwt } from './jwt.js';
import { bearerChallenge, HttpError, readBody, readJsonObject, sendJson } from './respond.js';
import type { Developer, RefreshTokenRow } from './state.js';
import { requireUuid } from './validation.js';

const API_KEY_HEADER = 'x-open-wearables-api-key';

/** Adds a developer account. */
export function addDeveloper(
  ctx: BackendContext,
  fields: { email: string; password: string; first_name?: string; last_name?: string },
): Developer {
  const at = isoAt(ctx.now());
  const developer: Developer = {
    id: randomUUID(),
    email: fields.email,
    password: fields.password,
    first_name: fields.first_name ?? null,
    last_name: fields.last_name ?? null,
    created_at: at,
    updated_at: at,
  };
  ctx.state.developers.push(developer);
  return developer;
}

/** Contract §1.5: `sk-` + `secrets.token_hex(16)`. */
export function addApiKey(ctx: BackendContext, key = `sk-${randomBytes(16).toString('hex')}`): string {
  ctx.state.apiKeys.add(key);
  return key;
}

/** A developer JWT with only `sub` and `exp` (contract §1.1). */
export function issueAccessToken(ctx: BackendContext, developerId: string, ttlSeconds?: number): string {
  const exp = Math.floor(ctx.now() / 1000) + (ttlSeconds ?? ctx.accessTokenTtlSeconds);
  return signJwt({ sub: developerId, exp }, ctx.jwtSecret);
}

/** An SDK-scoped JWT for a user (contract §1.7): `sub` the user, `scope: "sdk"`, `app_id`, `exp`. */
export function issueSdkToken(
  ctx: BackendContext,
  userId: string,
  appId: string,
  ttlSeconds?: number,
): string {
  const exp = Math.floor(ctx.now() / 1000) + (ttlSeconds ?? ctx.accessTokenTtlSeconds);
  return signJwt({ sub: userId, scope: 'sdk', app_id: appId, exp }, ctx.jwtSecret);
}

function issueTokens(ctx: BackendContext, row: Omit<RefreshTokenRow, 'token' | 'createdAt' | 'revokedAt'>) {
  const refresh = `rt-${randomBytes(16).toString('hex')}`;
  ctx.state.refreshTokens.set(refresh, { ...row, token: refresh, createdAt: ctx.now(), revokedAt: null });
  const access =
    row.kind === 'sdk'
      ? issueSdkToken(ctx, row.userId ?? '', row.appId ?? '')
      : issueAccessToken(ctx, row.developerId);
  return {
    access_token: access,
    token_type: 'bearer',
    refresh_token: refresh,
    expires_in: ctx.accessTokenTtlSeconds,
  };
}

function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1] ?? null;
}

function developerFromJwt(ctx: BackendContext, req: IncomingMessage): Developer | null {
  const token = bearerToken(req);
  if (!token) return null;
  const claims = verifyJwt(token, ctx.jwtSecret, ctx.now());
  if (!claims || claims.scope === 'sdk') return null;
  return ctx.state.developers.find((d) => d.id === claims.sub) ?? null;
}

/**
 * Contract §1.6 `ApiKeyDep`: a valid developer JWT wins; an invalid or expired one is silently ignored and the
 * API-key header is tried next (§1.8: so an expired JWT alone yields "Authentication required…").
 */
export function requireApiKeyOrJwt(ctx: BackendContext, req: IncomingMessage): void {
  if (developerFromJwt(ctx, req)) return;
  const key = req.headers[API_KEY_HEADER];
  if (typeof key === 'string' && key.length > 0) {
    if (ctx.state.apiKeys.has(key)) return;
    throw new HttpError(401, 'Invalid or missing API key');
  }
  throw new HttpError(401, 'Authentication required: provide JWT token or API key');
}

/** Contract §1.6 `DeveloperDep`: a developer JWT only. */
export function requireDeveloper(ctx: BackendContext, req: IncomingMessage): Developer {
  const token = bearerToken(req);
  if (token) {
    const claims = verifyJwt(token, ctx.jwtSecret, ctx.now());
    if (claims?.scope === 'sdk') {
      throw new HttpError(401, 'SDK tokens cannot access this endpoint', bearerChallenge);
    }
  }
  const developer = developerFromJwt(ctx, req);
  if (!developer) throw new HttpError(401, 'Could not validate credentials', bearerChallenge);
  return developer;
}

/** `POST /auth/login` — contract §1.1; every failure, including missing fields, is the same 401. */
export const login: RouteHandler = async (ctx, { req, res }) => {
  const fail = new HttpError(401, 'Incorrect email or password', bearerChallenge);
  const type = req.headers['content-type'] ?? '';
  const raw = await readBody(req);
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) throw fail;
  const form = new URLSearchParams(raw.toString('utf8'));
  const username = form.get('username');
  const password = form.get('password');
  if (!username || !password) throw fail;
  const developer = ctx.state.developers.find((d) => d.email === username);
  if (!developer || developer.password !== password) throw fail;
  sendJson(res, 200, issueTokens(ctx, { kind: 'developer', developerId: developer.id }));
};

async function readRefreshToken(req: IncomingMessage): Promise<string> {
  const body = await readJsonObject(req);
  const token = body.refresh_token;
  if (token === undefined) throw new HttpError(400, 'Field required');
  if (typeof token !== 'string') throw new HttpError(400, 'Input should be a valid string');
  return token;
}

/** `POST /token/refresh` — contract §1.3: rotation revokes the token just used. */
export const refresh: RouteHandler = async (ctx, { req, res }) => {
  const token = await readRefreshToken(req);
  const row = ctx.state.refreshTokens.get(token);
  if (!row || row.revokedAt !== null) {
    throw new HttpError(401, 'Invalid or revoked refresh token', bearerChallenge);
  }
  row.revokedAt = ctx.now();
  // The same kind it was given: a developer's token, or an SDK token for the same user and app (§1.3).
  const { kind, developerId, userId, appId } = row;
  sendJson(res, 200, issueTokens(ctx, { kind, developerId, userId, appId }));
};

/** `POST /token/revoke` — contract §1.3. */
export const revoke: RouteHandler = async (ctx, { req, res }) => {
  const token = await readRefreshToken(req);
  const row = ctx.state.refreshTokens.get(token);
  if (!row || row.revokedAt !== null) throw new HttpError(404, 'Refresh token not found');
  row.revokedAt = ctx.now();
  res.writeHead(204);
  res.end();
};

/** `GET /auth/me` — contract §1.4 `DeveloperRead`. */
export const me: RouteHandler = (ctx, { req, res }) => {
  const { password: _password, ...developer } = requireDeveloper(ctx, req);
  sendJson(res, 200, developer);
};

/** `POST /auth/logout` — contract §1.4: invalidates nothing on the server. */
export const logout: RouteHandler = (ctx, { req, res }) => {
  requireDeveloper(ctx, req);
  sendJson(res, 200, { message: 'Successfully logged out' });
};

/** Who called an `SDKAuthDep` route: an SDK token (for its user) or an API key (any user). */
export type SdkAuth = { kind: 'sdk_token'; userId: string; appId: string } | { kind: 'api_key' };

/**
 * Contract §1.6 `SDKAuthDep`: a valid SDK-scoped JWT first; anything else in the Bearer slot (a developer JWT,
 * an expired token) is passed over for the API-key header, so a developer JWT alone is "no credentials".
 */
export function requireSdkAuth(ctx: BackendContext, req: IncomingMessage): SdkAuth {
  const token = bearerToken(req);
  if (token) {
    const claims = verifyJwt(token, ctx.jwtSecret, ctx.now());
    if (claims?.scope === 'sdk') {
      return { kind: 'sdk_token', userId: claims.sub, appId: String(claims.app_id ?? '') };
    }
  }
  const key = req.headers[API_KEY_HEADER];
  if (typeof key === 'string' && key.length > 0) {
    if (ctx.state.apiKeys.has(key)) return { kind: 'api_key' };
    throw new HttpError(401, 'Invalid or missing API key');
  }
  throw new HttpError(401, 'Authentication required: provide SDK token or API key');
}

/**
 * `POST /users/{user_id}/token` — contract §1.7: an SDK token for the user, minted with a developer JWT
 * (app id `admin:<developer id>`) or app credentials (the double has no applications, so those are refused).
 */
export const mintSdkToken: RouteHandler = async (ctx, { req, res, params }) => {
  const userId = requireUuid(params.user_id ?? '');
  const raw = await readBody(req);
  let payload: Record<string, unknown> | null = null;
  if (raw.length > 0) {
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed))
        payload = parsed as Record<string, unknown>;
      else if (parsed !== null)
        throw new HttpError(400, 'Input should be a valid dictionary or object to extract fields from');
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'JSON decode error - Expecting value');
    }
  }
  const developer = developerFromJwt(ctx, req);
  let appId: string;
  if (payload?.app_id && payload.app_secret) {
    throw new HttpError(401, 'Invalid app credentials');
  } else if (developer) {
    appId = `admin:${developer.id}`;
  } else {
    throw new HttpError(
      400,
      'Either app credentials (app_id, app_secret) or admin authentication (Bearer token) is required',
    );
  }
  sendJson(res, 200, issueTokens(ctx, { kind: 'sdk', developerId: developer.id, userId, appId }));
};
