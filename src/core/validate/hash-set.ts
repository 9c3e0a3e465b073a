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

  /** Whether the table takes no more hashes. */
  full(): boolean {
    return this.size >= this.limit;
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

/**
 * HashSet32s that grow by adding a table when the last one fills (a slot cannot move to a bigger
 * table, so the tables stay side by side and a lookup asks each): memory follows the distinct hashes
 * actually held instead of a guess made up front, within `maxSlots` in all, past which it stops
 * taking new hashes (`saturated`).
 */
export class GrowingHashSet {
  private readonly tables: HashSet32[];
  private slots: number;
  saturated = false;

  constructor(
    firstSlots: number,
    private readonly maxSlots: number,
  ) {
    const first = new HashSet32(Math.min(firstSlots, maxSlots));
    this.tables = [first];
    this.slots = 1 << first.bits;
  }

  /** log2 of the last (largest) table's slot count, and a hash's home slot in it: see Deduper.replay. */
  get bits(): number {
    return this.tables[this.tables.length - 1]!.bits;
  }

  home(hi: number): number {
    return this.tables[this.tables.length - 1]!.home(hi);
  }

  get size(): number {
    let n = 0;
    for (const t of this.tables) n += t.size;
    return n;
  }

  get bytes(): number {
    return this.slots * 4;
  }

  has(hi: number, lo: number): boolean {
    for (const t of this.tables) if (t.has(hi, lo)) return true;
    return false;
  }

  /** Adds the hash; true when it was already present. */
  addOrHas(hi: number, lo: number): boolean {
    const tables = this.tables;
    const n = tables.length;
    for (let i = 0; i < n - 1; i++) if (tables[i]!.has(hi, lo)) return true;
    const last = tables[n - 1]!;
    if (!last.full()) return last.addOrHas(hi, lo);
    if (last.has(hi, lo)) return true;
    let grow = 2 << last.bits;
    while (grow > this.maxSlots - this.slots && grow > 1 << 16) grow >>= 1;
    if (this.saturated || grow > this.maxSlots - this.slots) {
      this.saturated = true;
      return false;
    }
    const next = new HashSet32(grow);
    tables.push(next);
    this.slots += grow;
    return next.addOrHas(hi, lo);
  }
}
