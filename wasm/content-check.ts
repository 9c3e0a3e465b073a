// AssemblyScript, compiled to dist/wasm/content-check.wasm by `npm run build:wasm` (asconfig.json).
//
// The upload check's fast path (src/core/reader/content-check.ts): it passes over whole top-level
// elements inside <HealthData> and the text between them, sixteen bytes a step with SIMD wherever a
// value or text is skipped, and stops, without a word of explanation, at the first thing it is not
// certain the check-only scanner (scanner.ts) would accept: an error, a reference or name it does not
// know, a processing instruction, a CDATA section, the root's end tag, an element cut by the end of
// the input. The scanner then reads on from there itself, so every verdict, message and position is
// still the scanner's; this module only ever says "these bytes are fine, and hold N elements".
// It must therefore accept nothing the scanner refuses (test/core/reader/content-check.test.ts holds
// the two to that over generated and mutated documents).

/** Attribute names of the tag being read: [start, length, hash] as three i32 each. */
const ATTRS: usize = 0;
const MAX_ATTRS: i32 = 256;
/** Open elements below the root: [start, length] as two i32 each. */
const STACK: usize = ATTRS + <usize>MAX_ATTRS * 12;
const MAX_STACK: i32 = 64;
/** Byte classes: NAME_START, NAME_PART, SPACE; bytes ≥ 0x80 have none (a non-ASCII name is left to the scanner). */
const CLASS: usize = STACK + <usize>MAX_STACK * 8;
const NAME_START: u8 = 1;
const NAME_PART: u8 = 2;
const SPACE: u8 = 4;
/** Top-level elements accepted, when recorded (record()): [start, end, name length, name hash] as i32 each. */
const SPANS: usize = 8192;
const MAX_SPANS: i32 = 512;
/** The tape's open elements (tape()): [tag entry index, lane a, lane b] as three i32 each, per depth. */
const TSTACK: usize = SPANS + <usize>MAX_SPANS * 16;
/**
 * The tape (src/core/reader/tape.ts has the layout): per start tag a tag entry and its attributes'
 * entries, TAPE_INTS i32 each, for the elements accepted by the last scan().
 */
const TAPE: usize = TSTACK + <usize>MAX_STACK * 12;
const ENTRY_INTS: i32 = 8;
const TAPE_INTS: i32 = 131072;
/**
 * The attribute names the tape's reader asks for (field()): a slot per low byte of a name's hash
 * holding its field id + 1, then per field [hash, length, flags] and its name's bytes.
 */
const FIELD_SLOTS: usize = TAPE + <usize>TAPE_INTS * 4;
const MAX_FIELDS: i32 = 32;
const FIELD_INFO: usize = FIELD_SLOTS + 256;
const FIELD_BYTES: usize = FIELD_INFO + <usize>MAX_FIELDS * 12;
const FIELD_NAME_BYTES: i32 = 64;
/** Field flags: the value's hash goes on the tape; it is a `device` string hashed without its address. */
const FIELD_HASHED: i32 = 1;
const FIELD_DEVICE: i32 = 2;
/**
 * The digest (digestOn()): per top-level element the last scan() accepted, [tag entry, type index + 1
 * (0: not digested), outcome | extreme bits << 8, startDate's input index] as four i32, and that
 * startDate's instant in D_EPOCHS.
 */
const DIGEST: usize = FIELD_BYTES + <usize>(MAX_FIELDS * FIELD_NAME_BYTES);
const MAX_ELEMENTS: i32 = TAPE_INTS / ENTRY_INTS;
/** Per entry of DIGEST with a startDate in Apple's shape, its instant (epoch ms) as an f64. */
const D_EPOCHS: usize = DIGEST + <usize>MAX_ELEMENTS * 16;
/** The digest's keys, registered by its reader: types [lo, hi, index + 1, outcome] by hash slot. */
const D_TYPES: usize = D_EPOCHS + <usize>MAX_ELEMENTS * 8;
const TYPE_SLOTS: i32 = 8192;
const MAX_TYPE_INDEX: i32 = 4096;
/** Per type index, the elements digested (since the reader last took the counts). */
const D_TYPE_COUNTS: usize = D_TYPES + <usize>TYPE_SLOTS * 16;
/** Sources [name lo, name hi, device lo, device hi, present bits, id + 1] by hash slot, and counts per id. */
const D_SOURCES: usize = D_TYPE_COUNTS + <usize>(MAX_TYPE_INDEX + 4) * 4;
const SOURCE_SLOTS: i32 = 16384;
const MAX_SOURCE_IDS: i32 = 8192;
const D_SOURCE_COUNTS: usize = D_SOURCES + <usize>SOURCE_SLOTS * 24;
/** Names of nested elements [hash, length, id + 1] by hash slot, their bytes per id, and counts per id. */
const D_NESTED: usize = D_SOURCE_COUNTS + <usize>MAX_SOURCE_IDS * 4;
const NESTED_SLOTS: i32 = 512;
const MAX_NESTED_IDS: i32 = 256;
const D_NESTED_BYTES: usize = D_NESTED + <usize>NESTED_SLOTS * 12;
const D_NESTED_COUNTS: usize = D_NESTED_BYTES + <usize>MAX_NESTED_IDS * 64;
/** Per month of startDate (year * 12 + month - 1, from MONTH_BASE), the elements digested. */
const D_MONTHS: usize = D_NESTED_COUNTS + <usize>MAX_NESTED_IDS * 4;
const MONTH_BASE: i32 = 1900 * 12;
const MONTHS: i32 = 256 * 12;
/** A digested element's nested names, while it is being checked. */
const D_CHILDREN: usize = D_MONTHS + <usize>MONTHS * 4;
const MAX_CHILDREN: i32 = 256;
/**
 * Per type index, the earliest and latest startDate digested in the last scan() and the elements
 * holding them: [min ms i64, max ms i64, min element + 1, max element + 1] (0: none this scan()),
 * and the type indices that have an entry.
 */
const D_TYPE_DATES: usize = D_CHILDREN + <usize>MAX_CHILDREN * 4;
const D_TYPES_DATED: usize = D_TYPE_DATES + <usize>MAX_TYPE_INDEX * 24;
/** The input: what the caller copied in, followed by 16 bytes that a vector read may touch. */
const INPUT: usize = D_TYPES_DATED + <usize>MAX_TYPE_INDEX * 4;

for (let c: i32 = 0; c < 256; c++) {
  let k: u8 = 0;
  const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f || c == 0x3a;
  if (letter) k |= NAME_START | NAME_PART;
  if ((c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e) k |= NAME_PART;
  if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) k |= SPACE;
  store<u8>(CLASS + <usize>c, k);
}

/** Top-level elements in what the last scan() accepted. */
let elements: i32 = 0;
/** How many top-level elements scan() records (0: none); it stops short of one more. */
let recording: i32 = 0;
/** Set by the readers below: where the thing read ends (an index into the input). */
let at: i32 = 0;
/** Set by readName: its hash. */
let nameHash: i32 = 0;
/** Whether scan() writes the tape (tape()). */
let taping: bool = false;
/** The next free tape entry (in i32s), and the end of what the last scan() committed. */
let tp: i32 = 0;
let tapeEnd: i32 = 0;
/** Set when a reader gave up because the input ended (rather than at something it refuses). */
let cut: bool = false;
/** Set when the tape or the span records had no room for one more element. */
let full: bool = false;
/** Set by value(): the value holds a reference. */
let valueRefs: bool = false;
/** Why the last scan() stopped: 0 the input is all accepted, 1 cut by its end, 2 something to leave to the scanner, 3 no room to record. */
let stopped: i32 = 0;

