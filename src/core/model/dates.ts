/**
 * The dates of an export as the backend's XML import reads them (contract §5.3 step 3, §5.5, §5.6),
 * on bytes: records and workouts go through Python's `datetime.strptime(v, "%Y-%m-%d %H:%M:%S %z")`,
 * sleep samples through `datetime.fromisoformat(v)` (Python 3.13). Each reader returns the instant in
 * epoch milliseconds, or NaN where Python raises. Deliberate deviation: Python's `\d` and `\s` also
 * match non-ASCII digits and spaces; these readers take ASCII only (no export has others).
 *
 * Also here: the iOS 8-era compact form (`20141018163200+0100`), which both Python readers refuse and
 * which apple-import can rewrite into the backend's format (backendDate).
 */

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysIn(year: number, month: number): number {
  if (month !== 2) return DAYS[month - 1]!;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || (c !== undefined && c >= 0x09 && c <= 0x0d);
}

/** Epoch ms of a calendar date and time at an offset (seconds east), or NaN when Python's datetime() refuses it. */
function instant(y: number, mo: number, d: number, h: number, mi: number, s: number, offset: number): number {
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) return NaN;
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const t = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  t.setUTCFullYear(y);
  return t.getTime() - offset * 1000;
}

/** Cursor state of strptime's matcher. */
let p = 0;
let bytes: Uint8Array = new Uint8Array(0);
let limit = 0;

/** A field of 1 or 2 digits (Python's `%m %d %H %M %S` each accept one digit too), longest first: -1 if none. */
function digits12(max2: number): number {
  if (!isDigit(bytes[p])) return -1;
  const a = bytes[p]! - 0x30;
  if (p + 1 < limit && isDigit(bytes[p + 1])) {
    const two = a * 10 + bytes[p + 1]! - 0x30;
    if (two <= max2 && (two >= 10 || bytes[p] === 0x30)) {
      p += 2;
      return two;
    }
  }
  p += 1;
  return a;
}

function expect(c: number): boolean {
  if (p < limit && bytes[p] === c) {
    p++;
    return true;
  }
  return false;
}

function spaces(): boolean {
  const from = p;
  while (p < limit && isSpace(bytes[p])) p++;
  return p > from;
}

/**
 * Python's `%z` to the end: `Z`, or ±HH[:]MM[[:]SS[.ffffff]] with the colons used consistently; the
 * offset in seconds east of UTC, or NaN.
 */
function zone(): number {
  if (p >= limit) return NaN;
  const c = bytes[p]!;
  if (c === 0x5a || c === 0x7a) {
    p++;
    return 0;
  }
  if (c !== 0x2b && c !== 0x2d) return NaN;
  const sign = c === 0x2d ? -1 : 1;
  p++;
  const pair = (): number => {
    if (p + 1 >= limit || !isDigit(bytes[p]) || !isDigit(bytes[p + 1])) return -1;
    const v = (bytes[p]! - 0x30) * 10 + bytes[p + 1]! - 0x30;
    p += 2;
    return v;
  };
  const hh = pair();
  if (hh < 0) return NaN;
  const colon = expect(0x3a);
  const mm = pair();
  if (mm < 0 || mm > 59) return NaN;
  let ss = 0;
  if (p < limit) {
    if (colon ? !expect(0x3a) : bytes[p] === 0x3a) return NaN;
    ss = pair();
    if (ss < 0 || ss > 59) return NaN;
    if (p < limit) {
      if (!expect(0x2e)) return NaN;
      let n = 0;
      let frac = 0;
      while (p < limit && isDigit(bytes[p])) {
        frac = frac * 10 + bytes[p]! - 0x30;
        p++;
        n++;
      }
      if (n === 0 || n > 6) return NaN;
      ss += frac / 10 ** n;
    }
  }
  // timedelta(hours=hh, …) must lie strictly within ±24 h.
  if (hh > 23) return NaN;
  return sign * (hh * 3600 + mm * 60 + ss);
}

/**
 * `datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z")` over bytes[a, b): the instant, or NaN. Python
 * turns each space of the format into `\s+`, and its one- or two-digit fields backtrack; the shapes
 * the backend meets (Apple's `2024-01-15 08:30:00 +0100`) take the first path.
 */
