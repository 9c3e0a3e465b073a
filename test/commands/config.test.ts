import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('an unparseable config file is CONFIG_INVALID (exit 2) with its hint, not an unexpected error', async () => {
    const env = await CliEnv.create('');
    await writeFile(configFile(env.configDir), '{"profiles": {');
    for (const args of [
      ['config', 'get', 'server'],
      ['config', 'set', 'server', 'https://ow.example.com'],
    ]) {
      const r = await env.run(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: The config file .*config\.json is not valid\.\nhint: Fix or delete it/);
      assert.doesNotMatch(r.stderr, /unexpected/);
    }
    await env.dispose();
  });

  it('without APPLE_IMPORT_CONFIG_DIR, reads find the file conf writes (its default path)', async () => {
    // A real process: the default path comes from HOME / XDG_CONFIG_HOME, which only the process env sets.
    const home = await mkdtemp(join(tmpdir(), 'apple-import-home-'));
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/bin.ts', ...args], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: join(home, 'xdg'), NO_COLOR: '1' },
        timeout: 30_000,
      });
    try {
      let r = cli(['config', 'path']);
      assert.equal(r.status, 0, r.stderr);
      const path = r.stdout.trim();
      assert.ok(path.startsWith(home) && path.endsWith('/apple-import/config.json'), path);
      assert.equal(existsSync(path), false, 'a read creates nothing');
      r = cli(['config', 'set', 'server', 'https://ow.example.com']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(existsSync(path), true, 'conf wrote where the reads look');
      r = cli(['config', 'get', 'server']);
      assert.equal(r.stdout.trim(), 'https://ow.example.com');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
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
