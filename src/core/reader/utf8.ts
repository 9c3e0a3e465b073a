/**
 * Whether an export's bytes are UTF-8 as an XML parser reads them: expat (the backend's ElementTree)
 * rejects malformed and overlong sequences, surrogates, code points past U+10FFFF and the non-characters
 * U+FFFE and U+FFFF as "not well-formed (invalid token)". The scanner only looks at ASCII bytes, so this
 * is a check of its own, fed the same chunks; the bulk is judged natively (buffer.isUtf8), bytes one by
 * one only where it fails.
 */
import { isUtf8 } from 'node:buffer';

/** Length of the well-formed sequence at buf[i] (i < end), 0 when it is not one, -1 when `end` cuts it. */
export function sequenceAt(buf: Uint8Array, i: number, end: number): number {
  const c = buf[i]!;
  if (c < 0x80) return 1;
  let n: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c === 0xe0) lo = 0xa0;
    else if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c === 0xf0) lo = 0x90;
    else if (c === 0xf4) hi = 0x8f;
  } else return 0;
  for (let k = 1; k < n; k++) {
    if (i + k >= end) return -1;
    const b = buf[i + k]!;
    if (b < (k === 1 ? lo : 0x80) || b > (k === 1 ? hi : 0xbf)) return 0;
  }
  // U+FFFE and U+FFFF are not XML characters.
  if (c === 0xef && buf[i + 1] === 0xbf && buf[i + 2]! >= 0xbe) return 0;
  return n;
}

/** Index of the first byte of buf[from, to) that starts no well-formed sequence, or -1 (`to` may cut the last). */
function firstInvalid(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; ) {
    const n = sequenceAt(buf, i, to);
    if (n === 0) return i;
    if (n === -1) return -1;
    i += n;
  }
  return -1;
}

const NONCHAR_LEAD = Buffer.from([0xef, 0xbf]);

/**
 * Fed a stream's chunks in order; reports the absolute offset of the first byte that is not UTF-8. A
 * sequence that the end of input cuts short needs no report of its own: inside the root it is a truncated
 * export, after it text after the root element.
 */
export class Utf8Check {
  /** The last chunk's unfinished sequence (1–3 bytes) and where it starts. */
  private carry: Buffer | null = null;
  private carryAt = 0;
  /** The value of the byte write() reported last (it may lie in an earlier chunk). */
  badByte = 0;

  /** The first bad byte's offset in `chunk` (whose first byte is at absolute `at`), or -1. */
  write(chunk: Buffer, at: number): number {
    let start = 0;
    if (this.carry !== null) {
      // The sequence the last chunk began: it ends within this chunk's first three bytes.
      const joined = Buffer.concat([this.carry, chunk.subarray(0, 3)]);
      const n = sequenceAt(joined, 0, joined.length);
      if (n === 0) {
        this.badByte = joined[0]!;
        return this.carryAt;
      }
      if (n === -1) {
        this.carry = joined;
        return -1;
      }
      start = n - this.carry.length;
      this.carry = null;
    }
    const len = chunk.length;
    // An unfinished sequence at the end waits for the next chunk.
    let end = len;
    for (let k = 1; k <= 3 && len - k >= start; k++) {
      const c = chunk[len - k]!;
      if (c < 0x80) break;
      if (c >= 0xc0) {
        if (sequenceAt(chunk, len - k, len) === -1) end = len - k;
        break;
      }
    }
    const body = chunk.subarray(start, end);
    if (!isUtf8(body)) {
      const bad = firstInvalid(body, 0, body.length);
      return this.bad(chunk, at, start + (bad === -1 ? body.length : bad));
    }
    // Well-formed, but perhaps U+FFFE or U+FFFF (EF BF BE/BF): isUtf8 accepts them.
    for (let i = body.indexOf(NONCHAR_LEAD); i !== -1; i = body.indexOf(NONCHAR_LEAD, i + 1)) {
      if (i + 2 < body.length && body[i + 2]! >= 0xbe) return this.bad(chunk, at, start + i);
    }
    if (end < len) {
      this.carry = Buffer.from(chunk.subarray(end));
      this.carryAt = at + end;
    }
    return -1;
  }

  private bad(chunk: Buffer, at: number, i: number): number {
    this.badByte = chunk[i] ?? 0;
    return at + i;
  }
}
