import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.js';

/**
 * Local record of what was sent where, so a re-run resumes or says the export was already imported
 * (product.md "A local ledger"). One JSON file per key, replaced atomically (temp file + rename), so a
 * crash or Ctrl-C never leaves a half-written entry.
 */
export class Ledger {
  constructor(readonly dir: string) {}

  /** Stable file name for a key made of parts such as server, user, fingerprint, settings. */
  static keyOf(parts: Record<string, string | number | boolean | undefined>): string {
    const canonical = JSON.stringify(Object.entries(parts).sort(([a], [b]) => (a < b ? -1 : 1)));
    return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
  }

  private file(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  get<T>(key: string): T | undefined {
    let text: string;
    try {
      text = readFileSync(this.file(key), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (cause) {
      throw new AppError('CONFIG_INVALID', `The ledger entry ${this.file(key)} is corrupt.`, {
        cause,
        hint: 'delete it, or run with --force to start over',
      });
    }
  }

  put(key: string, value: unknown): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const target = this.file(key);
    const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, target);
  }

  delete(key: string): void {
    rmSync(this.file(key), { force: true });
  }
}
