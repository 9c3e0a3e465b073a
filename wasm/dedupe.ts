// AssemblyScript, compiled to dist/wasm/dedupe.wasm by `npm run build:wasm-dedupe` (wasm/dedupe.asconfig.json).
//
// validate's duplicate decisions (src/core/validate/dedupe-log.ts Deduper, the JavaScript that runs
// without this module and that test/core/validate/dedupe-wasm.test.ts holds it to): the same sets,
// slot for slot, and the same replay of a log of steps in the order of their home slots. Only the
// decisions are here: the steps come in through the log area, the counts go out through the getters,
// and each repeat the tally must hear of goes out as a word in the repeat area.

/** The Correlation children's set: HashSet32(1 << 12). */
const CHILDREN: usize = 0;
const CHILD_SLOTS: i32 = 4096;
const CHILD_LIMIT: i32 = 3481; // floor(4096 * 0.85)
/** The replay's bucket starts: BUCKETS + 1 u32. */
const STARTS: usize = CHILDREN + <usize>CHILD_SLOTS * 4;
const BUCKETS: i32 = 1 << 16;
/** Per set (0: elements, 1: row keys), per table: [base, slots, size, limit] as i32. */
const TABLES: usize = STARTS + <usize>(BUCKETS + 1) * 4;
const MAX_TABLES: i32 = 32;
/** Where the bump allocator starts: tables, the log, its sorting room and the repeat words follow. */
const HEAP: usize = TABLES + <usize>(2 * MAX_TABLES) * 16;

const TOP_RECORD: u32 = 1;
const TOP_OTHER: u32 = 2;
const CORRELATION_CHILD: u32 = 3;
const ROW_KEY: u32 = 4;
const NO_OUTCOME: u32 = 15;

let top: usize = HEAP;
let childSize: i32 = 0;
/** Per set: tables made (0: not made yet), slots in all, whether it takes no more (plain globals: nothing here is allocated, the layout above owns the memory). */
let made0: i32 = 0;
let made1: i32 = 0;
let slots0: i32 = 0;
let slots1: i32 = 0;
let saturated0: bool = false;
let saturated1: bool = false;

@inline
function madeOf(set: i32): i32 {
  return set == 0 ? made0 : made1;
}

@inline
function slotsOf(set: i32): i32 {
  return set == 0 ? slots0 : slots1;
}

@inline
function saturatedOf(set: i32): bool {
  return set == 0 ? saturated0 : saturated1;
}

function saturate(set: i32): void {
  if (set == 0) saturated0 = true;
  else saturated1 = true;
}
let maxSlots: i32 = 0;
let firstSlots: i32 = 0;
/** Outcomes whose repeat is their row key's (dedupe-log.ts rowOutcome). */
let rowA: u32 = 0;
let rowB: u32 = 0;

let logAt: usize = 0;
let sortedAt: usize = 0;
let repeatsAt: usize = 0;
let logRoom: i32 = 0;
let repeats: i32 = 0;

let exact: i32 = 0;
let copies: i32 = 0;
let sameKey: i32 = 0;

