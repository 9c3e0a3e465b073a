import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BackendApi } from '../../src/adapters/backend-api.js';
import { systemClock } from '../../src/adapters/clock.js';
import { HttpClient } from '../../src/adapters/http.js';
import { Session } from '../../src/core/auth/session.js';
import { requireUser } from '../../src/core/users.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { testDispatcher } from '../helpers/run-cli.js';

describe('requireUser', () => {
  let backend: BackendDouble;
  let deps: Parameters<typeof requireUser>[0];
  before(async () => {
    backend = await startBackendDouble();
    const session = new Session({
      server: backend.url,
      profile: 'default',
      clock: systemClock,
      flag: { apiKey: backend.createApiKey(), apiKeySource: 'flag' },
      store: { credential: () => undefined, saveCredential: async () => undefined },
      refresh: () => Promise.reject(new Error('not used')),
      withLock: (fn) => fn(),
      registerSecret: () => undefined,
    });
    // The credential travels inside the client: requireUser never sees it.
    const users = new BackendApi(
      new HttpClient({ baseUrl: backend.url, userAgent: 't', dispatcher: testDispatcher }).withAuth(session),
    );
    deps = { users, server: backend.url };
  });
  after(() => backend.close());

  it('a non-UUID is a usage error before any request', async () => {
    const before = backend.state.requests.length;
    await assert.rejects(requireUser(deps, 'dana'), (e: { code?: string }) => e.code === 'USAGE');
    assert.equal(backend.state.requests.length, before);
  });

  it('an unknown UUID is reported as such', async () => {
    await assert.rejects(requireUser(deps, '00000000-0000-4000-8000-000000000000'), /does not exist/);
  });

  it('an existing user is returned', async () => {
    const u = backend.createUser({ email: 'x@example.com' });
    assert.equal((await requireUser(deps, u.id)).email, 'x@example.com');
  });
});