export function input(): usize {
  return INPUT;
}

/** How many bytes the input may hold. */
export function capacity(): i32 {
  return <i32>(<usize>memory.size() * 65536 - INPUT - 16);
}

/** Grows memory so the input holds at least `bytes`; false if it cannot. */
export function reserve(bytes: i32): bool {
  const need = <i64>INPUT + <i64>bytes + 16;
  const have = <i64>memory.size() * 65536;
  if (need <= have) return true;
  const pages = <i32>((need - have + 65535) / 65536);
  return memory.grow(pages) >= 0;
}

export function count(): i32 {
  return elements;
}

/** Makes scan() record each top-level element it accepts (spans()), up to MAX_SPANS a call. */
export function record(on: bool): void {
  recording = on ? MAX_SPANS : 0;
}

/** Makes scan() write the tape of the elements it accepts (tapeAt(), tapeLength()). */
export function tape(on: bool): void {
  taping = on;
}

export function tapeAt(): usize {
  return TAPE;
}

/** Where field()'s name bytes go: FIELD_NAME_BYTES per field id. */
export function fieldNames(): usize {
  return FIELD_BYTES;
}

/**
 * Makes attributes named like field `id` (its `length` bytes written at fieldNames() + id * 64, its
 * hash `hash`) carry id + 1 in their flags on the tape; false when its hash's slot is taken.
 */
export function field(id: i32, hash: i32, length: i32, flags: i32): bool {
  if (id >= MAX_FIELDS || length > FIELD_NAME_BYTES) return false;
  const slot = FIELD_SLOTS + <usize>(hash & 255);
  if (load<u8>(slot) != 0) return false;
  store<u8>(slot, <u8>(id + 1));
  const r = FIELD_INFO + <usize>id * 12;
  store<i32>(r, hash);
  store<i32>(r + 4, length);
  store<i32>(r + 8, flags);
  return true;
}

/** The field id + 1 of the attribute name at input [an, an + al) with hash `h`, or 0. */
function fieldOf(an: i32, al: i32, h: i32): i32 {
  const id = <i32>load<u8>(FIELD_SLOTS + <usize>(h & 255));
  if (id == 0) return 0;
  const r = FIELD_INFO + <usize>(id - 1) * 12;
  if (load<i32>(r) != h || load<i32>(r + 4) != al) return 0;
  const name = FIELD_BYTES + <usize>(id - 1) * FIELD_NAME_BYTES;
  if (al <= 16) {
    // A field name's slot holds 64 bytes and the input 16 past its end: both loads stay inside.
    const same = i8x16.bitmask(i8x16.eq(v128.load(name), v128.load(INPUT + <usize>an)));
    const want = (1 << al) - 1;
    return (same & want) == want ? id : 0;
  }
  for (let k = 0; k < al; k++) if (<i32>load<u8>(name + <usize>k) != byte(an + k)) return 0;
  return id;
}

/** The i32s the last scan() wrote to the tape. */
export function tapeLength(): i32 {
  return tapeEnd;
}

/** Why the last scan() stopped (see `stopped`). */
export function stopReason(): i32 {
  return stopped;
}

/** Where the records of the last scan() are (count() of them). */
export function spans(): usize {
  return SPANS;
}

/** Set by lineFeeds: the index of the last LF it counted, or -1. */
let lastLineFeed: i32 = -1;

export function lastLF(): i32 {
  return lastLineFeed;
}

/** The number of LF bytes in [from, end), with the last one's index in lastLF(). */
export function lineFeeds(from: i32, end: i32): i32 {
  const lf = i8x16.splat(0x0a);
  let n: i32 = 0;
  let last: i32 = -1;
  let i = from;
  while (i < end) {
    let m = i8x16.bitmask(i8x16.eq(v128.load(INPUT + <usize>i), lf));
    if (m != 0) {
      // Bits past `end` are bytes beyond the input: not counted.
      if (end - i < 16) m &= (1 << (end - i)) - 1;
      if (m != 0) {
        n += popcnt(m);
        last = i + 31 - clz(m);
      }
    }
    i += 16;
  }
  lastLineFeed = last;
  return n;
}

/**
 * Index of the first byte in [from, end) that XML 1.0 forbids anywhere (a C0 control other than tab,
 * LF and CR; illegal-bytes.ts), or -1; with the LF bytes before it (or before `end`) counted, as
 * lineFeeds() counts them, so that one pass serves the scanner's line tracking of illegal bytes too.
 */
export function illegal(from: i32, end: i32): i32 {
  const space = i8x16.splat(0x20);
  const tab = i8x16.splat(0x09);
  const lf = i8x16.splat(0x0a);
  const cr = i8x16.splat(0x0d);
  let n: i32 = 0;
  let last: i32 = -1;
  let i = from;
  while (i < end) {
    const v = v128.load(INPUT + <usize>i);
    const controls = i8x16.lt_u(v, space);
    // LF is a control too, so only the blocks holding one (or a tab, CR or worse) get past this.
    if (v128.any_true(controls)) {
      const allowed = v128.or(v128.or(i8x16.eq(v, tab), i8x16.eq(v, lf)), i8x16.eq(v, cr));
      let bad = i8x16.bitmask(v128.andnot(controls, allowed));
      let feeds = i8x16.bitmask(i8x16.eq(v, lf));
      if (end - i < 16) {
        // Bytes past `end` are beyond the input.
        const keep = (1 << (end - i)) - 1;
        bad &= keep;
        feeds &= keep;
      }
      if (bad != 0) feeds &= (1 << ctz(bad)) - 1;
      if (feeds != 0) {
        n += popcnt(feeds);
        last = i + 31 - clz(feeds);
      }
      if (bad != 0) {
        lastLineFeed = last;
        feedsBefore = n;
        return i + ctz(bad);
      }
    }
    i += 16;
  }
  lastLineFeed = last;
  feedsBefore = n;
  return -1;
}

/** Set by illegal(): the LF bytes it passed. */
let feedsBefore: i32 = 0;

export function illegalFeeds(): i32 {
  return feedsBefore;
}

@inline
function byte(i: i32): i32 {
  return <i32>load<u8>(INPUT + <usize>i);
}

@inline
function cls(c: i32): u8 {
  return load<u8>(CLASS + <usize>c);
}

/** Bit k set where byte k of `v` is not an ASCII name byte ([A-Za-z0-9_:.-], NAME_PART). */
@inline
function notNameBytes(v: v128): i32 {
  const alpha = i8x16.lt_u(i8x16.sub(v128.or(v, i8x16.splat(0x20)), i8x16.splat(0x61)), i8x16.splat(26));
  const digitOrColon = i8x16.lt_u(i8x16.sub(v, i8x16.splat(0x30)), i8x16.splat(11));
  const dashOrDot = i8x16.lt_u(i8x16.sub(v, i8x16.splat(0x2d)), i8x16.splat(2));
  const underscore = i8x16.eq(v, i8x16.splat(0x5f));
  return ~i8x16.bitmask(v128.or(v128.or(alpha, digitOrColon), v128.or(dashOrDot, underscore))) & 0xffff;
}

