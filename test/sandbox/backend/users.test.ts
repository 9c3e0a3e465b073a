import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BackendDouble, startBackendDouble } from '../../../src/sandbox/backend/index.js';

describe('backend double: users (contract §1.9)', () => {
  let backend: BackendDouble;
  let headers: Record<string, string>;
  const get = async (path: string) => {
    const res = await fetch(`${backend.url}/api/v1${path}`, { headers });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    backend = await startBackendDouble();
    headers = { 'x-open-wearables-api-key': backend.createApiKey() };
    for (let i = 0; i < 25; i++) {
      backend.createUser({
        email: `user${String(i).padStart(2, '0')}@example.com`,
        first_name: i % 2 === 0 ? 'Alice' : 'Bob',
        last_name: `Zed${i}`,
        created_at: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
      });
    }
  });
  after(() => backend.close());

  it('pages with OldPaginatedResponse fields, newest first by default', async () => {
    const first = await get('/users?limit=10');
    assert.equal(first.status, 200);
    assert.deepEqual(
      { ...first.body, items: undefined },
      { items: undefined, total: 25, page: 1, limit: 10, pages: 3, has_next: true, has_prev: false },
    );
    const items = first.body.items as { email: string }[];
    assert.equal(items.length, 10);
    assert.equal(items[0]?.email, 'user24@example.com');
    const last = await get('/users?limit=10&page=3');
    assert.equal((last.body.items as unknown[]).length, 5);
    assert.equal(last.body.has_next, false);
    assert.equal(last.body.has_prev, true);
  });

  it('UserRead has exactly the contract fields', async () => {
    const { body } = await get('/users?limit=1');
    const user = (body.items as Record<string, unknown>[])[0]!;
    assert.deepEqual(Object.keys(user).sort(), [
      'created_at',
      'email',
      'external_user_id',
      'first_name',
      'has_active_connection',
      'id',
      'last_name',
      'last_synced_at',
      'last_synced_provider',
    ]);
  });

  it('filters by exact email and by case-insensitive search; sorts by email ascending', async () => {
    const exact = await get('/users?email=user03@example.com');
    assert.equal(exact.body.total, 1);
    assert.equal((await get('/users?email=USER03@example.com')).body.total as number, 0);
    const search = await get('/users?search=ALICE&limit=100');
    assert.equal(search.body.total, 13);
    const sorted = await get('/users?sort_by=email&sort_order=asc&limit=2');
    assert.deepEqual(
      (sorted.body.items as { email: string }[]).map((u) => u.email),
      ['user00@example.com', 'user01@example.com'],
    );
  });

  for (const [query, detail] of [
    ['page=0', 'Input should be greater than or equal to 1'],
    ['limit=101', 'Input should be less than or equal to 100'],
    ['limit=abc', 'Input should be a valid integer, unable to parse string as an integer'],
    ['sort_order=up', "Input should be 'asc' or 'desc'"],
    ['sort_by=age', "Input should be 'created_at', 'email', 'first_name', 'last_name' or 'last_synced_at'"],
  ] as const) {
    it(`rejects ${query} with 400 "${detail}"`, async () => {
      const res = await get(`/users?${query}`);
      assert.equal(res.status, 400);
      assert.equal(res.body.detail, detail);
    });
  }

  it('creates a user (201) and refuses a second one with the same email (409)', async () => {
    const create = () =>
      fetch(`${backend.url}/api/v1/users`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'new@example.com', first_name: 'New' }),
      });
    const res = await create();
    assert.equal(res.status, 201);
    const user = (await res.json()) as { id: string; email: string; has_active_connection: boolean };
    assert.equal(user.email, 'new@example.com');
    assert.equal(user.has_active_connection, false);
    const dup = await create();
    assert.equal(dup.status, 409);
    assert.deepEqual(await dup.json(), { detail: 'User with this email already exists.' });
    assert.equal((await get(`/users/${user.id}`)).body.email, 'new@example.com');
  });

  it('validates names on create', async () => {
    const res = await fetch(`${backend.url}/api/v1/users`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ first_name: 'x'.repeat(101) }),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { detail: 'String should have at most 100 characters' });
  });

  it('GET /users/{id}: 404 wording and pydantic UUID errors', async () => {
    const missing = '0b7c1c1e-0000-4000-8000-000000000000';
    assert.deepEqual(await get(`/users/${missing}`), {
      status: 404,
      body: { detail: `User with ID: ${missing} not found.` },
    });
    const upper = await get(`/users/${missing.toUpperCase().replaceAll('-', '')}`);
    assert.equal(upper.body.detail, `User with ID: ${missing} not found.`);
    const cases: [string, string][] = [
      ['abc', 'invalid length: expected length 32 for simple format, found 3'],
      [
        'xyz',
        'invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `x` at 1',
      ],
      ['0b7c1c1e-0000-4000-8000', 'invalid group count: expected 5, found 4'],
      ['0b7c1c1e-000-4000-8000-0000000000000', 'invalid group length in group 1: expected 4, found 3'],
    ];
    for (const [id, why] of cases) {
      assert.deepEqual(await get(`/users/${id}`), {
        status: 400,
        body: { detail: `Input should be a valid UUID, ${why}` },
      });
    }
  });

  it('unknown routes are 404 Not Found and wrong methods 405 Method Not Allowed', async () => {
    assert.deepEqual(await get('/nope'), { status: 404, body: { detail: 'Not Found' } });
    const res = await fetch(`${backend.url}/api/v1/users`, { method: 'DELETE', headers });
    assert.equal(res.status, 405);
    assert.deepEqual(await res.json(), { detail: 'Method Not Allowed' });
  });

  it('serves / and an openapi.json listing the implemented paths', async () => {
    assert.deepEqual(await (await fetch(`${backend.url}/`)).json(), { message: 'Server is running!' });
    const doc = (await (await fetch(`${backend.url}/openapi.json`)).json()) as {
      paths: Record<string, object>;
    };
    assert.ok(doc.paths['/api/v1/users/{user_id}/import/apple/xml/direct']);
    assert.ok(doc.paths['/api/v1/users/{user_id}/sync/stream']);
    assert.ok(doc.paths['/api/v1/sdk/users/{user_id}/sync']);
    assert.equal(doc.paths['/api/v1/sns/notification'], undefined, 'only what the double answers');
  });
});
