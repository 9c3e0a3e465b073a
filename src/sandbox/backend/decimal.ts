// Exact decimal arithmetic for the few places the backend computes with Python's Decimal and stores into a
// Postgres NUMERIC(10,3) column (contract §5.4): a JS number would turn 0.975 × 100 into 97.49999999999999.

/** A decimal as an integer mantissa and a count of fraction digits. */
export interface Dec {
  mantissa: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^\s*([+-])?(\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/** Parses what Python's `Decimal(str)` accepts as a finite number; null otherwise (NaN and infinities too). */
export function parseDecimal(text: string): Dec | null {
  const m = DECIMAL_TEXT.exec(text);
  if (!m || (m[2] === undefined && (m[3] === undefined || m[3] === ''))) return null;
  const [, sign, whole = '', fraction = '', exponent = '0'] = m;
  let scale = fraction.length - Number(exponent);
  let digits = `${whole}${fraction}` || '0';
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  const mantissa = BigInt(digits) * (sign === '-' ? -1n : 1n);
  return { mantissa, scale };
}

/** The decimal for a JSON number as Python's `Decimal(str(float))` gives it: the shortest round-trip digits. */
export function decimalOfNumber(n: number): Dec | null {
  return Number.isFinite(n) ? parseDecimal(String(n)) : null;
}

export function multiply(a: Dec, b: Dec): Dec {
  return { mantissa: a.mantissa * b.mantissa, scale: a.scale + b.scale };
}

export function add(a: Dec, b: Dec): Dec {
  const scale = Math.max(a.scale, b.scale);
  return {
    mantissa: a.mantissa * 10n ** BigInt(scale - a.scale) + b.mantissa * 10n ** BigInt(scale - b.scale),
    scale,
  };
}

/** Postgres NUMERIC rounding to `digits` fraction digits: half away from zero. */
export function roundTo(a: Dec, digits: number): Dec {
  if (a.scale <= digits) return { mantissa: a.mantissa * 10n ** BigInt(digits - a.scale), scale: digits };
  const divisor = 10n ** BigInt(a.scale - digits);
  const negative = a.mantissa < 0n;
  const abs = negative ? -a.mantissa : a.mantissa;
  let q = abs / divisor;
  if ((abs % divisor) * 2n >= divisor) q += 1n;
  return { mantissa: negative ? -q : q, scale: digits };
}

export function toText(a: Dec): string {
  const negative = a.mantissa < 0n;
  const digits = (negative ? -a.mantissa : a.mantissa).toString().padStart(a.scale + 1, '0');
  const text = a.scale === 0 ? digits : `${digits.slice(0, -a.scale)}.${digits.slice(-a.scale)}`;
  return negative ? `-${text}` : text;
}

/** What a NUMERIC(10,3) column keeps, or null when the value does not fit (|v| must round below 10^7). */
export function numeric10x3(a: Dec): string | null {
  const rounded = roundTo(a, 3);
  const abs = rounded.mantissa < 0n ? -rounded.mantissa : rounded.mantissa;
  return abs >= 10n ** 10n ? null : toText(rounded);
}

/** The error Postgres raises (through psycopg and SQLAlchemy) for a value the column cannot hold. */
export const NUMERIC_OVERFLOW_ERROR =
  '(psycopg.errors.NumericValueOutOfRange) numeric field overflow\n' +
  'DETAIL:  A field with precision 10, scale 3 must round to an absolute value less than 10^7.';
