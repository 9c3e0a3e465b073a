import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ledger } from '../../src/adapters/ledger.js';

describe('Ledger', () => {
  it('round-trips entries atomically with mode 0600 and a key independent of part order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const ledger = new Ledger(join(dir, 'ledger'));
    const k1 = Ledger.keyOf({ server: 's', user: 'u', fp: 'abc' });
    const k2 = Ledger.keyOf({ fp: 'abc', user: 'u', server: 's' });
    assert.equal(k1, k2);
    assert.notEqual(k1, Ledger.keyOf({ server: 's', user: 'u', fp: 'abd' }));
    assert.equal(ledger.get(k1), undefined);
    ledger.put(k1, { sent: [1, 2] });
    assert.deepEqual(ledger.get(k1), { sent: [1, 2] });
    assert.equal((await stat(join(ledger.dir, `${k1}.json`))).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(ledger.dir), [`${k1}.json`], 'no temp files left behind');
    ledger.delete(k1);
    assert.equal(ledger.get(k1), undefined);
    await rm(dir, { recursive: true });
  });

  it('a corrupt entry is a clear error, not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    const ledger = new Ledger(dir);
    await writeFile(join(dir, 'k.json'), '{not json');
    assert.throws(() => ledger.get('k'), /corrupt/);
    await rm(dir, { recursive: true });
  });
});
