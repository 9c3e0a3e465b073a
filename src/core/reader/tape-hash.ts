/**
 * The hashes of a tape (tape.ts): a 64-bit hash of an attribute value's raw bytes, and of an element
 * as a tree (its name, its attributes in order, its children's hashes, Merkle-style), so that every
 * element on a tape carries the hash of its whole subtree, top-level or nested.
 *
 * wasm/content-check.ts computes exactly the same numbers for the elements its fast path records;
 * this is the copy for the elements the scanner reads itself, and test/core/reader/tape.test.ts holds
 * the two to the same hashes. Two 32-bit lanes (multiply, rotate), so both sides compute with the
 * same 32-bit integer operations. A hash for counting duplicates in a file, not against an adversary.
 *
 * What an element hash covers, and so what "exact duplicate" means: the element's name, its
 * attributes' names and raw values (as written, before references are decoded) in document order,
 * and its child elements, recursively. Whitespace between attributes and between elements, text and
 * comments are not covered: they are layout, which the backend's parser never hands on.
 */

const P1 = 0x9e3779b1 | 0;
const P2 = 0x85ebca77 | 0;
const P3 = 0xc2b2ae3d | 0;
const P4 = 0x27d4eb2f | 0;
const F1 = 0x85ebca6b | 0;
const F2 = 0xc2b2ae35 | 0;
/** Seeds of a value's lanes, and the marker closing an element. */
const VALUE_A = 0x243f6a88 | 0;
const VALUE_B = 0x85a308d3 | 0;
const CLOSE = 0x5bd1e995 | 0;

export function step1(a: number, w: number): number {
  const x = Math.imul(a ^ w, P1);
  return (x << 13) | (x >>> 19);
}

export function step2(b: number, w: number): number {
  const x = Math.imul(b ^ w, P2);
  return (x << 17) | (x >>> 15);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, F1);
  h ^= h >>> 13;
  h = Math.imul(h, F2);
  return h ^ (h >>> 16);
}

/** The lanes' final hash: [lo, hi] into HASH. */
export const HASH = new Int32Array(2);

function finish(a: number, b: number): void {
  const lo = fmix(a ^ ((b << 16) | (b >>> 16)));
  HASH[0] = lo;
  HASH[1] = fmix(b ^ lo);
}

/** Lanes (a, b) after bytes[p, p + n), into LANES: 8 bytes a step, then a word, then the last 0–3 bytes. */
const LANES = new Int32Array(2);

function absorb(a: number, b: number, bytes: Uint8Array, p: number, n: number): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    a = step1(a, word(bytes, p + i));
    b = step2(b, word(bytes, p + i + 4));
  }
  if (i + 4 <= n) {
    a = step1(a, word(bytes, p + i));
    i += 4;
  }
  let t = 0;
  for (let k = 0; i < n; i++, k += 8) t |= bytes[p + i]! << k;
  LANES[0] = a;
  LANES[1] = step2(b, t);
}

/** The hash of bytes[p, p + n) into HASH. */
export function valueHash(bytes: Uint8Array, p: number, n: number): void {
  absorb(VALUE_A ^ n, VALUE_B ^ n, bytes, p, n);
  finish(LANES[0]!, LANES[1]!);
}

function word(bytes: Uint8Array, i: number): number {
  return bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
}

/**
 * An element's hash in the making: open() with its name, then attr() per attribute and child() per
 * child element's finished hash, in document order, then close().
 */
export class TreeHash {
  a = 0;
  b = 0;

  open(nameHash: number, nameLength: number): void {
    this.a = P3 ^ nameHash;
    this.b = P4 ^ nameLength;
  }

  /** An attribute: its name's hash and length, and its raw value bytes[p, p + n). */
  attr(nameHash: number, nameLength: number, bytes: Uint8Array, p: number, n: number): void {
    absorb(step1(this.a, nameHash), step2(this.b, nameLength ^ (n << 8)), bytes, p, n);
    this.a = LANES[0]!;
    this.b = LANES[1]!;
  }

  child(lo: number, hi: number): void {
    this.a = step1(this.a, lo);
    this.b = step2(this.b, hi);
  }

  /** The element's hash into HASH. */
  close(): void {
    finish(step1(this.a, CLOSE), this.b);
  }
}
