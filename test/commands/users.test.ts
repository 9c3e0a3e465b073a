import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';

describe('users', () => {
  let backend: BackendDouble;
  let env: CliEnv;
  let key: string;

  before(async () => {
    backend = await startBackendDouble();
    key = backend.createApiKey('ci');
    for (let i = 0; i < 230; i += 1) {
      backend.createUser({
        email: `user${String(i).padStart(3, '0')}@example.com`,
        first_name: i === 7 ? 'Dana' : 'Sam',
      });
    }
    env = await CliEnv.create(backend.url);
  });
  after(async () => {
    await env.dispose();
    await backend.close();
  });

  it('pages through the server until --limit users are collected', async () => {
    const r = await env.run(['users', '--limit', '150', '--json'], { env: { APPLE_IMPORT_API_KEY: key } });
    assert.equal(r.code, 0, r.stderr);
    const items = JSON.parse(r.stdout) as { id: string }[];
    assert.equal(items.length, 150);
    assert.equal(new Set(items.map((u) => u.id)).size, 150, 'no user twice across pages');
    const pages = backend.state.requests
      .filter((q) => q.path === '/api/v1/users')
      .map((q) => [q.query.page, q.query.limit]);
    assert.deepEqual(pages, [
      ['1', '100'],
      ['2', '100'],
    ]);
  });

  it('stops at the last page when fewer users exist than asked for', async () => {
    const r = await env.run(['users', '--limit', '1000', '--json'], { env: { APPLE_IMPORT_API_KEY: key } });
    assert.equal(JSON.parse(r.stdout).length, 230);
  });

  it('--search filters on the server and prints a table', async () => {
    const r = await env.run(['users', '--search', 'dana'], { env: { APPLE_IMPORT_API_KEY: key } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /user007@example\.com\s+Dana/);
  });

  it('an invalid --limit is a usage error', async () => {
    const r = await env.run(['users', '--limit', 'lots'], { env: { APPLE_IMPORT_API_KEY: key } });
    assert.equal(r.code, 2);
  });

  it('without credentials: exit 4 with the login hint', async () => {
    const r = await env.run(['users']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /apple-import login/);
  });
});
