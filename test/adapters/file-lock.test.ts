import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Clock } from '../../src/adapters/clock.js';
import { type LockOwner, withFileLock } from '../../src/adapters/file-lock.js';
import { AppError } from '../../src/errors.js';

/** Real time, instant sleeps, and a way to jump ahead. */
function steppingClock(): Clock & { skip(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    sleep: async (ms) => {
      offset += ms;
    },
    skip: (ms) => {
      offset += ms;
    },
  };
}

/** A process table: which pids are alive, and which were asked about. */
function owner(pid: number, alive: number[]): LockOwner & { asked: number[] } {
  const asked: number[] = [];
  return {
    pid,
    asked,
    isAlive: (p) => {
      asked.push(p);
      return alive.includes(p);
    },
  };
}

describe('withFileLock', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-lock-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes the owner pid it is given, and removes the lock afterwards', async () => {
    const lock = join(dir, 'a.lock');
    const seen = await withFileLock(lock, { clock: steppingClock(), owner: owner(4242, []) }, () =>
      readFile(lock, 'utf8'),
    );
    assert.match(seen, /^4242 \d{4}-\d\d-\d\dT/);
    assert.equal(existsSync(lock), false);
  });

  it('takes over a fresh lock whose holder the probe says is dead; waits for a live one', async () => {
    const lock = join(dir, 'b.lock');
    await writeFile(lock, `777 ${new Date().toISOString()}\n`);
    const me = owner(1000, [1000]);
    assert.equal(await withFileLock(lock, { clock: steppingClock(), owner: me }, async () => 'ran'), 'ran');
    assert.deepEqual(me.asked, [777]);

    await writeFile(lock, `778 ${new Date().toISOString()}\n`);
    const waiting = owner(1000, [778]);
    await assert.rejects(
      withFileLock(lock, { clock: steppingClock(), owner: waiting, timeoutMs: 200 }, async () => 'ran'),
      (e: unknown) => e instanceof AppError && e.code === 'LOCK_TIMEOUT',
    );
    assert.ok(waiting.asked.every((p) => p === 778) && waiting.asked.length > 0);
    // Without a probe, a fresh lock is never judged dead by its pid, only by its age.
    await assert.rejects(
      withFileLock(lock, { clock: steppingClock(), timeoutMs: 200 }, async () => 'ran'),
      (e: unknown) => e instanceof AppError && e.code === 'LOCK_TIMEOUT',
    );
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    assert.equal(await withFileLock(lock, { clock: steppingClock() }, async () => 'ran'), 'ran');
  });

  it('a config folder that refuses the lock file is CONFIG_WRITE_FAILED, and leaves no lock behind', async () => {
    await writeFile(join(dir, 'file'), 'x');
    const lock = join(dir, 'file', 'd.lock');
    await assert.rejects(
      withFileLock(lock, { clock: steppingClock() }, async () => 'ran'),
      (e: unknown) =>
        e instanceof AppError &&
        e.code === 'CONFIG_WRITE_FAILED' &&
        e.exitCode === 1 &&
        /^Could not write the lock file .*d\.lock: a part of the path is not a folder \(ENOTDIR\)\.$/.test(
          e.message,
        ),
    );
    assert.equal(existsSync(lock), false);
  });
});
