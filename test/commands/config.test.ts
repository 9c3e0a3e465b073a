import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CliEnv, configFile } from '../helpers/cli-env.js';

describe('config', () => {
  it('set/get/unset/list/path per profile, file mode 0600', async () => {
    const env = await CliEnv.create('');
    const e = { APPLE_IMPORT_SERVER: '' };
    let r = await env.run(['config', 'set', 'server', 'https://ow.example.com/'], { env: e });
    assert.equal(r.code, 0, r.stderr);
    r = await env.run(['config', 'get', 'server'], { env: e });
    assert.equal(r.stdout.trim(), 'https://ow.example.com');
    r = await env.run(['--profile', 'staging', 'config', 'set', 'server', 'https://staging.example.com'], {
      env: e,
    });
    assert.equal(r.code, 0);
    r = await env.run(['config', 'list', '--json'], { env: { ...e, APPLE_IMPORT_PROFILE: 'staging' } });
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.server, { value: 'https://staging.example.com', source: 'profile' });
    assert.deepEqual(doc.profile, { value: 'staging', source: 'env' });
    r = await env.run(['--server', 'http://127.0.0.1:1', 'config', 'list', '--json'], { env: e });
    assert.deepEqual(JSON.parse(r.stdout).server, { value: 'http://127.0.0.1:1', source: 'flag' });
    r = await env.run(['config', 'path'], { env: e });
    assert.equal(r.stdout.trim(), configFile(env.configDir));
    assert.equal((await stat(configFile(env.configDir))).mode & 0o777, 0o600);
    r = await env.run(['config', 'unset', 'server'], { env: e });
    assert.equal(r.code, 0);
    r = await env.run(['config', 'get', 'server'], { env: e });
    assert.equal(r.code, 1, 'an unset key exits 1 with nothing on stdout');
    assert.equal(r.stdout, '');
    await env.dispose();
  });

  it('unknown keys and bad values are usage errors (exit 2)', async () => {
    const env = await CliEnv.create('');
    let r = await env.run(['config', 'set', 'colour', 'blue']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown config key "colour"/);
    assert.match(r.stderr, /server, user/);
    r = await env.run(['config', 'set', 'user', 'bob']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /UUID/);
    r = await env.run(['config', 'set', 'server', 'ftp://x']);
    assert.equal(r.code, 2);
    await env.dispose();
  });

  it('warns about plain http to a non-loopback server unless --insecure', async () => {
    const env = await CliEnv.create('http://ow.example.com');
    let r = await env.run(['config', 'list']);
    assert.match(r.stderr, /plain http/);
    r = await env.run(['--insecure', 'config', 'list']);
    assert.doesNotMatch(r.stderr, /plain http/);
    await env.dispose();
  });
});
