/**
 * A set of 64-bit hashes in one flat Int32Array with linear probing, 4 bytes per slot: a hash's `hi`
 * half picks its home slot and its `lo` half is what the slot holds, so a false match needs both a
 * shared home run and equal 32 bits. It cannot grow (a slot no longer knows its home), so it is sized
 * up front and stops taking new hashes past 85 % (`saturated`), which bounds memory whatever the export.
 */
export class HashSet32 {
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly limit: number;
  /** log2 of the slot count. */
  readonly bits: number;
  size = 0;
  saturated = false;

  constructor(slots: number) {
    let bits = 4;
    while (1 << bits < slots) bits++;
    this.bits = bits;
    this.table = new Int32Array(1 << bits);
    this.mask = (1 << bits) - 1;
    this.limit = Math.floor((1 << bits) * 0.85);
  }

  /** The home slot of a hash, for callers that order their lookups by it (see Deduper.replay). */
  home(hi: number): number {
    return (hi ^ (hi >>> 16)) & this.mask;
  }

  /** Adds the hash; true when it was already present. */
  addOrHas(hi: number, lo: number): boolean {
    // 0 marks an empty slot.
    const v = lo === 0 ? 1 : lo;
    const t = this.table;
    const mask = this.mask;
    let i = (hi ^ (hi >>> 16)) & mask;
    for (;;) {
      const s = t[i]!;
      if (s === 0) break;
      if (s === v) return true;
      i = (i + 1) & mask;
    }
    if (this.size >= this.limit) {
      this.saturated = true;
      return false;
    }
    t[i] = v;
    this.size++;
    return false;
  }

  has(hi: number, lo: number): boolean {
    const v = lo === 0 ? 1 : lo;
    const t = this.table;
    const mask = this.mask;
    for (let i = (hi ^ (hi >>> 16)) & mask; ; i = (i + 1) & mask) {
      const s = t[i]!;
      if (s === 0) return false;
      if (s === v) return true;
    }
  }

  get bytes(): number {
    return this.table.byteLength;
  }
}
