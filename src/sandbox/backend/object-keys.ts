import { randomBytes } from 'node:crypto';
import type { Generation } from './context.js';

/** Python's `str(datetime.now(UTC))`: space separator, microseconds only when non-zero, `+00:00`. */
export function pythonUtcNow(ms: number): string {
  const iso = new Date(ms).toISOString();
  const micros = (ms % 1000) * 1000;
  const fraction = micros === 0 ? '' : `.${String(micros).padStart(6, '0')}`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}+00:00`;
}

/** The filename's alphanumerics (Unicode, like `str.isalnum`) and `.-_`; slashes and spaces dropped. */
export function cleanFilename(filename: string): string {
  return [...filename].filter((c) => /[\p{L}\p{N}._-]/u.test(c)).join('');
}

/** Contract §2.3 `generate_file_key` (before August 2026): the same name gives the same key. */
export function generateFileKey(userId: string, filename: string, nowMs: number): string {
  const clean = cleanFilename(filename);
  return clean ? `${userId}/raw/${clean}` : `${userId}/raw/${pythonUtcNow(nowMs)}.xml`;
}

/**
 * Current page §2.1 item 1 `build_object_key`: unique per request, `{user}/raw/<unique>-{clean}`. The unique
 * part's shape is not exposed by the backend's tests; a random hex stands in for it, and an empty name gives
 * `<unique>.xml` [inferred].
 */
export function buildObjectKey(userId: string, filename: string): string {
  const clean = cleanFilename(filename);
  const unique = randomBytes(16).toString('hex');
  return clean ? `${userId}/raw/${unique}-${clean}` : `${userId}/raw/${unique}.xml`;
}

/** The key a route of `generation` gives an upload. */
export function objectKeyFor(
  generation: Generation,
  userId: string,
  filename: string,
  nowMs: number,
): string {
  return generation === 'current'
    ? buildObjectKey(userId, filename)
    : generateFileKey(userId, filename, nowMs);
}
