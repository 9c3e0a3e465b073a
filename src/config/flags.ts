import { UsageError } from '../errors.js';
import { formatBytes } from '../io/progress.js';

/**
 * Flag values as commander hands them (strings), checked and converted. A bad value is a usage error
 * (exit 2) that names the flag and what it accepts.
 */

/** A whole number in [min, max]; `undefined` (flag not given) gives `fallback`. */
export function intFlag(
  flag: string,
  raw: string | number | undefined,
  range: { min: number; max: number; unit?: string; hint?: string },
  fallback: number,
): number;
export function intFlag(
  flag: string,
  raw: string | number | undefined,
  range: { min: number; max: number; unit?: string; hint?: string },
): number | undefined;
export function intFlag(
  flag: string,
  raw: string | number | undefined,
  range: { min: number; max: number; unit?: string; hint?: string },
  fallback?: number,
): number | undefined {
  if (raw === undefined) return fallback;
  const text = String(raw).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < range.min || n > range.max) {
    const unit = range.unit ? ` of ${range.unit}` : '';
    throw new UsageError(
      `${flag} must be a whole number${unit} from ${range.min} to ${range.max}, not "${raw}".`,
      range.hint ? { hint: range.hint } : {},
    );
  }
  return n;
}

/** A TCP port; 0 lets the system pick a free one. */
export function portFlag(flag: string, raw: string): number {
  const text = raw.trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65_535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535 (0 picks a free one), not "${raw}".`);
  }
  return n;
}

/** A positive number of seconds (fractions allowed), in milliseconds. */
export function secondsFlag(flag: string, raw: string | undefined, fallbackMs: number): number {
  if (raw === undefined) return fallbackMs;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} must be a positive number of seconds, not "${raw}".`);
  return Math.round(n * 1000);
}

/** What a size flag takes: one convention for every size flag, shown in every size message. */
export const SIZE_EXAMPLES = '5242880, 64MiB or 1GB';

/** Bytes per unit, lowercased: binary KiB/MiB/GiB (how sizes are shown) and decimal kB/MB/GB. */
const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
};

/**
 * A size in [min, max] bytes: a whole number of bytes, or a number with a unit, case-insensitive
 * (`64MiB`, `1.5GiB`, `500kB`, `1GB`). `undefined` (flag not given) gives `fallback`.
 */
export function sizeFlag(
  flag: string,
  raw: string | undefined,
  range: { min: number; max: number },
  fallback: number,
): number;
export function sizeFlag(
  flag: string,
  raw: string | undefined,
  range: { min: number; max: number },
): number | undefined;
export function sizeFlag(
  flag: string,
  raw: string | undefined,
  range: { min: number; max: number },
  fallback?: number,
): number | undefined {
  if (raw === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?) ?([a-z]*)$/i.exec(raw.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  // A fraction needs a unit: "1.5" bytes is no size.
  const n =
    m && unit !== undefined && (unit > 1 || !m[1]!.includes('.')) ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new UsageError(
      `${flag} must be a size from ${formatBytes(range.min)} to ${formatBytes(range.max)}, in bytes or with a unit (KiB, MiB, GiB; kB, MB, GB), such as ${SIZE_EXAMPLES}, not "${raw}".`,
    );
  }
  return n;
}
