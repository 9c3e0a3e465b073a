/**
 * A compact set of 64-bit content hashes (raw-tag.ts computes them), so duplicate detection costs 8 bytes
 * per sample instead of a string per sample.
 */

/** Open-addressing set of 64-bit keys in one Uint32Array; (0,0) marks an empty slot. */
class Table {
  slots: Uint32Array;
  size = 0;
  constructor(readonly capacity: number) {
    this.slots = new Uint32Array(capacity * 2);
  }

  /** Adds the key; false when it was already present. */
  add(hi: number, lo: number): boolean {
    const mask = this.capacity - 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const a = this.slots[2 * i] as number;
      const b = this.slots[2 * i + 1] as number;
      if (a === 0 && b === 0) {
        this.slots[2 * i] = hi;
        this.slots[2 * i + 1] = lo;
        this.size++;
        return true;
      }
      if (a === hi && b === lo) return false;
      i = (i + 1) & mask;
    }
  }

  has(hi: number, lo: number): boolean {
    const mask = this.capacity - 1;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & mask;
    for (;;) {
      const a = this.slots[2 * i] as number;
      const b = this.slots[2 * i + 1] as number;
      if (a === 0 && b === 0) return false;
      if (a === hi && b === lo) return true;
      i = (i + 1) & mask;
    }
  }
}

/**
 * A set of 64-bit hashes whose memory is capped: it grows to `maxEntries` distinct keys, then starts a
 * fresh generation and keeps only the previous one. Exact for duplicates closer together than
 * `maxEntries` samples, which covers Apple's layout (copies sit next to each other, grouped by type).
 */
export class BoundedHashSet {
  private current: Table;
  private previous: Table | null = null;
  /** How many times a generation was discarded (reported: dedupe is windowed beyond this). */
  rotations = 0;

  constructor(
    private readonly maxEntries = 2_000_000,
    initialCapacity = 1 << 16,
  ) {
    this.current = new Table(initialCapacity);
  }

  /** Adds the key; false when it was already in the window. */
  add(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    if (this.previous?.has(hi, lo)) return false;
    if (this.current.size + 1 > this.current.capacity * 0.6) this.grow();
    return this.current.add(hi, lo);
  }

  has(hi: number, lo: number): boolean {
    if (hi === 0 && lo === 0) lo = 1;
    return this.current.has(hi, lo) || (this.previous?.has(hi, lo) ?? false);
  }

  private grow(): void {
    if (this.current.size >= this.maxEntries) {
      this.previous = this.current;
      this.current = new Table(this.previous.capacity);
      this.rotations++;
      return;
    }
    const bigger = new Table(this.current.capacity * 2);
    const s = this.current.slots;
    for (let i = 0; i < s.length; i += 2) {
      const hi = s[i] as number;
      const lo = s[i + 1] as number;
      if (hi !== 0 || lo !== 0) bigger.add(hi, lo);
    }
    this.current = bigger;
  }
}
