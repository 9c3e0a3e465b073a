/**
 * A tape: what a tape scan (tape-scanner.ts) hands over of each top-level element instead of decoded
 * strings. Per start tag, in document order, a tag entry followed by one entry per attribute, each
 * ENTRY_INTS int32s; byte offsets on it point at the source bytes, where names and raw values still
 * lie, and every entry carries a hash (tape-hash.ts). A consumer reads what it needs straight from the
 * bytes and decodes a string only when it must (a new key, an example), which is what makes validate
 * fast. The compiled fast path (wasm/content-check.ts) writes the tape of the elements it accepts; the
 * scanner writes the same tape itself (JsTape) for the few it leaves to JavaScript.
 */
import { decodeReferences } from './entities.js';
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
/** A_FLAGS >>> FIELD_SHIFT: the attribute's field id + 1 when its name is one of TapeFields' names, else 0. */
export const FIELD_SHIFT = 8;

/**
 * The attribute names a tape's reader wants found for it: each attribute so named carries the name's
 * index (its field id) in its flags, and for the `hashed` ones (a bit per id) the hash of its value
 * (A_HASH_LO/HI; 0 for other attributes). A `device` one (bit in `device`) is hashed without its
 * address (deviceTail). At most 32 names of at most 64 bytes, no two alike in their hash's low byte.
 */
export interface TapeFields {
  names: readonly string[];
  hashed: number;
  device: number;
}

const DEVICE_HEAD = Buffer.from('&lt;&lt;HKDevice:', 'latin1');

/**
 * Where the part of a `device` value in bytes[v, end) after its `<<HKDevice: 0x…>` head begins (the
 * address differs on every record, format §2.4), or `v` without such a head. The hash on a `device`
 * attribute's entry is the hash of that part (the element's tree hash still covers the whole value),
 * so that one device's records share it. wasm/content-check.ts finds the same place.
 */
export function deviceTail(bytes: Uint8Array, v: number, end: number): number {
  const n = DEVICE_HEAD.length;
  if (end - v < n) return v;
  for (let k = 0; k < n; k++) if (bytes[v + k] !== DEVICE_HEAD[k]) return v;
  for (let i = v + n; i < end; i++) {
    const c = bytes[i];
    if (c === 0x3e) return i + 1;
    if (c === 0x26 && i + 3 < end && bytes[i + 1] === 0x67 && bytes[i + 2] === 0x74 && bytes[i + 3] === 0x3b)
      return i + 4;
  }
  return v;
}

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

  /** Whether the tag entry `t` is named `name`. */
  named(t: number, name: NameKey): boolean {
    return this.sameName(t + T_NAME_HASH, name);
  }

  /** Whether the attribute entry `a` is named `name`. */
  attrNamed(a: number, name: NameKey): boolean {
    return this.sameName(a + A_NAME_HASH, name);
  }

  /** Whether the [hash, at, length] at ints[i] name `name`. */
  private sameName(i: number, name: NameKey): boolean {
    const ints = this.ints;
    if (ints[i] !== name.hash || ints[i + 2] !== name.bytes.length) return false;
    const bytes = this.bytes;
    const at = this.valueBase + ints[i + 1]!;
    const want = name.bytes;
    for (let k = 0; k < want.length; k++) if (bytes[at + k] !== want[k]) return false;
    return true;
  }

  /** The attribute entry of tag entry `t` named `name`, or -1. */
  attr(t: number, name: NameKey): number {
    const n = this.ints[t + T_HEAD]! >>> 8;
    for (let a = t + ENTRY_INTS, k = 0; k < n; k++, a += ENTRY_INTS) if (this.attrNamed(a, name)) return a;
    return -1;
  }

  /** The entry after tag entry `t` and its attributes. */
  next(t: number): number {
    return t + ENTRY_INTS * (1 + (this.ints[t + T_HEAD]! >>> 8));
  }

  /** The value of attribute entry `a` as text: UTF-8, normalised and with its references decoded (XML §3.3.3). */
  text(a: number): string {
    const ints = this.ints;
    let s = this.bytes.toString(
      'utf8',
      this.valueBase + ints[a + A_VALUE_AT]!,
      this.valueBase + ints[a + A_VALUE_END]!,
    );
    if (/[\t\n\r]/.test(s)) s = s.replace(/\r\n|[\r\n\t]/g, ' ');
    // The references were checked when the tape was written.
    if (ints[a + A_FLAGS]! & VALUE_HAS_REFERENCE) s = decodeReferences(s);
    return s;
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

/** The field id + 1 of an attribute name buf[a, b) with hash `h` among `fields`, or 0. */
export function fieldOf(
  fields: TapeFields | null,
  keys: NameKey[],
  buf: Uint8Array,
  a: number,
  b: number,
  h: number,
): number {
  if (fields === null) return 0;
  for (let id = 0; id < keys.length; id++) {
    const k = keys[id]!;
    if (k.hash !== h || k.bytes.length !== b - a) continue;
    let i = 0;
    while (i < b - a && buf[a + i] === k.bytes[i]) i++;
    if (i === b - a) return id + 1;
  }
  return 0;
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
  private readonly keys: NameKey[];

  constructor(private readonly fields: TapeFields | null = null) {
    this.keys = fields === null ? [] : fields.names.map(nameKey);
  }

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
    const id = fieldOf(this.fields, this.keys, buf, a, b, h);
    ints[e + A_FLAGS] = (ref !== -1 && ref < w ? VALUE_HAS_REFERENCE : 0) | (id << FIELD_SHIFT);
    this.lanes[this.open.length]!.attr(h, b - a, this.bytes, at, w - v);
    let lo = 0;
    let hi = 0;
    if (id !== 0 && this.fields!.hashed & (1 << (id - 1))) {
      const from = this.fields!.device & (1 << (id - 1)) ? deviceTail(this.bytes, at, at + w - v) : at;
      valueHash(this.bytes, from, at + w - v - from);
      lo = HASH[0]!;
      hi = HASH[1]!;
    }
    ints[e + A_HASH_LO] = lo;
    ints[e + A_HASH_HI] = hi;
    ints[this.tag + T_HEAD] = ints[this.tag + T_HEAD]! + (1 << 8);
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
