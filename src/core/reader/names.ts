/**
 * Interns short strings (element and attribute names, and repeated attribute values such as `type`,
 * `unit`, `sourceName`) straight from bytes. Exports repeat a few hundred distinct short strings
 * millions of times; handing V8 the same string skips a native slice call and an allocation, and
 * keeps attribute objects on one hidden-class path. Direct-mapped and fixed-size, so hostile or
 * high-cardinality input (dates) just overwrites slots instead of growing memory.
 */
const SLOTS = 4096;
/** Longer strings are decoded directly: they are rarely repeated and comparing them costs more. */
export const MAX_INTERNED_BYTES = 64;

export class StringCache {
  /** Slot i's bytes live at arena[i * MAX_INTERNED_BYTES …]; a miss overwrites in place, allocating nothing. */
  private readonly arena = new Uint8Array(SLOTS * MAX_INTERNED_BYTES);
  private readonly lengths = new Int32Array(SLOTS).fill(-1);
  private readonly strings: string[] = new Array(SLOTS).fill('');

  /** `internalise`: for property keys, store V8's canonical copy so keyed stores skip a string-table lookup. */
  constructor(private readonly internalise = false) {}

  /** The UTF-8 string in buf[a, b), whose hash (31-polynomial over the bytes) is `h`. */
  get(buf: Buffer, a: number, b: number, h: number): string {
    const n = b - a;
    if (n > MAX_INTERNED_BYTES) return decode(buf, a, b);
    const slot = h & (SLOTS - 1);
    const arena = this.arena;
    const at = slot * MAX_INTERNED_BYTES;
    if (this.lengths[slot] === n) {
      let i = 0;
      while (i < n && arena[at + i] === buf[a + i]) i++;
      if (i === n) return this.strings[slot]!;
    }
    const decoded = decode(buf, a, b);
    const s = this.internalise ? canonical(decoded) : decoded;
    for (let i = 0; i < n; i++) arena[at + i] = buf[a + i]!;
    this.lengths[slot] = n;
    this.strings[slot] = s;
    return s;
  }
}

/**
 * The interning cache of this thread's scanners and collectors: what it holds depends only on the
 * bytes looked up, so one serves them all, and a parallel scan's ranges do not each leave a cache of
 * their own for the GC.
 */
let shared: StringCache | null = null;
export function threadNames(): StringCache {
  shared ??= new StringCache(true);
  return shared;
}

function decode(buf: Buffer, a: number, b: number): string {
  for (let i = a; i < b; i++) if (buf[i]! >= 0x80) return buf.utf8Slice(a, b);
  return buf.latin1Slice(a, b);
}

function canonical(s: string): string {
  const o: Record<string, number> = { [s]: 0 };
  return Object.keys(o)[0]!;
}
