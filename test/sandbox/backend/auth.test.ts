import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BackendDouble, startBackendDouble } from '../../../src/sandbox/backend/index.js';
import { bearer, DEV_EMAIL, DEV_PASSWORD, login } from './support.js';

describe('backend double: auth (contract §1)', () => {
  let backend: BackendDouble;
  const api = (path: string) => `${backend.url}/api/v1${path}`;

  before(async () => {
    backend = await startBackendDouble({
      seed: { developers: [{ email: DEV_EMAIL, password: DEV_PASSWORD, first_name: 'Dana' }] },
    });
  });
  after(() => backend.close());

  it('login returns a bearer JWT with only sub and exp, an rt- refresh token and expires_in', async () => {
    const tokens = await login(backend);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.expires_in, 3600);
    assert.match(tokens.refresh_token, /^rt-[0-9a-f]{32}$/);
    const [header, payload] = tokens.access_token.split('.') as [string, string];
    assert.equal(JSON.parse(Buffer.from(header, 'base64url').toString()).alg, 'HS256');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    assert.deepEqual(Object.keys(claims).sort(), ['exp', 'sub']);
    assert.equal(claims.sub, backend.state.developers[0]?.id);
  });

  for (const [name, form] of [
    ['wrong password', { username: DEV_EMAIL, password: 'nope' }],
    ['unknown email', { username: 'who@example.com', password: DEV_PASSWORD }],
    ['missing password', { username: DEV_EMAIL }],
    ['empty form', {}],
  ] as const) {
    it(`login failure (${name}) is 401 "Incorrect email or password" with WWW-Authenticate`, async () => {
      const res = await fetch(api('/auth/login'), { method: 'POST', body: new URLSearchParams(form) });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.deepEqual(await res.json(), { detail: 'Incorrect email or password' });
    });
  }

  it('refresh rotates: new tokens, the used one is revoked and its reuse is 401', async () => {
    const first = await login(backend);
    const post = (token: string) =>
      fetch(api('/token/refresh'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: token }),
      });
    const res = await post(first.refresh_token);
    assert.equal(res.status, 200);
    const second = (await res.json()) as { refresh_token: string; access_token: string };
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.ok(backend.state.refreshTokens.get(first.refresh_token)?.revokedAt);
    const me = await fetch(api('/auth/me'), { headers: bearer(second.access_token) });
    assert.equal(me.status, 200);

    const reuse = await post(first.refresh_token);
    assert.equal(reuse.status, 401);
    assert.equal(reuse.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(await reuse.json(), { detail: 'Invalid or revoked refresh token' });
  });

  it('refresh without a token is a 400 "Field required"', async () => {
    const res = await fetch(api('/token/refresh'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { detail: 'Field required' });
  });

  it('revoke answers 204 once, then 404 "Refresh token not found"', async () => {
    const { refresh_token } = await login(backend);
    const revoke = () =>
      fetch(api('/token/revoke'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token }),
      });
    const ok = await revoke();
    assert.equal(ok.status, 204);
    assert.equal(await ok.text(), '');
    const again = await revoke();
    assert.equal(again.status, 404);
    assert.deepEqual(await again.json(), { detail: 'Refresh token not found' });
  });

  it('/auth/me returns DeveloperRead; /auth/logout invalidates nothing', async () => {
    const { access_token, refresh_token } = await login(backend);
    const me = await fetch(api('/auth/me'), { headers: bearer(access_token) });
    const body = (await me.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), [
      'created_at',
      'email',
      'first_name',
      'id',
      'last_name',
      'updated_at',
    ]);
    assert.equal(body.email, DEV_EMAIL);
    assert.equal(body.first_name, 'Dana');

    const out = await fetch(api('/auth/logout'), { method: 'POST', headers: bearer(access_token) });
    assert.deepEqual(await out.json(), { message: 'Successfully logged out' });
    assert.equal((await fetch(api('/auth/me'), { headers: bearer(access_token) })).status, 200);
    assert.equal(backend.state.refreshTokens.get(refresh_token)?.revokedAt, null);
  });

  describe('auth dependency matrix (§1.6, §1.8)', () => {
    const cases: {
      name: string;
      path: string;
      headers: () => Record<string, string>;
      status: number;
      detail?: string;
      challenge?: boolean;
    }[] = [
      {
        name: 'ApiKeyDep, nothing',
        path: '/users',
        headers: () => ({}),
        status: 401,
        detail: 'Authentication required: provide JWT token or API key',
      },
      {
        name: 'ApiKeyDep, expired JWT',
        path: '/users',
        headers: () => bearer(backend.issueAccessToken(backend.state.developers[0]!.id, -10)),
        status: 401,
        detail: 'Authentication required: provide JWT token or API key',
      },
      {
        name: 'ApiKeyDep, garbage JWT',
        path: '/users',
        headers: () => bearer('not.a.jwt'),
        status: 401,
        detail: 'Authentication required: provide JWT token or API key',
      },
      {
        name: 'ApiKeyDep, unknown key',
        path: '/users',
        headers: () => ({ 'x-open-wearables-api-key': `sk-${'0'.repeat(32)}` }),
        status: 401,
        detail: 'Invalid or missing API key',
      },
      {
        name: 'ApiKeyDep, expired JWT but a valid key',
        path: '/users',
        headers: () => ({
          ...bearer(backend.issueAccessToken(backend.state.developers[0]!.id, -10)),
          'x-open-wearables-api-key': backend.createApiKey(),
        }),
        status: 200,
      },
      {
        name: 'ApiKeyDep, valid key',
        path: '/users',
        headers: () => ({ 'x-open-wearables-api-key': backend.createApiKey() }),
        status: 200,
      },
      {
        name: 'ApiKeyDep, valid JWT',
        path: '/users',
        headers: () => bearer(backend.issueAccessToken(backend.state.developers[0]!.id)),
        status: 200,
      },
      {
        name: 'DeveloperDep, nothing',
        path: '/auth/me',
        headers: () => ({}),
        status: 401,
        detail: 'Could not validate credentials',
        challenge: true,
      },
      {
        name: 'DeveloperDep, expired JWT',
        path: '/auth/me',
        headers: () => bearer(backend.issueAccessToken(backend.state.developers[0]!.id, 0)),
        status: 401,
        detail: 'Could not validate credentials',
        challenge: true,
      },
      {
        name: 'DeveloperDep, API key only',
        path: '/auth/me',
        headers: () => ({ 'x-open-wearables-api-key': backend.createApiKey() }),
        status: 401,
        detail: 'Could not validate credentials',
        challenge: true,
      },
    ];
    for (const c of cases) {
      it(`${c.name} → ${c.status}`, async () => {
        const res = await fetch(api(c.path), { headers: c.headers() });
        assert.equal(res.status, c.status);
        const body = (await res.json()) as { detail?: string };
        if (c.detail) assert.equal(body.detail, c.detail);
        assert.equal(res.headers.get('www-authenticate'), c.challenge ? 'Bearer' : null);
      });
    }
  });

  it('the request log keeps the headers that were sent', async () => {
    const key = backend.createApiKey();
    await fetch(api('/users?limit=1'), { headers: { 'x-open-wearables-api-key': key } });
    const last = backend.state.requests.at(-1);
    assert.equal(last?.path, '/api/v1/users');
    assert.deepEqual(last?.query, { limit: '1' });
    assert.equal(last?.headers['x-open-wearables-api-key'], key);
    assert.equal(last?.status, 200);
  });

  it('a fresh double without seeded developers has the default admin', async () => {
    const fresh = await startBackendDouble();
    try {
      const tokens = await login(fresh, 'admin@admin.com', 'your-secure-password');
      assert.equal(tokens.token_type, 'bearer');
    } finally {
      await fresh.close();
    }
  });
});
