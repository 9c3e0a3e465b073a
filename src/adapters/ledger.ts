import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { configReadError, configWriteError } from './fs-errors.js';

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
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw configReadError('the ledger entry', this.file(key), err);
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

  /**
   * A read-only, full or missing config folder is CONFIG_WRITE_FAILED naming the file; the entry is
   * then as it was before (the temp file is removed, the rename never happened).
   */
  put(key: string, value: unknown): void {
    const target = this.file(key);
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw configWriteError('the ledger folder', this.dir, err);
    }
    const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
      renameSync(tmp, target);
    } catch (err) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // The folder refuses even that; there is nothing more to undo.
      }
      throw configWriteError('the ledger entry', target, err, { dir: this.dir });
    }
  }

  delete(key: string): void {
    try {
      rmSync(this.file(key), { force: true });
    } catch (err) {
      throw configWriteError('the ledger entry', this.file(key), err, { dir: this.dir, verb: 'delete' });
    }
  }
}
