import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LedgerFiles } from '../../src/adapters/ledger.js';
import { AppError } from '../../src/errors.js';
import { withFsFault } from '../helpers/fs-faults.js';

describe('LedgerFiles', () => {
  it('round-trips documents atomically with mode 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const files = new LedgerFiles(join(dir, 'ledger'));
    assert.equal(files.read('k1'), undefined);
    files.write('k1', { sent: [1, 2] });
    assert.deepEqual(files.read('k1'), { sent: [1, 2] });
    assert.equal((await stat(files.pathOf('k1'))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(files.dir), ['k1.json'], 'no temp files left behind');
    files.delete('k1');
    assert.equal(files.read('k1'), undefined);
    await rm(dir, { recursive: true });
  });

  it('a file that is not JSON is LEDGER_INVALID (exit 1) naming the file, not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const files = new LedgerFiles(dir);
    await writeFile(join(dir, 'k.json'), '{not json');
    assert.throws(
      () => files.read('k'),
      (e: { code?: string; exitCode?: number; message?: string }) =>
        e.code === 'LEDGER_INVALID' && e.exitCode === 1 && e.message?.includes(join(dir, 'k.json')) === true,
    );
    await rm(dir, { recursive: true });
  });
});

describe('Ledger: a config folder that cannot be written', () => {
  it('a path through a regular file (ENOTDIR) is CONFIG_WRITE_FAILED (exit 1) naming the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    await writeFile(join(dir, 'not-a-folder'), 'x');
    const ledger = new LedgerFiles(join(dir, 'not-a-folder', 'ledger'));
    assert.throws(
      () => ledger.write('k', { a: 1 }),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'CONFIG_WRITE_FAILED' &&
        e.exitCode === 1 &&
        e.message ===
          `Could not write the ledger folder ${ledger.dir}: a part of the path is not a folder (ENOTDIR).` &&
        /APPLE_IMPORT_CONFIG_DIR/.test(e.hint ?? ''),
    );
    await rm(dir, { recursive: true });
  });

  for (const [code, on, reason] of [
    ['ENOSPC', 'write', /no space left on the device \(ENOSPC\)/],
    ['EROFS', 'rename', /the file system is read-only \(EROFS\)/],
    ['EACCES', 'write', /permission denied \(EACCES\)/],
  ] as const) {
    it(`${code} on ${on}: CONFIG_WRITE_FAILED, the previous entry intact, no temp file left`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
      const ledger = new LedgerFiles(dir);
      ledger.write('k', { version: 1 });
      const r = await withFsFault(dir, code, () => ledger.write('k', { version: 2 }), on);
      assert.ok(r.hits.length > 0, 'the fault was hit');
      assert.ok(r.error instanceof AppError, String(r.error));
      assert.equal(r.error.code, 'CONFIG_WRITE_FAILED');
      assert.match(r.error.message, new RegExp(`^Could not write the ledger entry ${join(dir, 'k.json')}: `));
      assert.match(r.error.message, reason);
      assert.match(r.error.hint ?? '', code === 'ENOSPC' ? /Free some space/ : /writable/);
      assert.deepEqual(ledger.read('k'), { version: 1 });
      assert.deepEqual(await readdir(dir), ['k.json']);
      await rm(dir, { recursive: true });
    });
  }

  it('an entry that cannot be read (a folder in its place) is CONFIG_READ_FAILED', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    await mkdir(join(dir, 'k.json'));
    assert.throws(
      () => new LedgerFiles(dir).read('k'),
      (e: unknown) => e instanceof AppError && e.code === 'CONFIG_READ_FAILED' && /EISDIR/.test(e.message),
    );
    await rm(dir, { recursive: true });
  });
});
