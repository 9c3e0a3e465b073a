import { UsageError } from '../errors.js';

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
