import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../errors.js';
import { configReadError, configWriteError } from './fs-errors.js';

/**
 * The ledger's files: one JSON document per key in one folder, each replaced atomically (temp file +
 * rename), so a crash or Ctrl-C never leaves a half-written entry. What an entry holds, and its schema,
 * is core's (core/upload/shared/ledger.ts).
 */
export class LedgerFiles {
  constructor(readonly dir: string) {}

  /** Stable file name for a key made of parts such as server, user, fingerprint, settings. */
  static keyOf(parts: Record<string, string | number | boolean | undefined>): string {
    const canonical = JSON.stringify(Object.entries(parts).sort(([a], [b]) => (a < b ? -1 : 1)));
    return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
  }

  pathOf(key: string): string {
    return join(this.dir, `${key}.json`);
  }

  /** The parsed document, or undefined when there is none; a file that is not JSON is LEDGER_INVALID. */
  read(key: string): unknown {
    let text: string;
    try {
      text = readFileSync(this.pathOf(key), 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw configReadError('the ledger entry', this.pathOf(key), err);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new AppError('LEDGER_INVALID', `The ledger entry ${this.pathOf(key)} is corrupt (not JSON).`, {
        cause,
        hint: 'delete that file, or run with --force to start over',
      });
    }
  }

  /**
   * A read-only, full or missing config folder is CONFIG_WRITE_FAILED naming the file; the entry is
   * then as it was before (the temp file is removed, the rename never happened).
   */
  write(key: string, value: unknown): void {
    const target = this.pathOf(key);
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
      rmSync(this.pathOf(key), { force: true });
    } catch (err) {
      throw configWriteError('the ledger entry', this.pathOf(key), err, { dir: this.dir, verb: 'delete' });
    }
  }
}