/**
 * Index after the ASCII name at `i` (whose first byte the caller checked), with its hash in nameHash; -1
 * at a non-ASCII byte. Its end is found sixteen bytes a step; its hash (h * 31 + byte over its bytes)
 * is taken four bytes a step, the same number.
 */
function readName(i: i32, end: i32): i32 {
  let j = i;
  while (j < end) {
    const m = notNameBytes(v128.load(INPUT + <usize>j));
    if (m != 0) {
      j += ctz(m);
      break;
    }
    j += 16;
  }
  if (j >= end) j = end;
  else if (byte(j) >= 0x80) return -1;
  let h: i32 = 0;
  let k = i;
  for (; k + 4 <= j; k += 4) {
    const w = load<i32>(INPUT + <usize>k);
    h =
      h * 923521 +
      (w & 0xff) * 29791 +
      ((w >> 8) & 0xff) * 961 +
      ((w >> 16) & 0xff) * 31 +
      (<i32>(<u32>w >> 24));
  }
  for (; k < j; k++) h = h * 31 + byte(k);
  nameHash = h;
  return j;
}

@inline
function skipSpace(i: i32, end: i32): i32 {
  while (i < end && cls(byte(i)) & SPACE) i++;
  return i;
}

function isXmlChar(cp: i64): bool {
  return (
    cp == 0x9 ||
    cp == 0xa ||
    cp == 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/**
 * The length of the reference at `i` ('&') if it is one of the five predefined entities or a character
 * reference to a legal character, written as the scanner accepts it with ';' at most 12 bytes on;
 * else 0 (the scanner then judges it), with `cut` set when the input ends before it could tell.
 */
function reference(i: i32, end: i32): i32 {
  if (i + 3 >= end) {
    cut = true;
    return 0;
  }
  const c1 = byte(i + 1);
  if (c1 == 0x23) {
    // &#…; or &#x…;
    let j = i + 2;
    const hex = j < end && byte(j) == 0x78;
    if (hex) j++;
    const first = j;
    let cp: i64 = 0;
    while (j < end && j - i <= 12) {
      const c = byte(j);
      if (c >= 0x30 && c <= 0x39) cp = cp * (hex ? 16 : 10) + (c - 0x30);
      else if (hex && ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)) cp = cp * 16 + ((c | 0x20) - 0x61 + 10);
      else break;
      j++;
    }
    if (j >= end) {
      cut = true;
      return 0;
    }
    if (j == first || j - i > 12 || byte(j) != 0x3b || !isXmlChar(cp)) return 0;
    return j + 1 - i;
  }
  const c2 = byte(i + 2);
  const c3 = byte(i + 3);
  if (c2 == 0x74 && c3 == 0x3b && (c1 == 0x6c || c1 == 0x67)) return 4; // &lt; &gt;
  if (i + 4 >= end) {
    cut = true;
    return 0;
  }
  const c4 = byte(i + 4);
  if (c1 == 0x61 && c2 == 0x6d && c3 == 0x70 && c4 == 0x3b) return 5; // &amp;
  if (i + 5 >= end) {
    cut = true;
    return 0;
  }
  if (byte(i + 5) != 0x3b) return 0;
  if (c1 == 0x71 && c2 == 0x75 && c3 == 0x6f && c4 == 0x74) return 6; // &quot;
  if (c1 == 0x61 && c2 == 0x70 && c3 == 0x6f && c4 == 0x73) return 6; // &apos;
  return 0;
}

/**
 * Index of the first byte b from `i` with (b | fold) == x or b == y (splats), sixteen bytes a step; or
 * `end` when none comes before it. `fold` lets x stand for two bytes one bit apart: a value's quote
 * and '&' ('"' 0x22 and '&' 0x26 differ in bit 2, "'" 0x27 and '&' in bit 0).
 */
@inline
function seek(i: i32, end: i32, fold: v128, x: v128, y: v128): i32 {
  while (i < end) {
    const v = v128.load(INPUT + <usize>i);
    const m = i8x16.bitmask(v128.or(i8x16.eq(v128.or(v, fold), x), i8x16.eq(v, y)));
    if (m != 0) {
      i += ctz(m);
      return i < end ? i : end;
    }
    i += 16;
  }
  return end;
}

/**
 * Reads text from `i` up to the next '<' (or the end), passing over known references. Returns the
 * index of the '<' or `end`; -1 at a reference to leave to the scanner, with `at` on its '&'.
 */
function text(i: i32, end: i32): i32 {
  const none = i8x16.splat(0);
  const amp = i8x16.splat(0x26);
  const lt = i8x16.splat(0x3c);
  while (true) {
    i = seek(i, end, none, amp, lt);
    if (i >= end || byte(i) == 0x3c) return i;
    const n = reference(i, end);
    if (n == 0) {
      at = i;
      return -1;
    }
    i += n;
  }
  return 0; // not reached: AssemblyScript does not see that the loop never ends
}

/**
 * Index of the quote closing the value at `i`, or -1 for a value to leave to the scanner (or cut by
 * `end`, with `cut` set); valueRefs tells whether it holds a reference.
 */
function value(i: i32, end: i32, quote: i32): i32 {
  const fold = i8x16.splat(quote == 0x22 ? 0x04 : 0x01);
  const quoteOrAmp = i8x16.splat(quote == 0x22 ? 0x26 : 0x27);
  const lt = i8x16.splat(0x3c);
  valueRefs = false;
  while (true) {
    i = seek(i, end, fold, quoteOrAmp, lt);
    if (i >= end) {
      cut = true;
      return -1;
    }
    const c = byte(i);
    if (c == quote) return i;
    if (c == 0x3c) return -1;
    const n = reference(i, end);
    if (n == 0) return -1;
    valueRefs = true;
    i += n;
  }
  return 0; // not reached: AssemblyScript does not see that the loop never ends
}

function sameBytes(a: i32, b: i32, n: i32): bool {
  for (let k = 0; k < n; k++) if (byte(a + k) != byte(b + k)) return false;
  return true;
}

// ── the tape's hashes: the same numbers as src/core/reader/tape-hash.ts ──────────────────────────

const P1: i32 = 0x9e3779b1;
const P2: i32 = 0x85ebca77;
const P3: i32 = 0xc2b2ae3d;
const P4: i32 = 0x27d4eb2f;
const F1: i32 = 0x85ebca6b;
const F2: i32 = 0xc2b2ae35;
const VALUE_A: i32 = 0x243f6a88;
const VALUE_B: i32 = 0x85a308d3;
const CLOSE: i32 = 0x5bd1e995;

@inline
function step1(a: i32, w: i32): i32 {
  return rotl<i32>((a ^ w) * P1, 13);
}

@inline
function step2(b: i32, w: i32): i32 {
  return rotl<i32>((b ^ w) * P2, 17);
}

@inline
function fmix(h: i32): i32 {
  h ^= <i32>(<u32>h >> 16);
  h *= F1;
  h ^= <i32>(<u32>h >> 13);
  h *= F2;
  return h ^ <i32>(<u32>h >> 16);
}

/** Set by finish(): a hash's two halves. */
let hashLo: i32 = 0;
let hashHi: i32 = 0;

@inline
function finish(a: i32, b: i32): void {
  hashLo = fmix(a ^ rotl<i32>(b, 16));
  hashHi = fmix(b ^ hashLo);
}

/** Set by absorb(): the lanes after taking in a run of bytes. */
let runA: i32 = 0;
let runB: i32 = 0;

/** Lanes (a, b) after input bytes [p, p + n): 8 bytes a step, then a word, then the last 0–3 bytes. */
function absorb(a: i32, b: i32, p: i32, n: i32): void {
  let i: i32 = 0;
  for (; i + 8 <= n; i += 8) {
    a = step1(a, load<i32>(INPUT + <usize>(p + i)));
    b = step2(b, load<i32>(INPUT + <usize>(p + i + 4)));
  }
  if (i + 4 <= n) {
    a = step1(a, load<i32>(INPUT + <usize>(p + i)));
    i += 4;
  }
  let t: i32 = 0;
  for (let k = 0; i < n; i++, k += 8) t |= byte(p + i) << k;
  runA = a;
  runB = step2(b, t);
}

/** The hash of input bytes [p, p + n) into hashLo/hashHi. */
function valueHash(p: i32, n: i32): void {
  absorb(VALUE_A ^ n, VALUE_B ^ n, p, n);
  finish(runA, runB);
}

/**
 * Where the part of a `device` value at [v, end) after its `<<HKDevice: 0x…>` head begins (written
 * `&lt;&lt;HKDevice:` up to `&gt;` or `>`), as src/core/reader/tape.ts deviceTail finds it; `v` when
 * it has no such head.
 */
const DEVICE_HEAD = '&lt;&lt;HKDevice:';
function deviceTail(v: i32, end: i32): i32 {
  const n = DEVICE_HEAD.length;
  if (end - v < n) return v;
  for (let k = 0; k < n; k++) if (byte(v + k) != DEVICE_HEAD.charCodeAt(k)) return v;
  for (let i = v + n; i < end; i++) {
    const c = byte(i);
    if (c == 0x3e) return i + 1;
    if (c == 0x26 && i + 3 < end && byte(i + 1) == 0x67 && byte(i + 2) == 0x74 && byte(i + 3) == 0x3b)
      return i + 4;
  }
  return v;
}

@inline
function tapeSet(entry: i32, field: i32, v: i32): void {
  store<i32>(TAPE + (<usize>(entry + field) << 2), v);
}

@inline
function tapeGet(entry: i32, field: i32): i32 {
  return load<i32>(TAPE + (<usize>(entry + field) << 2));
}

/** Whether the tape has room for one more entry; sets `full` when it has not. */
@inline
function tapeRoom(): bool {
  if (tp + ENTRY_INTS <= TAPE_INTS) return true;
  full = true;
  return false;
}

/** Closes the element whose tag entry is `entry` at `end` with lanes (a, b): its hash and end go on the tape. */
function tapeClose(entry: i32, a: i32, b: i32, end: i32): void {
  finish(step1(a, CLOSE), b);
  tapeSet(entry, 2, end);
  tapeSet(entry, 6, hashLo);
  tapeSet(entry, 7, hashHi);
}

/** Folds the closed element's hash (hashLo/hashHi) into its parent's lanes at `depth`. */
function tapeFold(depth: i32): void {
  const r = TSTACK + <usize>depth * 12;
  store<i32>(r + 4, step1(load<i32>(r + 4), hashLo));
  store<i32>(r + 8, step2(load<i32>(r + 8), hashHi));
}

/** Set by startTag when taping: the element's tag entry and its lanes after the attributes. */
let tagEntry: i32 = 0;
let laneA: i32 = 0;
let laneB: i32 = 0;

/**
 * Reads the start tag at `s` ('<', name start checked by the caller) at `depth` below the root.
 * Returns 1 for an open tag and 2 for an empty one, with `at` past its '>' and the name's length in
 * `nameLen`; 0 to leave it to the scanner. When taping, its entries go on the tape.
 */
let nameLen: i32 = 0;
/** The element name's hash (readName's, which each attribute name then overwrites). */
let tagHash: i32 = 0;
function startTag(s: i32, end: i32, depth: i32): i32 {
  const ne = readName(s + 1, end);
  if (ne < 0) return 0;
  if (ne >= end) {
    cut = true;
    return 0;
  }
  nameLen = ne - s - 1;
  tagHash = nameHash;
  let entry: i32 = 0;
  let a: i32 = 0;
  let b: i32 = 0;
  if (taping) {
    if (!tapeRoom()) return 0;
    entry = tp;
    tp += ENTRY_INTS;
    tapeSet(entry, 1, s);
    tapeSet(entry, 3, tagHash);
    tapeSet(entry, 4, s + 1);
    tapeSet(entry, 5, nameLen);
    a = P3 ^ tagHash;
    b = P4 ^ nameLen;
  }
  let p = ne;
  let seen: i32 = 0;
  let bits: u64 = 0;
  while (true) {
    const sp = p;
    p = skipSpace(p, end);
    if (p >= end) {
      cut = true;
      return 0;
    }
    let c = byte(p);
    let kind: i32 = 0;
    if (c == 0x3e) {
      at = p + 1;
      kind = 1;
    } else if (c == 0x2f) {
      if (p + 1 >= end) {
        cut = true;
        return 0;
      }
      if (byte(p + 1) != 0x3e) return 0;
      at = p + 2;
      kind = 2;
    }
    if (kind != 0) {
      if (taping) {
        tapeSet(entry, 0, depth | (seen << 8));
        tagEntry = entry;
        laneA = a;
        laneB = b;
      }
      return kind;
    }
    if (sp == p || !(cls(c) & NAME_START)) return 0;
    const an = p;
    p = readName(p, end);
    if (p < 0) return 0;
    if (p >= end) {
      cut = true;
      return 0;
    }
    const al = p - an;
    const h = nameHash;
    const bit = <u64>1 << <u64>((<u32>h * 0x9e3779b1) >> 26);
    if (bits & bit) {
      for (let k: i32 = 0; k < seen; k++) {
        const r = ATTRS + <usize>k * 12;
        if (load<i32>(r + 8) == h && load<i32>(r + 4) == al && sameBytes(load<i32>(r), an, al)) return 0;
      }
    }
    bits |= bit;
    if (seen == MAX_ATTRS) return 0;
    const r = ATTRS + <usize>seen * 12;
    store<i32>(r, an);
    store<i32>(r + 4, al);
    store<i32>(r + 8, h);
    seen++;
    p = skipSpace(p, end);
    if (p >= end) {
      cut = true;
      return 0;
    }
    if (byte(p) != 0x3d) return 0;
    p = skipSpace(p + 1, end);
    if (p >= end) {
      cut = true;
      return 0;
    }
    c = byte(p);
    if (c != 0x22 && c != 0x27) return 0;
    const close = value(p + 1, end, c);
    if (close < 0) return 0;
    if (taping) {
      if (!tapeRoom()) return 0;
      const e = tp;
      tp += ENTRY_INTS;
      const v = p + 1;
      const n = close - v;
      absorb(step1(a, h), step2(b, al ^ (n << 8)), v, n);
      a = runA;
      b = runB;
      const id = fieldOf(an, al, h);
      tapeSet(e, 0, h);
      tapeSet(e, 1, an);
      tapeSet(e, 2, al);
      tapeSet(e, 3, v);
      tapeSet(e, 4, close);
      tapeSet(e, 5, (valueRefs ? 1 : 0) | (id << 8));
      hashLo = 0;
      hashHi = 0;
      if (id != 0) {
        const flags = load<i32>(FIELD_INFO + <usize>(id - 1) * 12 + 8);
        if (flags & FIELD_HASHED) {
          // Apple's `device` strings begin with a per-record address: its entry's hash skips it (tape.ts).
          const from = flags & FIELD_DEVICE ? deviceTail(v, close) : v;
          valueHash(from, close - from);
        }
      }
      tapeSet(e, 6, hashLo);
      tapeSet(e, 7, hashHi);
    }
    p = close + 1;
  }
}

/** Index past the end tag at `s` ('</') if it closes the element named at [name, name + n), else 0. */
function endTag(s: i32, end: i32, name: i32, n: i32): i32 {
  const a = s + 2;
  if (a + n >= end) {
    cut = true;
    return 0;
  }
  if (!sameBytes(a, name, n)) return 0;
  // A longer name (`</AB>` for `<A>`) fails below: only whitespace and '>' may follow the name.
  const p = skipSpace(a + n, end);
  if (p >= end) {
    cut = true;
    return 0;
  }
  if (byte(p) != 0x3e) return 0;
  return p + 1;
}

/** Index past the comment at `s` ('<!--'), or 0 (not closed before `end`, or "--" inside it). */
function comment(s: i32, end: i32): i32 {
  const dash = i8x16.splat(0x2d);
  let i = s + 4;
  while (true) {
    while (i < end) {
      const m = i8x16.bitmask(i8x16.eq(v128.load(INPUT + <usize>i), dash));
      if (m != 0) {
        i += ctz(m);
        break;
      }
      i += 16;
    }
    if (i + 2 >= end) {
      cut = true;
      return 0;
    }
    if (byte(i + 1) == 0x2d) return byte(i + 2) == 0x3e ? i + 3 : 0;
    i++;
  }
  return 0; // not reached: AssemblyScript does not see that the loop never ends
}

/**
 * Accepts input bytes [from, end) up to the first thing to leave to the scanner, which sits inside
 * the root, outside any top-level element. Returns where that is (`from` when it is at once), with
 * the number of top-level elements accepted in count() (and each recorded, see record() and tape()),
 * and why it stopped in stopReason(). Elements nest at most `maxDepth` deep counting the root, and a
 * top-level element spans at most `maxItem` bytes (the scanner's limits).
 */
export function scan(from: i32, end: i32, maxDepth: i32, maxItem: i32): i32 {
  let p = from;
  let committed = from;
  let n: i32 = 0;
  let depth: i32 = 0;
  let item: i32 = from;
  let itemName: i32 = 0;
  let itemHash: i32 = 0;
  let itemEntry: i32 = 0;
  cut = false;
  full = false;
  tp = 0;
  tapeEnd = 0;
  stopped = 2;
  while (true) {
    p = text(p, end);
    if (p < 0 || p >= end) {
      // Text at the end is whole unless a reference was cut (or is one to leave): then up to it.
      if (depth == 0) committed = p < 0 ? at : end;
      if (p >= end) stopped = depth == 0 ? 0 : 1;
      else stopped = cut ? 1 : 2;
      break;
    }
    if (depth == 0) committed = p;
    if (p + 1 >= end) {
      stopped = 1;
      break;
    }
    const c1 = byte(p + 1);
    let closed = false;
    if (c1 == 0x2f) {
      if (depth == 0) break;
      const top = STACK + <usize>(depth - 1) * 8;
      const q = endTag(p, end, load<i32>(top), load<i32>(top + 4));
      if (q == 0) {
        if (cut) stopped = 1;
        break;
      }
      p = q;
      depth--;
      closed = depth == 0;
      if (taping) {
        const r = TSTACK + <usize>depth * 12;
        tapeClose(load<i32>(r), load<i32>(r + 4), load<i32>(r + 8), p);
        if (depth > 0) tapeFold(depth - 1);
      }
    } else if (c1 == 0x21) {
      if (p + 3 >= end) {
        stopped = 1;
        break;
      }
      if (byte(p + 2) != 0x2d || byte(p + 3) != 0x2d) break;
      const q = comment(p, end);
      if (q == 0) {
        if (cut) stopped = 1;
        break;
      }
      p = q;
      if (depth == 0) committed = p;
    } else {
      if (!(cls(c1) & NAME_START)) break;
      if (depth == 0) item = p;
      const kind = startTag(p, end, depth);
      if (kind == 0) {
        if (full) stopped = 3;
        else if (cut) stopped = 1;
        break;
      }
      if (depth == 0) {
        itemName = nameLen;
        itemHash = tagHash;
        itemEntry = tagEntry;
      }
      if (kind == 1) {
        // The scanner refuses an open element `depth + 2` deep when that exceeds maxDepth.
        if (depth + 2 > maxDepth || depth == MAX_STACK) break;
        const top = STACK + <usize>depth * 8;
        store<i32>(top, p + 1);
        store<i32>(top + 4, nameLen);
        if (taping) {
          const r = TSTACK + <usize>depth * 12;
          store<i32>(r, tagEntry);
          store<i32>(r + 4, laneA);
          store<i32>(r + 8, laneB);
        }
        depth++;
      } else {
        closed = depth == 0;
        if (taping) {
          tapeClose(tagEntry, laneA, laneB, at);
          if (depth > 0) tapeFold(depth - 1);
        }
      }
      p = at;
    }
    if (closed) {
      if (p - item > maxItem) break;
      if (recording > 0) {
        if (n == recording) {
          stopped = 3;
          break;
        }
        const r = SPANS + <usize>n * 16;
        store<i32>(r, item);
        store<i32>(r + 4, p);
        store<i32>(r + 8, itemName);
        store<i32>(r + 12, itemHash);
      }
      if (digesting) digest(n, itemEntry, tp);
      n++;
      committed = p;
      tapeEnd = tp;
    }
  }
  elements = n;
  if (digesting) digestExtremes();
  return committed;
}

// ── the digest: plain top-level Records counted here, for validate's collector ─────────────────
//
// With digestOn(), each top-level `Record` that scan() accepts is checked against what the reader
// registered: its type (with the outcome the reader's model gives every Record of that type once its
// value and dates are plain), its source, its nested elements' names. A Record whose every piece is
// registered and plain — no reference in the fields the model reads, no namespace, a decimal value
// of fewer than seven integer digits, Apple's own date shape for real instants — is counted here by
// type, source, nested name and month of startDate, and its DIGEST entry says so; anything else
// stays the reader's to judge from the tape, exactly as without the digest. The reader's collector
// (src/core/validate/collector.ts) takes the counts, so the report is the same either way
// (test/core/validate/digest.test.ts holds the two to that).

let digesting: bool = false;
let fType: i32 = -1;
let fValue: i32 = -1;
let fStart: i32 = -1;
let fEnd: i32 = -1;
let fCreation: i32 = -1;
let fSource: i32 = -1;
let fDevice: i32 = -1;
let fXmlns: i32 = -1;
/** Records digested since the reader last took the counts. */
let digestedCount: i32 = 0;
/** The earliest and latest startDate digested in the last scan(), and the element indices holding them. */
let minEpoch: i64 = 0;
let maxEpoch: i64 = 0;
let minK: i32 = -1;
let maxK: i32 = -1;
/** Type indices with an entry in D_TYPE_DATES this scan(). */
let typesDated: i32 = 0;

/** Turns the digest on with the reader's field ids (tape flags >> 8 = id + 1). */
export function digestOn(
  type: i32,
  value: i32,
  start: i32,
  end: i32,
  creation: i32,
  source: i32,
  device: i32,
  xmlns: i32,
): void {
  digesting = true;
  fType = type;
  fValue = value;
  fStart = start;
  fEnd = end;
  fCreation = creation;
  fSource = source;
  fDevice = device;
  fXmlns = xmlns;
}

export function digestAt(): usize {
  return DIGEST;
}

/** Where the digest entries' instants are (D_EPOCHS). */
export function digestEpochsAt(): usize {
  return D_EPOCHS;
}

/**
 * Where the digest's counts are (in i32s from 0): per type index (0), per source id (1), per nested
 * name id (2), per month from MONTH_BASE (3); digestTable(4) is MONTH_BASE and (5) the months counted.
 */
export function digestTable(which: i32): i32 {
  if (which == 0) return <i32>D_TYPE_COUNTS >> 2;
  if (which == 1) return <i32>D_SOURCE_COUNTS >> 2;
  if (which == 2) return <i32>D_NESTED_COUNTS >> 2;
  if (which == 3) return <i32>D_MONTHS >> 2;
  return which == 4 ? MONTH_BASE : MONTHS;
}

/** Records digested since the last digestTaken(). */
export function digestCount(): i32 {
  return digestedCount;
}

/** The reader has taken the counts: they start again from zero. */
export function digestTaken(): void {
  digestedCount = 0;
  memory.fill(D_TYPE_COUNTS, 0, <usize>(MAX_TYPE_INDEX + 4) * 4);
  memory.fill(D_SOURCE_COUNTS, 0, <usize>MAX_SOURCE_IDS * 4);
  memory.fill(D_NESTED_COUNTS, 0, <usize>MAX_NESTED_IDS * 4);
  memory.fill(D_MONTHS, 0, <usize>MONTHS * 4);
}

@inline
function mixSlot(a: i32, b: i32, mask: i32): i32 {
  return <i32>((<u32>(a ^ (b * P1)) * 0x9e3779b1) >> 8) & mask;
}

/** Registers a type by the hash of its raw bytes: its index (< 4096) and the outcome of its plain Records. */
export function digestType(lo: i32, hi: i32, index: i32, outcome: i32): bool {
  if (index < 0 || index >= MAX_TYPE_INDEX) return false;
  let i = mixSlot(lo, hi, TYPE_SLOTS - 1);
  for (let probes = 0; probes < TYPE_SLOTS / 2; probes++) {
    const r = D_TYPES + <usize>i * 16;
    const s = load<i32>(r + 8);
    if (s == 0) {
      store<i32>(r, lo);
      store<i32>(r + 4, hi);
      store<i32>(r + 8, index + 1);
      store<i32>(r + 12, outcome);
      return true;
    }
    if (load<i32>(r) == lo && load<i32>(r + 4) == hi) return true;
    i = (i + 1) & (TYPE_SLOTS - 1);
  }
  return false;
}

/** Set by findType: the type's outcome. */
let typeOutcome: i32 = 0;

/** The index of the type registered for (lo, hi), with its outcome in typeOutcome; -1 when none. */
function findType(lo: i32, hi: i32): i32 {
  let i = mixSlot(lo, hi, TYPE_SLOTS - 1);
  while (true) {
    const r = D_TYPES + <usize>i * 16;
    const s = load<i32>(r + 8);
    if (s == 0) return -1;
    if (load<i32>(r) == lo && load<i32>(r + 4) == hi) {
      typeOutcome = load<i32>(r + 12);
      return s - 1;
    }
    i = (i + 1) & (TYPE_SLOTS - 1);
  }
  return -1; // not reached
}

/** Registers a source: the hashes of its name and device (0 when absent, see `present`: 1 name, 2 device). */
export function digestSource(nameLo: i32, nameHi: i32, devLo: i32, devHi: i32, present: i32, id: i32): bool {
  if (id < 0 || id >= MAX_SOURCE_IDS) return false;
  let i = mixSlot(nameLo ^ devHi, nameHi ^ devLo ^ present, SOURCE_SLOTS - 1);
  for (let probes = 0; probes < SOURCE_SLOTS / 2; probes++) {
    const r = D_SOURCES + <usize>i * 24;
    const s = load<i32>(r + 20);
    if (s == 0) {
      store<i32>(r, nameLo);
      store<i32>(r + 4, nameHi);
      store<i32>(r + 8, devLo);
      store<i32>(r + 12, devHi);
      store<i32>(r + 16, present);
      store<i32>(r + 20, id + 1);
      return true;
    }
    if (
      load<i32>(r) == nameLo &&
      load<i32>(r + 4) == nameHi &&
      load<i32>(r + 8) == devLo &&
      load<i32>(r + 12) == devHi &&
      load<i32>(r + 16) == present
    )
      return true;
    i = (i + 1) & (SOURCE_SLOTS - 1);
  }
  return false;
}

function findSource(nameLo: i32, nameHi: i32, devLo: i32, devHi: i32, present: i32): i32 {
  let i = mixSlot(nameLo ^ devHi, nameHi ^ devLo ^ present, SOURCE_SLOTS - 1);
  while (true) {
    const r = D_SOURCES + <usize>i * 24;
    const s = load<i32>(r + 20);
    if (s == 0) return -1;
    if (
      load<i32>(r) == nameLo &&
      load<i32>(r + 4) == nameHi &&
      load<i32>(r + 8) == devLo &&
      load<i32>(r + 12) == devHi &&
      load<i32>(r + 16) == present
    )
      return s - 1;
    i = (i + 1) & (SOURCE_SLOTS - 1);
  }
  return -1; // not reached
}

/** Where digestNested() reads a name's bytes from. */
export function digestNestedName(): usize {
  return D_CHILDREN;
}

/** Registers a nested element name (its `length` ASCII bytes at digestNestedName(), hash `hash`) as `id`. */
export function digestNested(hash: i32, length: i32, id: i32): bool {
  if (id < 0 || id >= MAX_NESTED_IDS || length > 64 || length <= 0) return false;
  let i = mixSlot(hash, length, NESTED_SLOTS - 1);
  for (let probes = 0; probes < NESTED_SLOTS / 2; probes++) {
    const r = D_NESTED + <usize>i * 12;
    if (load<i32>(r + 8) == 0) {
      store<i32>(r, hash);
      store<i32>(r + 4, length);
      store<i32>(r + 8, id + 1);
      memory.copy(D_NESTED_BYTES + <usize>id * 64, D_CHILDREN, <usize>length);
      return true;
    }
    i = (i + 1) & (NESTED_SLOTS - 1);
  }
  return false;
}

/** The id of the nested name at input [at, at + length) with hash `hash`, or -1. */
function findNested(hash: i32, at: i32, length: i32): i32 {
  let i = mixSlot(hash, length, NESTED_SLOTS - 1);
  while (true) {
    const r = D_NESTED + <usize>i * 12;
    const s = load<i32>(r + 8);
    if (s == 0) return -1;
    if (load<i32>(r) == hash && load<i32>(r + 4) == length) {
      const name = D_NESTED_BYTES + <usize>(s - 1) * 64;
      let k: i32 = 0;
      while (k < length && <i32>load<u8>(name + <usize>k) == byte(at + k)) k++;
      if (k == length) return s - 1;
    }
    i = (i + 1) & (NESTED_SLOTS - 1);
  }
  return -1; // not reached
}

@inline
function two(i: i32): i32 {
  const a = byte(i) - 0x30;
  const b = byte(i + 1) - 0x30;
  return <u32>a <= 9 && <u32>b <= 9 ? a * 10 + b : -1;
}

function daysIn(y: i32, m: i32): i32 {
  if (m == 2) return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) ? 29 : 28;
  return m == 4 || m == 6 || m == 9 || m == 11 ? 30 : 31;
}