export function strptimeDate(buf: Uint8Array, a: number, b: number): number {
  // Apple's own shape, checked and read in one go.
  if (b - a === 25) {
    const t = appleShapeDate(buf, a, b);
    // Years before 1000 go the long way: Date.UTC reads 0–99 as 1900–1999.
    if (real && buf[a] !== 0x30) return t;
  }
  bytes = buf;
  p = a;
  limit = b;
  for (let i = 0; i < 4; i++) if (!isDigit(bytes[p + i]) || p + i >= limit) return NaN;
  const y =
    (bytes[p]! - 0x30) * 1000 +
    (bytes[p + 1]! - 0x30) * 100 +
    (bytes[p + 2]! - 0x30) * 10 +
    bytes[p + 3]! -
    0x30;
  p += 4;
  if (!expect(0x2d)) return NaN;
  const mo = digits12(12);
  if (mo < 1 || !expect(0x2d)) return NaN;
  // %d also takes " 5" (a space and one digit).
  if (bytes[p] === 0x20 && isDigit(bytes[p + 1]) && !isDigit(bytes[p + 2])) p++;
  const d = digits12(31);
  if (d < 1 || !spaces()) return NaN;
  const h = digits12(23);
  if (h < 0 || !expect(0x3a)) return NaN;
  const mi = digits12(59);
  if (mi < 0 || !expect(0x3a)) return NaN;
  const s = digits12(61);
  if (s < 0 || !spaces()) return NaN;
  const z = zone();
  if (Number.isNaN(z) || p !== limit) return NaN;
  return instant(y, mo, d, h, mi, s, z);
}

