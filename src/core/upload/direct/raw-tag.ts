/**
 * The direct method's fast path. Apple writes almost every Record exactly as serializeElement would:
 * double quotes, one space between attributes, and `&lt;` `&gt;` `&amp;` `&quot;` for the characters
 * that need them. For those Records the batch gets a copy of the source bytes instead of a re-escaped
 * serialization of the decoded attributes, and the duplicate key is a hash of those same bytes. One
 * pass over the bytes does both: it hashes them, and proves they are what the slow path would write, or
 * gives up at the first byte that says otherwise (the caller then serializes as before).
 *
 * Why the proof holds: the scanner has already parsed the tag (so it is well-formed and its attributes
 * are the decoded `attrs`). If the bytes hold no `='` (so every value is double-quoted), no `>`, no `<`
 * past the first byte, no control character (so no tab or newline, raw or between attributes), only
 * valid UTF-8 without U+FFFE/U+FFFF, and only the references escapeAttr itself writes, then each value's
 * bytes decode to its string and re-escape to themselves. What is left is whitespace between the parts;
 * counting UTF-16 units (bytes less what references and multi-byte characters save) against
 * `1 + name + Σ (key + value + 4)` rules out any space beyond the one before each attribute.
 */

const K1 = 0x9e3779b1 | 0;
const K2 = 0x85ebca77 | 0;
const SEED1 = 0x2545f491;
const SEED2 = 0x5bd1e995;

/** Whether an Int32Array sees bytes in little-endian order (the hash is defined on that order). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Whether any byte of w0 or w1 is < 0x20, ≥ 0x80, '&', "'", '<' or '>'. Subtracting borrows into a byte's top bit
 * exactly when that byte is below the constant (0x20; 2 after xor with '&', which also maps "'" to 1; 1
 * after mapping '<' and '>' to 0); a borrow only ever comes from a byte that is itself one of these.
 */
function hasSpecialByte(w0: number, w1: number): boolean {
  const t0 =
    (w0 - 0x20202020) |
    w0 |
    ((w0 ^ 0x26262626) - 0x02020202) |
    (((w0 | 0x02020202) ^ 0x3e3e3e3e) - 0x01010101);
  const t1 =
    (w1 - 0x20202020) |
    w1 |
    ((w1 ^ 0x26262626) - 0x02020202) |
    (((w1 | 0x02020202) ^ 0x3e3e3e3e) - 0x01010101);
  return ((t0 | t1) & 0x80808080) !== 0;
}

/** Lengths of the references escapeAttr writes, at buf[i] = '&'; 0 for any other. */
function canonicalReference(buf: Uint8Array, i: number, end: number): number {
  const c1 = buf[i + 1];
  const c2 = buf[i + 2];
  const c3 = buf[i + 3];
  if (i + 4 <= end && c3 === 0x3b) {
    if ((c1 === 0x6c || c1 === 0x67) && c2 === 0x74) return 4; // &lt; &gt;
    if (c1 === 0x23 && c2 === 0x39) return 4; // &#9;
    return 0;
  }
  const c4 = buf[i + 4];
  if (i + 5 <= end && c4 === 0x3b) {
    if (c1 === 0x61 && c2 === 0x6d && c3 === 0x70) return 5; // &amp;
    if (c1 === 0x23 && c2 === 0x31 && (c3 === 0x30 || c3 === 0x33)) return 5; // &#10; &#13;
    return 0;
  }
  if (
    i + 6 <= end &&
    c1 === 0x71 &&
    c2 === 0x75 &&
    c3 === 0x6f &&
    c4 === 0x74 &&
    buf[i + 5] === 0x3b // &quot;
  ) {
    return 6;
  }
  return 0;
}

/**
 * Hashes byte ranges to 64 bits (two 32-bit lanes, read in `hi` and `lo` after each call), four bytes
 * at a time through aligned word loads, so the same bytes give the same key wherever they sit.
 */
export class TagHasher {
  hi = 0;
  lo = 0;
  private view: Int32Array = new Int32Array(0);
  private viewOf: ArrayBufferLike | null = null;
  // Checking state for the bytes of the current call that need a closer look.
  private buf: Uint8Array = new Uint8Array(0);
  private first = 0;
  private end = 0;
  private saved = 0;
  private min = 0x80;
  private max = 0xbf;
  private nonChar = false;

  /**
   * Hashes buf[a, end), the start tag of an element without its `/>` or `>`, and tells whether those
   * bytes are exactly what serializeElement writes for it. `units` is `1 + name.length + Σ (key.length +
   * value.length + 4)` over the decoded attributes. When false, hi/lo are not meaningful.
   */
  canonical(buf: Buffer, a: number, end: number, units: number): boolean {
    this.buf = buf;
    this.first = a;
    this.end = end;
    this.saved = 0;
    this.min = 0x80;
    this.max = 0xbf;
    this.nonChar = false;
    if (!this.run(buf, a, end, true)) return false;
    return end - a - this.saved === units;
  }

  /** Hashes buf[a, end) (bytes that were serialized rather than copied). */
  hash(buf: Buffer, a: number, end: number): void {
    this.run(buf, a, end, false);
  }