/** Set by appleShape: the instant (epoch ms) and whether it is a real one strptime takes, and the month key. */
let shapeMs: i64 = 0;
let shapeReal: bool = false;
let shapeMonth: i32 = 0;

/** Lanes of Apple's date shape at input [a, a + 16) and [a + 9, a + 25) that are digits, and their separators. */
const SHAPE_DIGITS_LO: i32 = 0b1101101101101111;
const SHAPE_DIGITS_HI: i32 = 0b1111001101101101;
const SHAPE_SEPS_LO: i32 = (1 << 4) | (1 << 7) | (1 << 10) | (1 << 13);
const SHAPE_SEPS_HI: i32 = (1 << 7) | (1 << 10);

/**
 * Apple's `YYYY-MM-DD HH:MM:SS ±HHMM` at input [a, b), as src/core/model/dates.ts appleShapeDate reads
 * it (the same field ranges and arithmetic), for years 1900–2155 only; false for anything else. The
 * shape (digits and separators) and the field ranges are checked sixteen bytes at a time.
 */
function appleShape(a: i32, b: i32): bool {
  if (b - a != 25) return false;
  const lo = v128.load(INPUT + <usize>a);
  const hi = v128.load(INPUT + <usize>a + 9);
  const zero = i8x16.splat(0x30);
  const dlo = i8x16.sub(lo, zero);
  const dhi = i8x16.sub(hi, zero);
  const ten = i8x16.splat(10);
  // '-' '-' ' ' ':' at 4, 7, 10, 13; ':' ' ' at 16, 19 (lanes 7 and 10 of the second load).
  const seps_lo = i8x16(0, 0, 0, 0, 0x2d, 0, 0, 0x2d, 0, 0, 0x20, 0, 0, 0x3a, 0, 0);
  const seps_hi = i8x16(0, 0, 0, 0, 0, 0, 0, 0x3a, 0, 0, 0x20, 0, 0, 0, 0, 0);
  if (
    (i8x16.bitmask(i8x16.lt_u(dlo, ten)) & SHAPE_DIGITS_LO) != SHAPE_DIGITS_LO ||
    (i8x16.bitmask(i8x16.lt_u(dhi, ten)) & SHAPE_DIGITS_HI) != SHAPE_DIGITS_HI ||
    (i8x16.bitmask(i8x16.eq(lo, seps_lo)) & SHAPE_SEPS_LO) != SHAPE_SEPS_LO ||
    (i8x16.bitmask(i8x16.eq(hi, seps_hi)) & SHAPE_SEPS_HI) != SHAPE_SEPS_HI
  )
    return false;
  const sign = byte(a + 20);
  if (sign != 0x2b && sign != 0x2d) return false;
  // Tens and units of century, year, month, day, hour, minute, second and zone hours, two digits
  // each, put together as 16-bit numbers.
  const tens = i8x16.shuffle(dlo, dhi, 0, 2, 5, 8, 11, 14, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
  const units = i8x16.shuffle(dlo, dhi, 1, 3, 6, 9, 12, 15, 25, 29, 0, 0, 0, 0, 0, 0, 0, 0);
  const f = i16x8.add(
    i16x8.mul(i16x8.extend_low_i8x16_u(tens), i16x8.splat(10)),
    i16x8.extend_low_i8x16_u(units),
  );
  // Field ranges as appleShapeDate takes them: month 1–12, day 1–31, hour ≤ 23, minute ≤ 59, second ≤ 61.
  const out = v128.or(
    i16x8.lt_s(f, i16x8(0, 0, 1, 1, 0, 0, 0, 0)),
    i16x8.gt_s(f, i16x8(99, 99, 12, 31, 23, 59, 61, 99)),
  );
  if (v128.any_true(out)) return false;
  const y = <i32>i16x8.extract_lane_u(f, 0) * 100 + <i32>i16x8.extract_lane_u(f, 1);
  if (y < 1900 || y >= 1900 + MONTHS / 12) return false;
  const mo = <i32>i16x8.extract_lane_u(f, 2);
  const d = <i32>i16x8.extract_lane_u(f, 3);
  const h = <i32>i16x8.extract_lane_u(f, 4);
  const mi = <i32>i16x8.extract_lane_u(f, 5);
  const s = <i32>i16x8.extract_lane_u(f, 6);
  const zh = <i32>i16x8.extract_lane_u(f, 7);
  const zm = (byte(a + 23) - 0x30) * 10 + byte(a + 24) - 0x30;
  shapeReal = d <= daysIn(y, mo) && s <= 59 && zh <= 23 && zm <= 59;
  const off = (sign == 0x2d ? -1 : 1) * (zh * 60 + zm);
  // daysFromCivil, for positive years.
  const yr = mo <= 2 ? y - 1 : y;
  const era = yr / 400;
  const yoe = yr - era * 400;
  const doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
  const doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const days = <i64>(era * 146097 + doe - 719468);
  shapeMs = ((days * 24 + <i64>h) * 60 + <i64>mi - <i64>off) * 60000 + <i64>s * 1000;
  shapeMonth = y * 12 + mo - 1;
  return true;
}

/** A date strptime takes as judge.ts reads it: Apple's shape, a real instant, a year from 1000. */
function plainDate(a: i32, b: i32): bool {
  return appleShape(a, b) && shapeReal && byte(a) != 0x30;
}

/** A decimal the model takes as it is: [+-] digits [. digits], fewer than seven integer digits. */
function plainValue(a: i32, b: i32): bool {
  let i = a;
  if (i < b && (byte(i) == 0x2b || byte(i) == 0x2d)) i++;
  const intStart = i;
  while (i < b && <u32>(byte(i) - 0x30) <= 9) i++;
  const intEnd = i;
  let frac = false;
  if (i < b && byte(i) == 0x2e) {
    i++;
    const f = i;
    while (i < b && <u32>(byte(i) - 0x30) <= 9) i++;
    frac = i > f;
  }
  if ((intEnd == intStart && !frac) || i != b) return false;
  let lead = intStart;
  while (lead < intEnd && byte(lead) == 0x30) lead++;
  return intEnd - lead < 7;
}

const RECORD = 'Record';

/** Digests the top-level element k, whose entries run from tag entry `entry` to `last` on the tape. */
function digest(k: i32, entry: i32, last: i32): void {
  const d = DIGEST + <usize>k * 16;
  store<i32>(d, entry);
  store<i32>(d + 4, 0);
  store<i32>(d + 12, -1);
  if (tapeGet(entry, 5) != 6) return;
  const nameAt = tapeGet(entry, 4);
  for (let c = 0; c < 6; c++) if (byte(nameAt + c) != RECORD.charCodeAt(c)) return;
  const attrs = tapeGet(entry, 0) >> 8;
  let tLo: i32 = 0;
  let tHi: i32 = 0;
  let hasType = false;
  let vA: i32 = -1;
  let vB: i32 = -1;
  let sA: i32 = -1;
  let sB: i32 = -1;
  let eA: i32 = -1;
  let eB: i32 = -1;
  let cA: i32 = -1;
  let cB: i32 = -1;
  let nLo: i32 = 0;
  let nHi: i32 = 0;
  let dLo: i32 = 0;
  let dHi: i32 = 0;
  let present: i32 = 0;
  let e = entry + ENTRY_INTS;
  for (let n = 0; n < attrs; n++, e += ENTRY_INTS) {
    const flags = tapeGet(e, 5);
    const id = (flags >> 8) - 1;
    if (id < 0) continue;
    const refs = (flags & 1) != 0;
    if (id == fXmlns) return;
    if (id == fType) {
      if (refs) return;
      tLo = tapeGet(e, 6);
      tHi = tapeGet(e, 7);
      hasType = true;
    } else if (id == fValue) {
      if (refs) return;
      vA = tapeGet(e, 3);
      vB = tapeGet(e, 4);
    } else if (id == fStart) {
      if (refs) return;
      sA = tapeGet(e, 3);
      sB = tapeGet(e, 4);
    } else if (id == fEnd) {
      if (refs) return;
      eA = tapeGet(e, 3);
      eB = tapeGet(e, 4);
    } else if (id == fCreation) {
      if (refs) return;
      cA = tapeGet(e, 3);
      cB = tapeGet(e, 4);
    } else if (id == fSource) {
      nLo = tapeGet(e, 6);
      nHi = tapeGet(e, 7);
      present |= 1;
    } else if (id == fDevice) {
      dLo = tapeGet(e, 6);
      dHi = tapeGet(e, 7);
      present |= 2;
    }
  }
  if (!hasType) return;
  // Nested elements: each must be a registered name (never Record or Workout, which the model judges).
  let children: i32 = 0;
  for (let c = e; c < last; c += ENTRY_INTS * (1 + (tapeGet(c, 0) >> 8))) {
    if (children == MAX_CHILDREN) return;
    const id = findNested(tapeGet(c, 3), tapeGet(c, 4), tapeGet(c, 5));
    if (id < 0) return;
    store<i32>(D_CHILDREN + <usize>children * 4, id);
    children++;
  }
  const type = findType(tLo, tHi);
  if (type < 0) return;
  const outcome = typeOutcome;
  // startDate, read once: the model's plain date, and the report's month and first and last dates,
  // which come from startDate in Apple's shape.
  const shaped = sA >= 0 && appleShape(sA, sB);
  const startMs = shapeMs;
  const startMonth = shapeMonth;
  if (outcome == 0) {
    // Imported as it is: a plain value and plain dates, startDate among them.
    if (vA < 0 || !plainValue(vA, vB) || sA < 0) return;
    if (!shaped || !shapeReal || byte(sA) == 0x30) return;
    if (eA >= 0 && !plainDate(eA, eB)) return;
    if (cA >= 0 && !plainDate(cA, cB)) return;
  }
  const source = findSource(nLo, nHi, dLo, dHi, present);
  if (source < 0) return;
  // A 25-byte date the model reads for a month but this digest does not (a year outside its range).
  if (!shaped && sA >= 0 && sB - sA == 25 && validShapeOutsideRange(sA)) return;
  digestedCount++;
  const tc = D_TYPE_COUNTS + <usize>type * 4;
  store<i32>(tc, load<i32>(tc) + 1);
  const sc = D_SOURCE_COUNTS + <usize>source * 4;
  store<i32>(sc, load<i32>(sc) + 1);
  for (let c = 0; c < children; c++) {
    const nc = D_NESTED_COUNTS + <usize>load<i32>(D_CHILDREN + <usize>c * 4) * 4;
    store<i32>(nc, load<i32>(nc) + 1);
  }
  store<i32>(d + 4, type + 1);
  store<i32>(d + 8, outcome);
  if (shaped) {
    const mc = D_MONTHS + <usize>(startMonth - MONTH_BASE) * 4;
    store<i32>(mc, load<i32>(mc) + 1);
    store<i32>(d + 12, sA);
    store<f64>(D_EPOCHS + <usize>k * 8, <f64>startMs);
    if (minK < 0 || startMs < minEpoch) {
      minEpoch = startMs;
      minK = k;
    }
    if (maxK < 0 || startMs > maxEpoch) {
      maxEpoch = startMs;
      maxK = k;
    }
    // And per type, for the report's first and last date of each.
    const x = D_TYPE_DATES + <usize>type * 24;
    if (load<i32>(x + 16) == 0) {
      store<i64>(x, startMs);
      store<i64>(x + 8, startMs);
      store<i32>(x + 16, k + 1);
      store<i32>(x + 20, k + 1);
      store<i32>(D_TYPES_DATED + <usize>typesDated * 4, type);
      typesDated++;
    } else {
      if (startMs < load<i64>(x)) {
        store<i64>(x, startMs);
        store<i32>(x + 16, k + 1);
      }
      if (startMs > load<i64>(x + 8)) {
        store<i64>(x + 8, startMs);
        store<i32>(x + 20, k + 1);
      }
    }
  } else store<f64>(D_EPOCHS + <usize>k * 8, NaN);
}

/**
 * Whether the 25 bytes at `a` are in Apple's shape with a year appleShape() leaves out: such a date
 * has a month in the report, so its Record is left to the reader rather than counted without it.
 */
function validShapeOutsideRange(a: i32): bool {
  const cy = two(a);
  const yy = two(a + 2);
  if (cy < 0 || yy < 0) return false;
  const y = cy * 100 + yy;
  return y < 1900 || y >= 1900 + MONTHS / 12;
}

/** Marks the earliest and latest startDate digested in the last scan() on their DIGEST entries. */
function digestExtremes(): void {
  if (minK >= 0) {
    const r = DIGEST + <usize>minK * 16 + 8;
    store<i32>(r, load<i32>(r) | (1 << 8));
  }
  if (maxK >= 0) {
    const r = DIGEST + <usize>maxK * 16 + 8;
    store<i32>(r, load<i32>(r) | (2 << 8));
  }
  minK = -1;
  maxK = -1;
  // Per type: the earliest and latest of each type digested (bits 4 and 8).
  for (let i = 0; i < typesDated; i++) {
    const x = D_TYPE_DATES + <usize>load<i32>(D_TYPES_DATED + <usize>i * 4) * 24;
    const first = DIGEST + <usize>(load<i32>(x + 16) - 1) * 16 + 8;
    store<i32>(first, load<i32>(first) | (4 << 8));
    const last = DIGEST + <usize>(load<i32>(x + 20) - 1) * 16 + 8;
    store<i32>(last, load<i32>(last) | (8 << 8));
    store<i32>(x + 16, 0);
    store<i32>(x + 20, 0);
  }
  typesDated = 0;
}

/** Back to a fresh instance's state, for another scan: no field names, no digest, nothing recorded. */
export function reset(): void {
  memory.fill(FIELD_SLOTS, 0, 256);
  memory.fill(D_TYPES, 0, <usize>(INPUT - D_TYPES));
  recording = 0;
  taping = false;
  digesting = false;
  digestedCount = 0;
  minK = -1;
  maxK = -1;
  typesDated = 0;
  elements = 0;
  tp = 0;
  tapeEnd = 0;
}
