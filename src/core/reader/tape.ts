/**
 * A tape: what a tape scan (tape-scanner.ts) hands over of each top-level element instead of decoded
 * strings. Per start tag, in document order, a tag entry followed by one entry per attribute, each
 * ENTRY_INTS int32s; byte offsets on it point at the source bytes, where names and raw values still
 * lie, and every entry carries a hash (tape-hash.ts). A consumer reads what it needs straight from the
 * bytes and decodes a string only when it must (a new key, an example), which is what makes validate
 * fast. The compiled fast path (wasm/content-check.ts) writes the tape of the elements it accepts; the
 * scanner writes the same tape itself (JsTape) for the few it leaves to JavaScript.
 */
import { HASH, TreeHash, valueHash } from './tape-hash.js';

export const ENTRY_INTS = 8;

/** A tag entry: depth below the root (0: top-level) | attribute count << 8. */
export const T_HEAD = 0;
/** Byte offsets (add offsetBase for absolute ones) of the element's '<' and just past its last '>'. */
export const T_START = 1;
export const T_END = 2;
/** The name's 31-polynomial hash (names.ts), its first byte (add valueBase) and length. */
export const T_NAME_HASH = 3;
export const T_NAME_AT = 4;
export const T_NAME_LENGTH = 5;
/** The element's tree hash (tape-hash.ts). */
export const T_HASH_LO = 6;
export const T_HASH_HI = 7;

/** An attribute entry: its name as in a tag entry, its raw value's bytes [A_VALUE_AT, A_VALUE_END) and hash. */
export const A_NAME_HASH = 0;
export const A_NAME_AT = 1;
export const A_NAME_LENGTH = 2;
export const A_VALUE_AT = 3;
export const A_VALUE_END = 4;
export const A_FLAGS = 5;
export const A_HASH_LO = 6;
export const A_HASH_HI = 7;

/** A_FLAGS: the raw value holds a reference (`&…;`), so its bytes are not its text. */
export const VALUE_HAS_REFERENCE = 1;

/** The 31-polynomial hash of an ASCII name, as the readers compute it (T_NAME_HASH, A_NAME_HASH). */
export function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0;
  return h;
}

/**
 * One top-level element on a tape, as handed to ScannerHandlers.onTape: valid only during that call
 * (the object and the memory it points into are reused).
 */
export class TapeElement {
  ints: Int32Array = new Int32Array(0);
  bytes: Buffer = Buffer.alloc(0);
  /** The element's tag entry, and one past its last entry. */
  at = 0;
  end = 0;
  /** Add to a byte offset on the tape to index `bytes`; add to T_START/T_END for an absolute offset. */
  valueBase = 0;
  offsetBase = 0;
  /** The element's name (interned). */
  name = '';
  /** The 1-based line and column of its '<', once position() has run. */
  line = 0;
  column = 0;
  /** Set by the scanner: computes line and column. */
  locate: (el: TapeElement) => void = () => {};

  startOffset(): number {
    return this.offsetBase + this.ints[this.at + T_START]!;
  }

  endOffset(): number {
    return this.offsetBase + this.ints[this.at + T_END]!;
  }

  position(): void {
    if (this.line === 0) this.locate(this);
  }

  /** Whether the name of the entry at `e` (a tag's or an attribute's, same fields) is `name`. */
  named(e: number, name: NameKey): boolean {
    const ints = this.ints;
    if (ints[e + T_NAME_HASH] !== name.hash || ints[e + T_NAME_LENGTH] !== name.bytes.length) return false;
    const bytes = this.bytes;
    const at = this.valueBase + ints[e + T_NAME_AT]!;
    const want = name.bytes;
    for (let i = 0; i < want.length; i++) if (bytes[at + i] !== want[i]) return false;
    return true;
  }

  /** The attribute entry of tag entry `t` named `name`, or -1. */
  attr(t: number, name: NameKey): number {
    const n = this.ints[t + T_HEAD]! >>> 8;
    for (let a = t + ENTRY_INTS, k = 0; k < n; k++, a += ENTRY_INTS) if (this.named(a, name)) return a;
    return -1;
  }

  /** The entry after tag entry `t` and its attributes. */
  next(t: number): number {
    return t + ENTRY_INTS * (1 + (this.ints[t + T_HEAD]! >>> 8));
  }

  /** The raw value of attribute entry `a` as a string (latin1 bytes as they are; see decoded text elsewhere). */
  raw(a: number): string {
    const at = this.valueBase + this.ints[a + A_VALUE_AT]!;
    return this.bytes.latin1Slice(at, at + this.ints[a + A_VALUE_END]! - this.ints[a + A_VALUE_AT]!);
  }
}

/** An attribute or element name to look for on a tape. */
export interface NameKey {
  hash: number;
  bytes: Buffer;
}

export function nameKey(name: string): NameKey {
  return { hash: nameHash(name), bytes: Buffer.from(name, 'latin1') };
}

