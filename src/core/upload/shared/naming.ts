/**
 * Object names for S3 parts (contract §2.3, §2.7, §9.9): only `[A-Za-z0-9._-]`, ending in `.xml`,
 * at most 200 characters, never empty — so the server's key cleaning keeps them intact and the
 * timestamp fallback key (which probably breaks SNS processing) is never used. The same part of the
 * same run always gets the same name, so a retried part overwrites itself instead of duplicating.
 */
import { randomBytes } from 'node:crypto';

const MAX_FILENAME = 200;

export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

export function partFilename(fingerprint: string, runId: string, index: number, total: number): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '');
  const width = Math.max(2, String(total).length);
  const name = `apple-import-${safe(fingerprint).slice(0, 8) || 'export'}-${safe(runId) || 'run'}-p${String(index).padStart(width, '0')}.xml`;
  return name.length <= MAX_FILENAME ? name : `${name.slice(0, MAX_FILENAME - 4)}.xml`;
}