/** Bytes [top, top + bytes) for good; 0 when memory cannot grow. */
function alloc(bytes: usize): usize {
  const at = (top + 15) & ~(<usize>15);
  const end = at + bytes;
  const have = <usize>memory.size() << 16;
  if (end > have) {
    const pages = <i32>((end - have + 65535) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  top = end;
  return at;
}

/**
 * Sets up the sets: the first table of each gets `first` slots (sizedSet's), all tables of one set at
 * most `max`; `a` and `b` are the outcomes written as a time-series row. False when memory is short.
 */
export function setup(first: i32, max: i32, a: i32, b: i32): bool {
  firstSlots = first;
  maxSlots = max;
  rowA = <u32>a;
  rowB = <u32>b;
  return true;
}

@inline
function homeBits(hi: i32): u32 {
  return (<u32>(hi * -1640531535)) >>> 8;
}

@inline
function meta(set: i32, k: i32): usize {
  return TABLES + <usize>(set * MAX_TABLES + k) * 16;
}

/** A new table of `slots` (at least 16) for `set`; false when memory is short. */
function addTable(set: i32, slots: i32): bool {
  const n = slots < 16 ? 16 : slots;
  const base = alloc(<usize>n * 4);
  if (base == 0) return false;
  memory.fill(base, 0, <usize>n * 4);
  const m = meta(set, madeOf(set));
  store<i32>(m, <i32>base);
  store<i32>(m + 4, n);
  store<i32>(m + 8, 0);
  store<i32>(m + 12, <i32>Math.floor(<f64>n * 0.85));
  if (set == 0) {
    made0++;
    slots0 += n;
  } else {
    made1++;
    slots1 += n;
  }
  return true;
}

@inline
function home(hi: i32, n: i32): i32 {
  return <i32>((<u64>homeBits(hi) * <u64>n) >> 24);
}

/** HashSet32.has of table m. */
function tableHas(m: usize, hi: i32, v: i32): bool {
  const base = <usize>load<i32>(m);
  const n = load<i32>(m + 4);
  let i = home(hi, n);
  while (true) {
    const s = load<i32>(base + (<usize>i << 2));
    if (s == 0) return false;
    if (s == v) return true;
    if (++i == n) i = 0;
  }
}

/** HashSet32.addOrHas of table m (it is not full). */
function tableAdd(m: usize, hi: i32, v: i32): bool {
  const base = <usize>load<i32>(m);
  const n = load<i32>(m + 4);
  let i = home(hi, n);
  while (true) {
    const p = base + (<usize>i << 2);
    const s = load<i32>(p);
    if (s == 0) {
      store<i32>(p, v);
      store<i32>(m + 8, load<i32>(m + 8) + 1);
      return false;
    }
    if (s == v) return true;
    if (++i == n) i = 0;
  }
}

/** The set's first table, made when first needed (Deduper.seen, Deduper.keys). */
@inline
function ensure(set: i32): void {
  if (madeOf(set) == 0) addTable(set, firstSlots < maxSlots ? firstSlots : maxSlots);
}

function setHas(set: i32, hi: i32, lo: i32): bool {
  ensure(set);
  const v = lo == 0 ? 1 : lo;
  const n = madeOf(set);
  for (let k = 0; k < n; k++) if (tableHas(meta(set, k), hi, v)) return true;
  return false;
}

/** GrowingHashSet.addOrHas: true when the hash was there already. */
function setAdd(set: i32, hi: i32, lo: i32): bool {
  ensure(set);
  const v = lo == 0 ? 1 : lo;
  const n = madeOf(set);
  for (let k = 0; k < n - 1; k++) if (tableHas(meta(set, k), hi, v)) return true;
  const last = meta(set, n - 1);
  const lastSlots = load<i32>(last + 4);
  if (load<i32>(last + 8) < load<i32>(last + 12)) return tableAdd(last, hi, v);
  if (tableHas(last, hi, v)) return true;
  const total = slotsOf(set);
  let grow = 2 * lastSlots;
  while (grow > maxSlots - total && grow > 1 << 16) grow = grow >> 1;
  if (saturatedOf(set) || grow > maxSlots - total || n >= MAX_TABLES || !addTable(set, grow)) {
    saturate(set);
    return false;
  }
  return tableAdd(meta(set, n), hi, v);
}

function childHas(hi: i32, lo: i32): bool {
  const v = lo == 0 ? 1 : lo;
  let i = home(hi, CHILD_SLOTS);
  while (true) {
    const s = load<i32>(CHILDREN + (<usize>i << 2));
    if (s == 0) return false;
    if (s == v) return true;
    if (++i == CHILD_SLOTS) i = 0;
  }
}

function childAdd(hi: i32, lo: i32): bool {
  const v = lo == 0 ? 1 : lo;
  let i = home(hi, CHILD_SLOTS);
  while (true) {
    const p = CHILDREN + (<usize>i << 2);
    const s = load<i32>(p);
    if (s == 0) {
      if (childSize >= CHILD_LIMIT) return false;
      store<i32>(p, v);
      childSize++;
      return false;
    }
    if (s == v) return true;
    if (++i == CHILD_SLOTS) i = 0;
  }
}

@inline
function repeat(word: u32): void {
  store<u32>(repeatsAt + (<usize>repeats << 2), (word >>> 4) & 15 | (word >>> 8) << 4);
  repeats++;
}

function decide(word: u32, hi: i32, lo: i32): void {
  const tag = word & 15;
  const outcome = (word >>> 4) & 15;
  if (tag == ROW_KEY) {
    if (setAdd(1, hi, lo)) {
      sameKey++;
      repeat(word);
    }
    return;
  }
  let again = false;
  if (tag == CORRELATION_CHILD) {
    if (setHas(0, hi, lo)) {
      copies++;
      again = true;
    } else again = childAdd(hi, lo);
  } else if (setAdd(0, hi, lo)) {
    exact++;
    again = true;
  } else if (tag == TOP_RECORD && childSize > 0 && childHas(hi, lo)) {
    copies++;
    again = true;
  }
  if (again && outcome != NO_OUTCOME && tag != TOP_OTHER && outcome != rowA && outcome != rowB) repeat(word);
}

/** Room for a log of `words` (and its sorting room and repeats); where to write it, or 0. */
export function log(words: i32): usize {
  if (words > logRoom) {
    const l = alloc(<usize>words * 4);
    const s: usize = l == 0 ? 0 : alloc(<usize>words * 4);
    const r: usize = s == 0 ? 0 : alloc(<usize>(words / 3 + 1) * 4);
    if (r == 0) return 0;
    logAt = l;
    sortedAt = s;
    repeatsAt = r;
    logRoom = words;
  }
  return logAt;
}

/** Where the last replay's repeat words are: outcome | log type << 4, repeats() of them. */
export function repeatWords(): usize {
  return repeatsAt;
}

export function repeatCount(): i32 {
  return repeats;
}

/** Decides the `length` words written at log() (Deduper.replay: in home-slot order past 4096 steps). */
export function replay(length: i32): void {
  repeats = 0;
  if (length / 3 < 4096) {
    for (let i = 0; i < length; i += 3) {
      const p = logAt + (<usize>i << 2);
      decide(load<u32>(p), load<i32>(p + 4), load<i32>(p + 8));
    }
    return;
  }
  memory.fill(STARTS, 0, <usize>(BUCKETS + 1) * 4);
  for (let i = 1; i < length; i += 3) {
    const b = STARTS + ((<usize>(homeBits(load<i32>(logAt + (<usize>i << 2))) >>> 8) + 1) << 2);
    store<u32>(b, load<u32>(b) + 1);
  }
  for (let b = 1; b <= BUCKETS; b++) {
    const p = STARTS + (<usize>b << 2);
    store<u32>(p, load<u32>(p) + load<u32>(p - 4));
  }
  for (let i = 0; i < length; i += 3) {
    const p = logAt + (<usize>i << 2);
    const hi = load<i32>(p + 4);
    const sp = STARTS + (<usize>(homeBits(hi) >>> 8) << 2);
    const k = load<u32>(sp);
    store<u32>(sp, k + 1);
    const q = sortedAt + (<usize>(3 * k) << 2);
    store<u32>(q, load<u32>(p));
    store<i32>(q + 4, hi);
    store<i32>(q + 8, load<i32>(p + 8));
  }
  for (let i = 0; i < length; i += 3) {
    const q = sortedAt + (<usize>i << 2);
    decide(load<u32>(q), load<i32>(q + 4), load<i32>(q + 8));
  }
}

export function exactDuplicates(): i32 {
  return exact;
}

export function correlationCopies(): i32 {
  return copies;
}

export function sameKeyRecords(): i32 {
  return sameKey;
}

/** The element set's hashes held (made when first asked, as Deduper.tracked makes it). */
export function tracked(): i32 {
  ensure(0);
  let n = 0;
  for (let k = 0; k < made0; k++) n += load<i32>(meta(0, k) + 8);
  return n;
}

export function saturated(): bool {
  ensure(0);
  return saturated0 || saturated1;
}