  private words(buf: Buffer): Int32Array {
    if (buf.buffer !== this.viewOf) {
      this.viewOf = buf.buffer;
      this.view = new Int32Array(buf.buffer, 0, buf.buffer.byteLength >>> 2);
    }
    return this.view;
  }

  private run(buf: Buffer, a: number, end: number, check: boolean): boolean {
    let h1 = SEED1;
    let h2 = SEED2;
    let need = 0;
    let i = a;
    const p = buf.byteOffset + a;
    const sh = (p & 3) << 3;
    if (LITTLE_ENDIAN && end - a >= 8) {
      const words = this.words(buf);
      let j = p >>> 2;
      // Two words a step (one test for both); aligned words j, j+1 and j+2 must exist.
      const lastJ = words.length - 3;
      const rs = 32 - sh;
      let low = sh === 0 ? 0 : words[j]! >>> sh;
      for (; i + 8 <= end && j <= lastJ; i += 8, j += 2) {
        let w0: number;
        let w1: number;
        if (sh === 0) {
          w0 = words[j]!;
          w1 = words[j + 1]!;
        } else {
          const n1 = words[j + 1]!;
          const n2 = words[j + 2]!;
          w0 = low | (n1 << rs);
          w1 = (n1 >>> sh) | (n2 << rs);
          low = n2 >>> sh;
        }
        if (check) {
          if (hasSpecialByte(w0 | 0, w1 | 0)) {
            need = this.inspect(w0, i, 4, need);
            if (need >= 0) need = this.inspect(w1, i + 4, 4, need);
            if (need < 0) return false;
          } else if (need !== 0) return false;
        }
        h1 = Math.imul(((h1 << 5) | (h1 >>> 27)) ^ w0, K1);
        h2 = Math.imul(((h2 << 11) | (h2 >>> 21)) ^ w0, K2);
        h1 = Math.imul(((h1 << 5) | (h1 >>> 27)) ^ w1, K1);
        h2 = Math.imul(((h2 << 11) | (h2 >>> 21)) ^ w1, K2);
      }
    }
    // Short ranges, the end of an ArrayBuffer and big-endian hosts: the same words, assembled from bytes.
    for (; i < end; i += 4) {
      const n = Math.min(4, end - i);
      let w = buf[i]!;
      if (n > 1) w |= buf[i + 1]! << 8;
      if (n > 2) w |= buf[i + 2]! << 16;
      if (n > 3) w |= buf[i + 3]! << 24;
      if (check) {
        need = this.inspect(w, i, n, need);
        if (need < 0) return false;
      }
      h1 = Math.imul(((h1 << 5) | (h1 >>> 27)) ^ w, K1);
      h2 = Math.imul(((h2 << 11) | (h2 >>> 21)) ^ w, K2);
    }
    if (check && need !== 0) return false;
    const len = end - a;
    h1 = fmix(h1 ^ len);
    h2 = fmix(h2 ^ Math.imul(len, K1));
    this.hi = h1 >>> 0;
    this.lo = h2 >>> 0;
    return true;
  }

  /**
   * Looks at the `n` bytes of word `w` (at buf[i]) one by one; returns the UTF-8 continuation bytes still
   * expected after them, or -1 when a byte rules out a verbatim copy.
   */
  private inspect(w: number, i: number, n: number, need: number): number {
    for (let k = 0; k < n; k++) {
      const c = (w >>> (k << 3)) & 0xff;
      if (need > 0) {
        if (c < this.min || c > this.max) return -1;
        // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are valid UTF-8 but not XML characters.
        if (need === 1 && this.nonChar && c >= 0xbe) return -1;
        this.nonChar = this.nonChar && c === 0xbf;
        this.min = 0x80;
        this.max = 0xbf;
        need--;
        continue;
      }
      if (c >= 0x80) {
        // Lead bytes, with the second-byte ranges that exclude overlongs, surrogates and > U+10FFFF.
        if (c < 0xc2 || c > 0xf4) return -1;
        if (c < 0xe0) {
          need = 1;
          this.saved += 1;
        } else if (c < 0xf0) {
          need = 2;
          this.saved += 2;
          if (c === 0xe0) this.min = 0xa0;
          else if (c === 0xed) this.max = 0x9f;
          this.nonChar = c === 0xef;
        } else {
          need = 3;
          this.saved += 2;
          if (c === 0xf0) this.min = 0x90;
          else if (c === 0xf4) this.max = 0x8f;
        }
        continue;
      }
      if (c === 0x26) {
        const len = canonicalReference(this.buf, i + k, this.end);
        if (len === 0) return -1;
        this.saved += len - 1;
        continue;
      }
      // "'" opens a single-quoted value only right after '=' (more space there fails the count).
      if (c === 0x27) {
        if (this.buf[i + k - 1] === 0x3d) return -1;
        continue;
      }
      if (c < 0x20 || c === 0x3e) return -1;
      if (c === 0x3c && i + k !== this.first) return -1;
    }
    return need;
  }
}

/** murmur3's finalizer: every input bit reaches every output bit. */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
