/**
 * A set of 64-bit hashes in one flat Int32Array with linear probing, 4 bytes per slot: a hash's `hi`
 * half picks its home slot and its `lo` half is what the slot holds, so a false match needs both a
 * shared home run and equal 32 bits. It cannot grow (a slot no longer knows its home), so it is sized
 * up front and stops taking new hashes past 85 % (`saturated`), which bounds memory whatever the export.
 *
 * Any slot count, not only a power of two: the home slot scales 24 bits of `hi` (homeBits) to the
 * table, so a set sized for the elements expected holds them at the load it was sized for instead of
 * up to twice the room; and a hash's home grows with homeBits in every table alike, which is what
 * Deduper.replay orders its lookups by.
 */
/**
 * The 24 bits of `hi` that place a hash in a table: a multiplicative spread first, so that hashes
 * differing only in their low bits do not share a home. (homeBits * slots < 2^48: exact in a double.)
 */
export function homeBits(hi: number): number {
  return Math.imul(hi, 0x9e3779b1) >>> 8;
}

export class HashSet32 {
  private readonly table: Int32Array;
  private readonly limit: number;
  readonly slots: number;
  size = 0;
  saturated = false;

  constructor(slots: number) {
    this.slots = Math.max(16, Math.ceil(slots));
    this.table = new Int32Array(this.slots);
    this.limit = Math.floor(this.slots * 0.85);
  }

  /** Adds the hash; true when it was already present. */
  addOrHas(hi: number, lo: number): boolean {
    // 0 marks an empty slot.
    const v = lo === 0 ? 1 : lo;
    const t = this.table;
    const n = this.slots;
    let i = Math.floor((homeBits(hi) * n) / 16777216);
    for (;;) {
      const s = t[i]!;
      if (s === 0) break;
      if (s === v) return true;
      if (++i === n) i = 0;
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
    const n = this.slots;
    for (let i = Math.floor((homeBits(hi) * n) / 16777216); ; ) {
      const s = t[i]!;
      if (s === 0) return false;
      if (s === v) return true;
      if (++i === n) i = 0;
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
    this.slots = first.slots;
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
    let grow = 2 * last.slots;
    while (grow > this.maxSlots - this.slots && grow > 1 << 16) grow = Math.floor(grow / 2);
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