function two(buf: Uint8Array, i: number): number {
  const a = buf[i]! - 0x30;
  const b = buf[i + 1]! - 0x30;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Set by appleShapeDate: whether the date it read is also a real instant (strptime takes it), and its result. */
let real = false;
let shape = Number.NaN;

/** What the last appleShapeDate call returned (strptimeDate and isoDate make one for a 25-byte date). */
export function lastAppleShape(): number {
  return shape;
}

/** Days from 1970-01-01 to a proleptic Gregorian date; linear in `d` (Feb 30 is Mar 1 or 2, as in Date.UTC). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * Apple's own `YYYY-MM-DD HH:MM:SS ±HHMM` over bytes[a, b), with the field ranges of APPLE_DATE_RE
 * (the shape every modern export writes, which the report's months and first and last dates are read
 * from): epoch ms as Date.UTC reads the fields (Feb 30 rolls over into March), or NaN.
 */
export function appleShapeDate(buf: Uint8Array, a: number, b: number): number {
  real = false;
  shape = Number.NaN;
  if (b - a !== 25) return NaN;
  const cy = two(buf, a);
  const yy = two(buf, a + 2);
  const mo = two(buf, a + 5);
  const d = two(buf, a + 8);
  const h = two(buf, a + 11);
  const mi = two(buf, a + 14);
  const s = two(buf, a + 17);
  const zh = two(buf, a + 21);
  const zm = two(buf, a + 23);
  const sign = buf[a + 20];
  if (
    cy < 0 ||
    yy < 0 ||
    zh < 0 ||
    zm < 0 ||
    buf[a + 4] !== 0x2d ||
    buf[a + 7] !== 0x2d ||
    buf[a + 10] !== 0x20 ||
    buf[a + 13] !== 0x3a ||
    buf[a + 16] !== 0x3a ||
    buf[a + 19] !== 0x20 ||
    (sign !== 0x2b && sign !== 0x2d) ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > 31 ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    s < 0 ||
    s > 61
  )
    return NaN;
  const y = cy * 100 + yy;
  real = y >= 1 && d <= daysIn(y, mo) && s <= 59 && zh <= 23 && zm <= 59;
  const off = (sign === 0x2d ? -1 : 1) * (zh * 60 + zm);
  // Date.UTC's reading of the fields (years below 100 are 19xx to it), without its cost.
  const year = y < 100 ? y + 1900 : y;
  shape = ((daysFromCivil(year, mo, d) * 24 + h) * 60 + mi - off) * 60_000 + s * 1000;
  return shape;
}

/**
 * `datetime.fromisoformat(value)` (Python 3.13) over bytes[a, b), as the sleep import reads dates:
 * `YYYY-MM-DD` or `YYYYMMDD`, then optionally any one separator and `HH[:MM[:SS[.f]]]` or
 * `HHMM[SS]`, then optionally (after a space) `Z` or ±HH[[:]MM[[:]SS]]. The instant (a date without
 * an offset taken as UTC), or NaN.
 */
export function isoDate(buf: Uint8Array, a: number, b: number): number {
  if (b - a === 25) {
    const t = appleShapeDate(buf, a, b);
    if (real && buf[a] !== 0x30) return t;
  }
  bytes = buf;
  p = a;
  limit = b;
  const fixed = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      if (p >= limit || !isDigit(bytes[p])) return -1;
      v = v * 10 + bytes[p]! - 0x30;
      p++;
    }
    return v;
  };
  const y = fixed(4);
  if (y < 0) return NaN;
  const extended = expect(0x2d);
  const mo = fixed(2);
  if (mo < 0 || (extended && !expect(0x2d))) return NaN;
  const d = fixed(2);
  if (d < 0) return NaN;
  if (p === limit) return instant(y, mo, d, 0, 0, 0, 0);
  p++; // any one separator
  const h = fixed(2);
  if (h < 0) return NaN;
  let mi = 0;
  let s = 0;
  let fraction = false;
  const colon = expect(0x3a);
  if (colon || isDigit(bytes[p])) {
    mi = fixed(2);
    if (mi < 0) return NaN;
    if ((colon && expect(0x3a)) || (!colon && isDigit(bytes[p]))) {
      s = fixed(2);
      if (s < 0) return NaN;
      if (bytes[p] === 0x2e || bytes[p] === 0x2c) {
        p++;
        if (!isDigit(bytes[p])) return NaN;
        while (p < limit && isDigit(bytes[p])) p++;
        fraction = true;
      }
    }
  }
  let z = 0;
  if (p < limit) {
    // A space may stand before the offset, but not after a fraction of a second.
    if (bytes[p] === 0x20 && !fraction) p++;
    const c = bytes[p];
    if (c === 0x5a) {
      p++;
    } else if (c === 0x2b || c === 0x2d) {
      p++;
      const zh = fixed(2);
      if (zh < 0) return NaN;
      let zm = 0;
      let zs = 0;
      if (p < limit) {
        const zc = expect(0x3a);
        zm = fixed(2);
        if (zm < 0 || zm > 59) return NaN;
        if (p < limit) {
          if (zc && !expect(0x3a)) return NaN;
          zs = fixed(2);
          if (zs < 0 || zs > 59) return NaN;
        }
      }
      if (zh > 23) return NaN;
      z = (c === 0x2d ? -1 : 1) * (zh * 3600 + zm * 60 + zs);
    } else return NaN;
  }
  if (p !== limit) return NaN;
  return instant(y, mo, d, h, mi, s, z);
}

/** The iOS 8-era compact form: `YYYYMMDDHHMMSS±HHMM` (also with `T` or a space between date and time, or `Z`). */
const COMPACT = /^(\d{4})(\d{2})(\d{2})[T ]?(\d{2})(\d{2})(\d{2}) ?(Z|[+-]\d{4})$/;

/**
 * `value` in the backend's format (`2014-10-18 16:32:00 +0100`) when it is in the compact form and
 * names a real instant; null otherwise. What the upload methods write for such dates.
 */
export function backendDate(value: string): string | null {
  const m = COMPACT.exec(value);
  if (m === null) return null;
  const [, y, mo, d, h, mi, s, z] = m as unknown as string[];
  const zone = z === 'Z' ? '+0000' : (z as string);
  const off = (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(3, 5)) * 60);
  if (Number(zone.slice(3, 5)) > 59) return null;
  if (Number.isNaN(instant(+y!, +mo!, +d!, +h!, +mi!, +s!, off)) || Number(zone.slice(1, 3)) > 23)
    return null;
  return `${y}-${mo}-${d} ${h}:${mi}:${s} ${zone}`;
}

/** Whether bytes[a, b) is a compact date backendDate can rewrite. */
export function isCompactDate(buf: Uint8Array, a: number, b: number): boolean {
  if (b - a < 15 || b - a > 21 || !isDigit(buf[a])) return false;
  let s = '';
  for (let i = a; i < b; i++) s += String.fromCharCode(buf[i]!);
  return backendDate(s) !== null;
}