/**
 * The tape of one top-level element written by the scanner itself (the elements the fast path leaves
 * to it, or all of them without the compiled module): the same entries and hashes as the compiled
 * fast path's, with names and values copied into bytes of its own, since such an element may span
 * several of the scanner's buffers. Offsets are relative to the element's start (offsetBase).
 */
export class JsTape {
  ints = new Int32Array(ENTRY_INTS * 256);
  length = 0;
  bytes = Buffer.allocUnsafe(16 * 1024);
  used = 0;
  /** Absolute offset of the element's '<'. */
  origin = 0;
  private readonly open: number[] = [];
  private readonly lanes: TreeHash[] = [];
  /** The start tag being read (its entry), or -1 between tags; where its bytes began. */
  private tag = -1;
  private tagUsed = 0;
  /** Line and column of the element's '<'. */
  line = 0;
  column = 0;

  reset(): void {
    this.length = 0;
    this.used = 0;
    this.open.length = 0;
    this.tag = -1;
  }

  private entry(): number {
    if (this.length + ENTRY_INTS > this.ints.length) {
      const bigger = new Int32Array(this.ints.length * 2);
      bigger.set(this.ints);
      this.ints = bigger;
    }
    const e = this.length;
    this.length += ENTRY_INTS;
    return e;
  }

  private copy(buf: Buffer, a: number, b: number): number {
    const n = b - a;
    if (this.used + n > this.bytes.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.bytes.length * 2, this.used + n));
      this.bytes.copy(bigger, 0, 0, this.used);
      this.bytes = bigger;
    }
    const at = this.used;
    buf.copy(this.bytes, at, a, b);
    this.used += n;
    return at;
  }

  /**
   * A start tag named buf[a, b) (hash `h`) at absolute offset `start`. A start tag the scanner began
   * and had to leave for more bytes is begun again: what it wrote of it then is dropped.
   */
  startTag(buf: Buffer, a: number, b: number, h: number, start: number): void {
    if (this.open.length === 0) {
      this.reset();
      this.origin = start;
    } else if (this.tag !== -1) {
      this.length = this.tag;
      this.used = this.tagUsed;
    }
    this.tagUsed = this.used;
    const e = this.entry();
    const ints = this.ints;
    ints[e + T_HEAD] = this.open.length;
    ints[e + T_START] = start - this.origin;
    ints[e + T_END] = 0;
    ints[e + T_NAME_HASH] = h;
    ints[e + T_NAME_AT] = this.copy(buf, a, b);
    ints[e + T_NAME_LENGTH] = b - a;
    const depth = this.open.length;
    const lanes = this.lanes[depth] ?? new TreeHash();
    this.lanes[depth] = lanes;
    lanes.open(h, b - a);
    this.tag = e;
  }

  /** An attribute of the current start tag: name buf[a, b) (hash `h`), raw value buf[v, w). */
  attribute(buf: Buffer, a: number, b: number, h: number, v: number, w: number): void {
    const e = this.entry();
    const ints = this.ints;
    ints[e + A_NAME_HASH] = h;
    ints[e + A_NAME_AT] = this.copy(buf, a, b);
    ints[e + A_NAME_LENGTH] = b - a;
    const at = this.copy(buf, v, w);
    ints[e + A_VALUE_AT] = at;
    ints[e + A_VALUE_END] = at + w - v;
    const ref = buf.indexOf(0x26, v);
    ints[e + A_FLAGS] = ref !== -1 && ref < w ? VALUE_HAS_REFERENCE : 0;
    valueHash(this.bytes, at, w - v);
    ints[e + A_HASH_LO] = HASH[0]!;
    ints[e + A_HASH_HI] = HASH[1]!;
    ints[this.tag + T_HEAD] = ints[this.tag + T_HEAD]! + (1 << 8);
    this.lanes[this.open.length]!.attr(h, b - a, HASH[0]!, HASH[1]!);
  }

  /** The current start tag ended at absolute offset `end`: `/>` closes it at once. */
  startTagEnd(selfClosing: boolean, end: number): void {
    this.open.push(this.tag);
    this.tag = -1;
    if (selfClosing) this.endTag(end);
  }

  /** The innermost open element ends at absolute offset `end`; true when that was the top-level one. */
  endTag(end: number): boolean {
    const e = this.open.pop()!;
    const depth = this.open.length;
    this.lanes[depth]!.close();
    const ints = this.ints;
    ints[e + T_END] = end - this.origin;
    ints[e + T_HASH_LO] = HASH[0]!;
    ints[e + T_HASH_HI] = HASH[1]!;
    if (depth === 0) return true;
    this.lanes[depth - 1]!.child(HASH[0]!, HASH[1]!);
    return false;
  }

  /** Points `into` at this tape's element. */
  view(into: TapeElement, name: string): void {
    into.ints = this.ints;
    into.bytes = this.bytes;
    into.at = 0;
    into.end = this.length;
    into.valueBase = 0;
    into.offsetBase = this.origin;
    into.name = name;
    into.line = this.line;
    into.column = this.column;
  }
}
