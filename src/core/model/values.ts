/**
 * A Record's `value` as the backend reads it (contract §5.3 step 2, §5.4): `Decimal(value)` after a
 * check for an empty one, then the sample model and the database column. Over bytes, ASCII only
 * (Python's Decimal also takes other scripts' digits; no export has them).
 */

/** The backend skips the Record (`invalid_value`): missing, blank, or not a decimal. */
export const VALUE_INVALID = 0;
export const VALUE_OK = 1;
/**
 * A decimal the column cannot hold: `Numeric(10,3)` takes at most ±9,999,999.999, and an infinity not
 * at all; the bulk insert of the whole chunk then fails, and the task with it [contract §5.4, inferred].
 */
export const VALUE_OUT_OF_RANGE = 2;

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || (c !== undefined && c >= 0x09 && c <= 0x0d);
}

/** Lower-case ASCII of bytes[a, b). */
function lower(buf: Uint8Array, a: number, b: number): string {
  let s = '';
  for (let i = a; i < b; i++) s += String.fromCharCode(buf[i]! | 0x20);
  return s;
}

/** Digits from `i`: the end of the run, or -1 without a digit. */
function digitRun(buf: Uint8Array, i: number, b: number): number {
  const from = i;
  while (i < b && isDigit(buf[i])) i++;
  return i > from ? i : -1;
}

const scratch = Buffer.alloc(64);

/**
 * What becomes of the value bytes[a, b) (a < 0: no value attribute): VALUE_OK, VALUE_INVALID or
 * VALUE_OUT_OF_RANGE. NaN passes (the sample model takes it as a float, the column holds it); sNaN is
 * refused by the sample model, which the backend logs as an unexpected error and skips.
 */
export function judgeValue(buf: Uint8Array, a: number, b: number): number {
  if (a < 0) return VALUE_INVALID;
  // Python's Decimal drops every '_' before it reads the number. A loop over the value, not
  // indexOf, which would search the rest of the buffer each time there is none.
  let under = a;
  while (under < b && buf[under] !== 0x5f) under++;
  if (under < b) {
    let n = 0;
    for (let i = a; i < b; i++) if (buf[i] !== 0x5f) scratch[n++] = buf[i]!;
    return b - a <= scratch.length ? judgeValue(scratch, 0, n) : VALUE_INVALID;
  }
  while (a < b && isSpace(buf[a])) a++;
  while (b > a && isSpace(buf[b - 1])) b--;
  if (a === b) return VALUE_INVALID;
  let i = a;
  if (buf[i] === 0x2b || buf[i] === 0x2d) i++;
  if (i < b && !isDigit(buf[i]) && buf[i] !== 0x2e) {
    const word = lower(buf, i, b);
    if (word === 'inf' || word === 'infinity') return VALUE_OUT_OF_RANGE;
    if (/^nan\d*$/.test(word)) return VALUE_OK;
    return VALUE_INVALID;
  }
  const intStart = i;
  let intEnd = i;
  if (isDigit(buf[i])) {
    intEnd = digitRun(buf, i, b);
    i = intEnd;
  }
  let fracDigits = false;
  if (buf[i] === 0x2e && i < b) {
    i++;
    if (isDigit(buf[i]) && i < b) {
      i = digitRun(buf, i, b);
      fracDigits = true;
    }
  }
  if (intEnd === intStart && !fracDigits) return VALUE_INVALID;
  let exp = 0;
  if (i < b && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    let sign = 1;
    if (buf[i] === 0x2b || buf[i] === 0x2d) {
      if (buf[i] === 0x2d) sign = -1;
      i++;
    }
    const e = digitRun(buf, i, b);
    if (e < 0) return VALUE_INVALID;
    exp = sign * Number(lower(buf, i, e));
    i = e;
  }
  if (i !== b) return VALUE_INVALID;
  if (exp === 0) {
    // Read from the digits: Numeric(10,3) holds seven integer digits, and rounds the fourth decimal.
    let lead = intStart;
    while (lead < intEnd && buf[lead] === 0x30) lead++;
    const digits = intEnd - lead;
    if (digits !== 7) return digits < 7 ? VALUE_OK : VALUE_OUT_OF_RANGE;
    for (let k = lead; k < intEnd; k++) if (buf[k] !== 0x39) return VALUE_OK;
    const f = intEnd + 1;
    const roundsUp =
      buf[intEnd] === 0x2e &&
      buf[f] === 0x39 &&
      buf[f + 1] === 0x39 &&
      buf[f + 2] === 0x39 &&
      buf[f + 3]! >= 0x35 &&
      isDigit(buf[f + 3]) &&
      f + 3 < b;
    return roundsUp ? VALUE_OUT_OF_RANGE : VALUE_OK;
  }
  const v = Number(lower(buf, a, b));
  return Math.abs(v) >= 9_999_999.9995 ? VALUE_OUT_OF_RANGE : VALUE_OK;
}
