import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigStore, type StoredCredential } from '../../src/adapters/config-store.js';
import { AppError } from '../../src/errors.js';
// Before conf loads: atomically keeps the fs functions it finds then.
import { withFsFault } from '../helpers/fs-faults.js';

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

  it('a folder that cannot be written is CONFIG_WRITE_FAILED (exit 1) saying where; the file stays whole', async () => {
    const file = join(root, 'plain-file');
    await writeFile(file, 'x');
    const blocked = new ConfigStore(join(file, 'cfg'));
    await assert.rejects(blocked.saveCredential('default', 'https://ow.example.com', key), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'CONFIG_WRITE_FAILED');
      assert.equal(e.exitCode, 1);
      assert.match(
        e.message,
        /^Could not write the config file .*plain-file\/cfg\/config\.json: a part of the path is not a folder \(ENOTDIR\)\.$/,
      );
      return true;
    });

    const dir = join(root, 'full');
    const store = new ConfigStore(dir);
    await store.saveCredential('default', 'https://ow.example.com', key);
    const before = await readFile(store.path, 'utf8');
    const r = await withFsFault(dir, 'ENOSPC', () =>
      store.setProfileValue('default', 'server', 'https://x.example'),
    );
    assert.ok(r.hits.length > 0);
    assert.ok(r.error instanceof AppError, String(r.error));
    assert.equal(r.error.code, 'CONFIG_WRITE_FAILED');
    assert.match(r.error.message, /config\.json: no space left on the device \(ENOSPC\)\./);
    assert.match(r.error.hint ?? '', /Free some space on the disk that holds .*full/);
    assert.equal(await readFile(store.path, 'utf8'), before);
    assert.deepEqual(await readdir(dir), ['config.json'], 'no temp file left');
  });

  it('a config file that cannot be read is CONFIG_READ_FAILED, not an unexpected error', async () => {
    const dir = join(root, 'folder-in-place');
    await mkdir(join(dir, 'config.json'), { recursive: true });
    assert.throws(
      () => new ConfigStore(dir).profiles(),
      (e: unknown) => e instanceof AppError && e.code === 'CONFIG_READ_FAILED' && /EISDIR/.test(e.message),
    );
  });
});
