import type { ExportElement } from '../reader/types.js';

/**
 * A set of 64-bit hashes in one flat Uint32Array with linear probing: 8 bytes per slot, kept between 35 %
 * and 70 % full, so about 11–23 bytes per distinct element. It stops growing at `maxSlots` (default 2^24
 * slots = 128 MiB, ~11.7 M elements); past that `saturated` is set and new hashes are no longer recorded,
 * which bounds memory whatever the export's size.
 */
export class HashSet64 {
  private table: Uint32Array;
  private mask: number;
  size = 0;
  saturated = false;

  constructor(
    initialSlots = 1 << 16,
    private readonly maxSlots = 1 << 24,
  ) {
    this.table = new Uint32Array(initialSlots * 2);
    this.mask = initialSlots - 1;
  }

  /** Adds the hash; true when it was already present. */
  addOrHas(hi: number, lo: number): boolean {
    // (0, 0) marks an empty slot.
    if (hi === 0 && lo === 0) lo = 1;
    const t = this.table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = t[i * 2]!;
      const l = t[i * 2 + 1]!;
      if (h === 0 && l === 0) break;
      if (h === hi >>> 0 && l === lo >>> 0) return true;
      i = (i + 1) & this.mask;
    }
    if (this.saturated) return false;
    t[i * 2] = hi;
    t[i * 2 + 1] = lo;
    this.size++;
    if (this.size > (this.mask + 1) * 0.7) this.grow();
    return false;
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    const t = this.table;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask;
    for (;;) {
      const h = t[i * 2]!;
      const l = t[i * 2 + 1]!;
      if (h === 0 && l === 0) return false;
      if (h === hi >>> 0 && l === lo >>> 0) return true;
      i = (i + 1) & this.mask;
    }
  }

  get bytes(): number {
    return this.table.byteLength;
  }

  private grow(): void {
    const slots = (this.mask + 1) * 2;
    if (slots > this.maxSlots) {
      this.saturated = true;
      return;
    }
    const old = this.table;
    this.table = new Uint32Array(slots * 2);
    this.mask = slots - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i += 2) {
      const h = old[i]!;
      const l = old[i + 1]!;
      if (h !== 0 || l !== 0) this.addOrHas(h, l);
    }
  }
}

/** Output slots of elementHash: [hi, lo]. Reused to avoid an allocation per element. */
export const HASH_OUT = new Uint32Array(2);

let h1 = 0;
let h2 = 0;

function feed(s: string): void {
  let a = h1;
  let b = h2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 2654435761);
    b = Math.imul(b ^ c, 1597334677);
  }
  h1 = a;
  h2 = b;
}

function mark(code: number): void {
  h1 = Math.imul(h1 ^ code, 2654435761);
  h2 = Math.imul(h2 ^ code, 1597334677);
}

function feedElement(el: ExportElement): void {
  mark(0x10001);
  feed(el.name);
  for (const k in el.attrs) {
    mark(0x10002);
    feed(k);
    mark(0x10003);
    feed(el.attrs[k]!);
  }
  for (const child of el.children) feedElement(child);
  mark(0x10004);
}

/**
 * 64-bit hash (cyrb53-style lanes) of an element's canonical serialization: name, attributes in document
 * order, children recursively. Byte-identical elements hash equal; written to HASH_OUT.
 */
export function elementHash(el: ExportElement): Uint32Array {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;
  feedElement(el);
  let a = h1;
  let b = h2;
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  HASH_OUT[0] = a;
  HASH_OUT[1] = b;
  return HASH_OUT;
}
