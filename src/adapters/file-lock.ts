import { open, readFile, stat, unlink } from 'node:fs/promises';
import { AppError } from '../errors.js';
import type { Clock } from './clock.js';

export interface FileLockOptions {
  clock: Clock;
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
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await isStale(path, staleMs)) {
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

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const s = await stat(path);
    if (Date.now() - s.mtimeMs > staleMs) return true;
    const pid = Number((await readFile(path, 'utf8')).split(' ')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid) {
      try {
        process.kill(pid, 0);
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH';
      }
    }
    return false;
  } catch {
    return false;
  }
}
