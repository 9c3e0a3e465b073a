import { open, readFile, stat, unlink } from 'node:fs/promises';
import { AppError } from '../errors.js';
import type { Clock } from './clock.js';
import { configWriteError, errnoOf } from './fs-errors.js';

/** This process, as a lock holder: its pid and how to tell whether another pid is alive. */
export interface LockOwner {
  pid: number;
  /** True unless the process surely does not exist (a pid we may not signal is alive). */
  isAlive(pid: number): boolean;
}

export interface FileLockOptions {
  clock: Clock;
  /**
   * Who takes the lock (from the process boundary, bin.ts). Without it the lock records no pid, and a
   * lock left by a crashed process is taken over only once it is older than `staleMs`.
   */
  owner?: LockOwner;
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** A lock older than this is left over from a crashed process and may be taken over. */
  staleMs?: number;
  signal?: AbortSignal;
}

/**
 * A cross-process lock built on O_EXCL file creation. It guards the refresh of a cached login: the
 * backend rotates refresh tokens (contract §1.3), so two processes refreshing at once would log one out.
 */
export async function withFileLock<T>(path: string, opts: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const staleMs = opts.staleMs ?? 30_000;
  const started = opts.clock.now();
  for (;;) {
    let created = false;
    try {
      const fh = await open(path, 'wx', 0o600);
      created = true;
      try {
        await fh.writeFile(`${opts.owner?.pid ?? 0} ${new Date(opts.clock.now()).toISOString()}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') {
        // Ours but not written (a full disk): leave no empty lock behind for others to wait on.
        if (created) await unlink(path).catch(() => undefined);
        throw errnoOf(err) === undefined ? err : configWriteError('the lock file', path, err);
      }
      if (await isStale(path, staleMs, opts.owner)) {
        await unlink(path).catch(() => undefined);
        continue;
      }
      if (opts.clock.now() - started > timeoutMs) {
        throw new AppError('LOCK_TIMEOUT', `Another apple-import process holds ${path}.`, {
          hint: 'Wait for it to finish; if none is running, delete that file.',
        });
      }
      await opts.clock.sleep(25 + Math.floor(Math.random() * 50), opts.signal);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(path).catch(() => undefined);
  }
}

async function isStale(path: string, staleMs: number, owner: LockOwner | undefined): Promise<boolean> {
  try {
    const s = await stat(path);
    // File times are wall-clock times, so they are compared with the wall clock, not the injected one.
    if (Date.now() - s.mtimeMs > staleMs) return true;
    const pid = Number((await readFile(path, 'utf8')).split(' ')[0]);
    if (owner && Number.isInteger(pid) && pid > 0 && pid !== owner.pid) return !owner.isAlive(pid);
    return false;
  } catch {
    return false;
  }
}
