import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv, configFile } from '../helpers/cli-env.js';

const EMAIL = 'dev@example.com';
const PASSWORD = 'correct horse battery staple';

async function stored(
  env: CliEnv,
): Promise<{ accessToken: string; refreshToken: string; expiresAt: number }> {
  const file = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
  return file.credentials.default[env.server];
}

describe('login, whoami, logout', () => {
  let backend: BackendDouble;
  let env: CliEnv;

  before(async () => {
    backend = await startBackendDouble({
      seed: { developers: [{ email: EMAIL, password: PASSWORD, first_name: 'Dana' }] },
    });
  });
  after(async () => {
    await backend.close();
  });
  beforeEach(async () => {
    env = await CliEnv.create(backend.url);
  });

  it('round trip: login with --password-stdin, whoami, logout revokes', async () => {
    const login = await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: `${PASSWORD}\n` });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /Logged in to .* as dev@example.com/);

    const who = await env.run(['whoami', '--json']);
    assert.equal(who.code, 0, who.stderr);
    const doc = JSON.parse(who.stdout);
    assert.equal(doc.identity.email, EMAIL);
    assert.deepEqual(doc.credential, { kind: 'login', source: 'stored' });
    assert.equal(doc.server, backend.url);

    const { refreshToken } = await stored(env);
    const out = await env.run(['logout']);
    assert.equal(out.code, 0, out.stderr);
    const rt = backend.state.refreshTokens.get(refreshToken);
    assert.ok(rt?.revokedAt, 'the refresh token was revoked on the server');
    const after = await env.run(['whoami']);
    assert.equal(after.code, 4);
    assert.match(after.stderr, /Not logged in/);
    assert.match(after.stderr, /apple-import login/);

    for (const secret of [PASSWORD, refreshToken]) assert.ok(!env.allOutput().includes(secret));
    await env.dispose();
  });

  it('the config file holding tokens is mode 0600', async () => {
    const r = await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const s = await stat(configFile(env.configDir));
    assert.equal(s.mode & 0o777, 0o600);
    await env.dispose();
  });

  it('a wrong password exits 4 with the backend message', async () => {
    const r = await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: 'wrong' });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /Incorrect email or password/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, 'no stack trace');
    await env.dispose();
  });

  it('a missing password without a TTY is a usage error with the hint', async () => {
    const r = await env.run(['login', '--email', EMAIL]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--password-stdin/);
    await env.dispose();
  });

  it('prompts for the password on a TTY', async () => {
    const r = await env.run(['login', '--email', EMAIL], { stdin: `${PASSWORD}\n`, tty: { stdin: true } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Password: /);
    assert.ok(!r.stderr.includes(PASSWORD), 'the password is not echoed');
    await env.dispose();
  });

  it('refreshes before expiry and saves the rotated refresh token', async () => {
    await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: PASSWORD });
    const first = await stored(env);
    // Make the cached token look about to expire (inside the 60 s margin).
    const file = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
    file.credentials.default[env.server].expiresAt = Date.now() + 5_000;
    await (await import('node:fs/promises')).writeFile(configFile(env.configDir), JSON.stringify(file));
    const who = await env.run(['whoami']);
    assert.equal(who.code, 0, who.stderr);
    const second = await stored(env);
    assert.notEqual(second.refreshToken, first.refreshToken);
    // The JWT may be byte-identical when issued in the same second (claims are only sub and exp, §1.1).
    assert.ok(second.expiresAt > Date.now() + 60_000, 'the new expiry is outside the refresh margin');
    assert.ok(backend.state.refreshTokens.get(first.refreshToken)?.revokedAt, 'old token rotated out');
    await env.dispose();
  });

  it('refreshes and retries once after a 401', async () => {
    await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: PASSWORD });
    const file = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
    const dev = [...backend.state.developers.values()].find((d) => d.email === EMAIL)!;
    // An already-expired JWT that the cache believes is valid for an hour.
    file.credentials.default[env.server].accessToken = backend.issueAccessToken(dev.id, -10);
    file.credentials.default[env.server].expiresAt = Date.now() + 3_600_000;
    await (await import('node:fs/promises')).writeFile(configFile(env.configDir), JSON.stringify(file));
    const r = await env.run(['users', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const statuses = backend.state.requests.filter((q) => q.path === '/api/v1/users').map((q) => q.status);
    assert.deepEqual(statuses.slice(-2), [401, 200]);
    await env.dispose();
  });

  it('a revoked refresh token (rotation reuse) ends in exit 4 asking to log in again', async () => {
    await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: PASSWORD });
    const { refreshToken } = await stored(env);
    // Someone else used our refresh token: the server rotated it and revoked ours.
    const res = await fetch(`${backend.url}/api/v1/token/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    assert.equal(res.status, 200);
    const file = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
    file.credentials.default[env.server].expiresAt = Date.now() - 1000;
    await (await import('node:fs/promises')).writeFile(configFile(env.configDir), JSON.stringify(file));
    const r = await env.run(['whoami']);
    assert.equal(r.code, 4);
    assert.match(r.stderr, /expired or was revoked/);
    assert.match(r.stderr, /apple-import login/);
    await env.dispose();
  });

  it('two concurrent refreshes do not log the user out', async () => {
    await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: PASSWORD });
    const file = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
    file.credentials.default[env.server].expiresAt = Date.now() + 1_000;
    await (await import('node:fs/promises')).writeFile(configFile(env.configDir), JSON.stringify(file));
    const refreshesBefore = backend.state.requests.filter((q) => q.path === '/api/v1/token/refresh').length;
    const results = await Promise.all([env.run(['whoami']), env.run(['whoami']), env.run(['users'])]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const refreshes =
      backend.state.requests.filter((q) => q.path === '/api/v1/token/refresh').length - refreshesBefore;
    assert.equal(refreshes, 1, 'one process refreshed, the others adopted its token');
    const { refreshToken } = await stored(env);
    assert.ok(
      !backend.state.refreshTokens.get(refreshToken)?.revokedAt,
      'the stored refresh token is still live',
    );
    await env.dispose();
  });

  it('logout works offline: deletes locally and warns', async () => {
    await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: PASSWORD });
    const { refreshToken } = await stored(env);
    const offline = 'http://127.0.0.1:9'; // discard port: connection refused
    const file = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
    file.credentials.default[offline] = file.credentials.default[env.server];
    await (await import('node:fs/promises')).writeFile(configFile(env.configDir), JSON.stringify(file));
    const r = await env.run(['logout'], { env: { APPLE_IMPORT_SERVER: offline } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /could not reach/);
    const after = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
    assert.equal(after.credentials.default[offline], undefined);
    assert.ok(!r.stderr.includes(refreshToken));
    await env.dispose();
  });

  it('an API key from stdin is stored and used; whoami says so', async () => {
    const key = backend.createApiKey('ci');
    const r = await env.run(['login', '--api-key-stdin'], { stdin: key });
    assert.equal(r.code, 0, r.stderr);
    const who = await env.run(['whoami', '--json']);
    assert.equal(who.code, 0, who.stderr);
    assert.deepEqual(JSON.parse(who.stdout).credential, { kind: 'api-key', source: 'stored' });
    // The last authorised request (whoami also reads /openapi.json, which takes no credential).
    const last = backend.state.requests.filter((q) => q.path !== '/openapi.json').at(-1)!;
    assert.equal(last.headers['x-open-wearables-api-key'], key);
    assert.ok(!env.allOutput().includes(key));
    await env.dispose();
  });

  it('a rejected API key from the environment exits 4 naming its source', async () => {
    const r = await env.run(['users'], { env: { APPLE_IMPORT_API_KEY: `sk-${'0'.repeat(32)}` } });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /APPLE_IMPORT_API_KEY/);
    assert.match(r.stderr, /Invalid or missing API key/);
    assert.ok(!r.stderr.includes('0'.repeat(32)));
    await env.dispose();
  });

  it('--debug never prints secrets', async () => {
    const r = await env.run(['--debug', 'login', '--email', EMAIL, '--password-stdin'], { stdin: PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const w = await env.run(['--debug', 'whoami']);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stderr, /debug: /);
    const { accessToken, refreshToken } = await stored(env);
    for (const s of [PASSWORD, accessToken, refreshToken]) assert.ok(!env.allOutput().includes(s));
    await env.dispose();
  });

  it('login --server remembers the server in a profile that has none, so whoami needs no --server', async () => {
    const noEnv = { env: { APPLE_IMPORT_SERVER: undefined } };
    const login = await env.run(['login', '--server', backend.url, '--email', EMAIL, '--password-stdin'], {
      ...noEnv,
      stdin: PASSWORD,
    });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /Saved .* as the server of profile default/);
    const file = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
    assert.equal(file.profiles.default.server, backend.url);
    const who = await env.run(['whoami', '--json'], noEnv);
    assert.equal(who.code, 0, who.stderr);
    assert.equal(JSON.parse(who.stdout).server, backend.url);
    await env.dispose();
  });

  it('login --server keeps a server the profile already has, and says how to use the new login', async () => {
    const noEnv = { env: { APPLE_IMPORT_SERVER: undefined } };
    const set = await env.run(['config', 'set', 'server', 'http://127.0.0.1:9'], noEnv);
    assert.equal(set.code, 0, set.stderr);
    const login = await env.run(
      ['login', '--server', backend.url, '--email', EMAIL, '--password-stdin', '--json'],
      { ...noEnv, stdin: PASSWORD },
    );
    assert.equal(login.code, 0, login.stderr);
    assert.deepEqual(JSON.parse(login.stdout).profileServer, {
      status: 'kept',
      server: 'http://127.0.0.1:9',
    });
    assert.match(login.stderr, /keeps its server http:\/\/127\.0\.0\.1:9; use --server/);
    const file = JSON.parse(await readFile(configFile(env.configDir), 'utf8'));
    assert.equal(file.profiles.default.server, 'http://127.0.0.1:9');
    await env.dispose();
  });

  it('not logged in to this server: the hint names the login held for another', async () => {
    const login = await env.run(['login', '--email', EMAIL, '--password-stdin'], { stdin: PASSWORD });
    assert.equal(login.code, 0, login.stderr);
    const who = await env.run(['whoami'], { env: { APPLE_IMPORT_SERVER: 'http://localhost:8000' } });
    assert.equal(who.code, 4);
    assert.match(who.stderr, /Not logged in to http:\/\/localhost:8000/);
    assert.ok(
      who.stderr.includes(
        `there is a login for ${backend.url} (profile default): pass --server ${backend.url}`,
      ),
      who.stderr,
    );
    await env.dispose();
  });
});
