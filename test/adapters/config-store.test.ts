import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigStore, type StoredCredential } from '../../src/adapters/config-store.js';
import { AppError } from '../../src/errors.js';

const key: StoredCredential = { kind: 'api-key', apiKey: 'sk-test', savedAt: 1 };

function isConfigInvalid(e: unknown): boolean {
  return (
    e instanceof AppError &&
    e.code === 'CONFIG_INVALID' &&
    /is not valid/.test(e.message) &&
    /apple-import config path/.test(e.hint ?? '')
  );
}

describe('ConfigStore', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'config-store-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('a missing file reads as the defaults and creates nothing', async () => {
    const dir = join(root, 'missing', 'nested');
    const store = new ConfigStore(dir);
    assert.equal(store.path, join(dir, 'config.json'));
    assert.equal(store.dir, dir);
    assert.deepEqual(store.profiles(), {});
    assert.deepEqual(store.profile('default'), {});
    assert.equal(store.credential('default', 'https://ow.example.com'), undefined);
    assert.equal(await store.deleteCredential('default', 'https://ow.example.com'), false);
    assert.equal(existsSync(join(root, 'missing')), false);
  });

  it('a relative directory gives an absolute path, as conf resolves it', () => {
    const dir = join(root, 'rel');
    const store = new ConfigStore(relative(process.cwd(), dir));
    assert.equal(store.path, join(dir, 'config.json'));
  });

  it('invalid JSON is CONFIG_INVALID for reads and writes, and the file is left alone', async () => {
    const dir = join(root, 'bad-json');
    await mkdir(dir);
    await writeFile(join(dir, 'config.json'), '{"profiles": {');
    const store = new ConfigStore(dir);
    assert.throws(() => store.profile('default'), isConfigInvalid);
    await assert.rejects(store.setProfileValue('default', 'server', 'https://x.example'), isConfigInvalid);
    await assert.rejects(store.saveCredential('default', 'https://x.example', key), isConfigInvalid);
    assert.equal(await readFile(join(dir, 'config.json'), 'utf8'), '{"profiles": {');
  });

  it('a file that breaks the schema is CONFIG_INVALID', async () => {
    const dir = join(root, 'bad-schema');
    await mkdir(dir);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ profiles: { default: { colour: 'blue' } } }));
    assert.throws(() => new ConfigStore(dir).profiles(), isConfigInvalid);
    await writeFile(join(dir, 'config.json'), 'null');
    assert.throws(() => new ConfigStore(dir).profiles(), isConfigInvalid);
  });

  it('a read right after a write sees it, in this store and in a fresh one; mode 0600 in a 0700 dir', async () => {
    const dir = join(root, 'writes');
    const store = new ConfigStore(dir);
    await store.setProfileValue('default', 'server', 'https://ow.example.com');
    assert.deepEqual(store.profile('default'), { server: 'https://ow.example.com' });
    await store.saveCredential('default', 'https://ow.example.com', key);
    assert.deepEqual(store.credential('default', 'https://ow.example.com'), key);
    await store.setProfileValue('staging', 'user', '00000000-0000-4000-8000-000000000000');
    await store.setProfileValue('default', 'server', undefined);
    assert.deepEqual(store.profiles(), {
      default: {},
      staging: { user: '00000000-0000-4000-8000-000000000000' },
    });

    // Another process's write (here: another store) is seen too: nothing is cached.
    const other = new ConfigStore(dir);
    assert.deepEqual(other.credential('default', 'https://ow.example.com'), key);
    assert.equal(await other.deleteCredential('default', 'https://ow.example.com'), true);
    assert.equal(store.credential('default', 'https://ow.example.com'), undefined);
    await store.saveCredential('default', 'https://b.example', key);
    assert.deepEqual(other.credential('default', 'https://b.example'), key);

    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  });
});
