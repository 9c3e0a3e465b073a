import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LedgerFiles } from '../../src/adapters/ledger.js';

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
