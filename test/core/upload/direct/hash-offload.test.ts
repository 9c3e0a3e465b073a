import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { BodyPool } from '../../../../src/core/upload/direct/batcher.js';
import { Sha256Offload } from '../../../../src/core/upload/direct/hash-offload.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('Sha256Offload', () => {
  for (const useWorker of [true, false]) {
    it(`digests bodies in shared memory and plain ones (${useWorker ? 'in the worker' : 'inline'})`, async () => {
      const hashes = new Sha256Offload(useWorker);
      const pool = new BodyPool(1 << 16, 2);
      try {
        const bodies = [pool.take(1000), pool.take(1 << 16), Buffer.from(randomBytes(300))];
        for (const b of bodies.slice(0, 2)) randomBytes(b.length).copy(b);
        const digests = await Promise.all(bodies.map((b) => hashes.digest(b)));
        assert.deepEqual(
          digests,
          bodies.map((b) => sha256(b)),
        );
        // Memory handed back and taken again is digested by what it holds now.
        pool.give(bodies[0]!);
        const again = pool.take(500);
        assert.equal(again.buffer, bodies[0]!.buffer);
        again.fill(7);
        assert.equal(await hashes.digest(again), sha256(Buffer.alloc(500, 7)));
      } finally {
        hashes.close();
      }
    });
  }

  it('fails what is asked after close()', async () => {
    const hashes = new Sha256Offload();
    const pool = new BodyPool(1024, 1);
    const body = pool.take(100).fill(1);
    // The first digest is computed inline (one batch never waits for a thread); the next goes to the worker.
    assert.equal(await hashes.digest(Buffer.from('x')), sha256(Buffer.from('x')));
    const pending = hashes.digest(body);
    hashes.close();
    await assert.rejects(pending, /hashing stopped/);
    await assert.rejects(hashes.digest(Buffer.from('x')), /hashing stopped/);
  });
});

describe('BodyPool', () => {
  it('reuses bodies and never makes more than `keep` shared ones', () => {
    const pool = new BodyPool(1024, 2);
    const a = pool.take(10);
    const b = pool.take(1024);
    const c = pool.take(100);
    assert.ok(a.buffer instanceof SharedArrayBuffer && b.buffer instanceof SharedArrayBuffer);
    assert.ok(!(c.buffer instanceof SharedArrayBuffer), 'a third body while two are out is not shared');
    assert.equal(c.length, 100);
    pool.give(c);
    pool.give(a);
    pool.give(a);
    const d = pool.take(300);
    assert.equal(d.buffer, a.buffer);
    assert.equal(d.length, 300);
    assert.ok(!(pool.take(20).buffer instanceof SharedArrayBuffer), 'a body given twice is reused once');
    assert.ok(!(pool.take(2000).buffer instanceof SharedArrayBuffer), 'larger than the capacity');
  });
});
