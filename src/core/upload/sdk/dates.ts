/**
 * Apple's dates (`2024-01-15 08:30:00 +0100`, or the iOS 8-era compact form the other methods also
 * rewrite, core/model/dates.ts backendDate) as RFC 3339 with the record's own offset, which pydantic reads
 * (contract §6.2), and that offset as the record's `zoneOffset` (`+01:00`).
 */
import { backendDate } from '../../model/dates.js';

export interface SdkDate {
  rfc3339: string;
  zoneOffset: string;
  /** Epoch milliseconds. */
  ms: number;
}

/** Two ASCII digits of `s` at `i` as a number, or -1. */
function two(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DD hh:mm:ss ±hhmm` read by position (every Record has two or three of them). */
function parseApple(v: string): SdkDate | null {
  if (v.length !== 25) return null;
  const c = (i: number) => v.charCodeAt(i);
  if (c(4) !== 45 || c(7) !== 45 || c(10) !== 32 || c(13) !== 58 || c(16) !== 58 || c(19) !== 32) return null;
  const sign = c(20);
  if (sign !== 43 && sign !== 45) return null;
  const hi = two(v, 0);
  const lo = two(v, 2);
  const mo = two(v, 5);
  const d = two(v, 8);
  const h = two(v, 11);
  const mi = two(v, 14);
  const s = two(v, 17);
  const zh = two(v, 21);
  const zm = two(v, 23);
  if (hi < 0 || lo < 0 || s < 0 || zh < 0 || zm < 0 || zh > 23 || zm > 59) return null;
  const y = hi * 100 + lo;
  if (mo < 1 || mo > 12 || h < 0 || h > 23 || mi < 0 || mi > 59 || s > 59 || d < 1) return null;
  // Date.UTC reads years 0–99 as 1900–1999: no instant of Apple's is that old.
  if (y < 100) return null;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : DAYS[mo - 1]!)) return null;
  const local = Date.UTC(y, mo - 1, d, h, mi, s);
  const offsetMin = (sign === 45 ? -1 : 1) * (zh * 60 + zm);
  const zoneOffset = `${v.slice(20, 23)}:${v.slice(23, 25)}`;
  return {
    rfc3339: `${v.slice(0, 10)}T${v.slice(11, 19)}${zoneOffset}`,
    zoneOffset,
    ms: local - offsetMin * 60_000,
  };
}

let lastValue = '';
let lastDate: SdkDate | null = null;

/** The date in RFC 3339, or null when it is not a real instant in one of Apple's forms. */
export function sdkDate(value: string | undefined): SdkDate | null {
  if (value === undefined) return null;
  // A Record's startDate and endDate are often the same text, and the next Record's too.
  if (value === lastValue) return lastDate;
  const parsed = parseApple(value) ?? parseApple(backendDate(value) ?? '');
  lastValue = value;
  lastDate = parsed;
  return parsed;
}
