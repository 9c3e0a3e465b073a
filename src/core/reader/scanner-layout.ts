/**
 * What the scanners (export-scanner.ts, check-scanner.ts) share below the level of a tag: byte classes
 * and the word tricks over attribute values, the remembered attribute layouts of element names
 * (Layout, AttrSlot, ByteRun) that let Apple's fixed attribute order be confirmed with one word-wise
 * comparison per attribute, and the failure that stops a parse.
 */
import type { DefectKind, ExportElement } from './types.js';

export const NEED_MORE = -1;
export const FAILED = -2;
/** attributeHead found the end of the tag instead of an attribute. */
export const TAG_ENDED = -3;

/** 1: may start a name; 2: may continue one. Bytes ≥ 0x80 are UTF-8 parts of non-ASCII names. */
export const NAME = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const start = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x3a || c >= 0x80;
  const rest = start || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e;
  NAME[c] = start ? 3 : rest ? 2 : 0;
}

/** What a byte inside an attribute value asks of the decoder. */
export const AMP = 1;
export const LT = 2;
export const WS = 4;
export const HI = 8;
export const QUOTE = 16;
export const VALUE_FLAGS = new Uint8Array(256);
VALUE_FLAGS[0x22] = QUOTE;
VALUE_FLAGS[0x27] = QUOTE;
VALUE_FLAGS[0x26] = AMP;
VALUE_FLAGS[0x3c] = LT;
VALUE_FLAGS[0x09] = WS;
VALUE_FLAGS[0x0a] = WS;
VALUE_FLAGS[0x0d] = WS;
for (let c = 0x80; c < 256; c++) VALUE_FLAGS[c] = HI;

export const AMP_X4 = 0x26262626 | 0;
export const APOS_X4 = 0x27272727 | 0;
export const BELOW_28 = 0x28282828 | 0;
export const LT_X4 = 0x3c3c3c3c | 0;
export const ONES = 0x01010101 | 0;
export const TOPS = 0x80808080 | 0;

/**
 * Skips whole 4-byte words of an attribute value in which no byte can need VALUE_FLAGS' attention:
 * none below 0x28 (quotes, '&', whitespace, controls; spaces are false alarms), none equal to '<',
 * none above 0x7f. Returns where the byte-by-byte loop must take over.
 */
export function skipPlainWords(view: DataView, i: number, len: number): number {
  while (i + 4 <= len) {
    const w = view.getInt32(i, true);
    const lt = w ^ LT_X4;
    if (((((w - BELOW_28) | 0) & ~w) | w | (((lt - ONES) | 0) & ~lt)) & TOPS) return i;
    i += 4;
  }
  return i;
}

/**
 * The length of the &lt; &gt; or &amp; (Apple's `device` strings) at buf[i] ('&'), or 0 for any other
 * reference, or one that the buffer's end may cut (it is then judged the slow way, exactly).
 */
export function commonReference(buf: Buffer, i: number, len: number): number {
  if (i + 4 >= len) return 0;
  const c1 = buf[i + 1];
  if ((c1 === 0x6c || c1 === 0x67) && buf[i + 2] === 0x74 && buf[i + 3] === 0x3b) return 4;
  if (c1 === 0x61 && buf[i + 2] === 0x6d && buf[i + 3] === 0x70 && buf[i + 4] === 0x3b) return 5;
  return 0;
}

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

/** Element names with a remembered layout, and attributes per layout: bounds hostile input. */
export const MAX_LAYOUTS = 256;
export const MAX_LAYOUT_SLOTS = 64;
/** A slot whose values stop repeating stops being cached, but is probed again every so often. */
export const PROBE_EVERY = 1024;
/** Longer values (Apple's `device` strings) are unique per record; comparing them would cost more than it saves. */
export const MAX_CACHED_VALUE = 96;

/**
 * What the scanner remembers of one element name: a slot per attribute name, each pointing at the
 * attribute that followed it last time. Apple writes a handful of attribute orders (a Record with or
 * without `device`), so following `next` predicts the next attribute nearly always, and a wrong guess
 * costs one failed startsWith and a map lookup, never a rebuild.
 */
export class Layout {
  first: AttrSlot | null = null;
  private readonly byName = new Map<string, AttrSlot>();

  /** The slot of `name`, or null once this element has more distinct attributes than MAX_LAYOUT_SLOTS. */
  slot(name: string): AttrSlot | null {
    let slot = this.byName.get(name);
    if (slot === undefined) {
      if (this.byName.size >= MAX_LAYOUT_SLOTS) return null;
      slot = new AttrSlot(name);
      this.byName.set(name, slot);
    }
    return slot;
  }
}

/**
 * A short byte string to look for at a position of the buffer, compared four bytes at a time through
 * a DataView: about four times faster than String#startsWith on the latin1 twin, which goes char by char.
 */
export class ByteRun {
  readonly length: number;
  private readonly bytes: Buffer;
  private readonly words: Int32Array;

  /** The last four bytes as one word (they overlap the last whole word), for runs of four bytes or more. */
  private readonly tail: number;

  constructor(latin1: string) {
    this.bytes = Buffer.from(latin1, 'latin1');
    this.length = this.bytes.length;
    this.words = new Int32Array(this.length >> 2);
    for (let k = 0; k < this.words.length; k++) this.words[k] = this.bytes.readInt32LE(k << 2);
    this.tail = this.length >= 4 ? this.bytes.readInt32LE(this.length - 4) : 0;
  }

  /** Whether buf[at, at + length) holds these bytes; `view` is a DataView over `buf`, `len` its length. */
  at(view: DataView, buf: Buffer, at: number, len: number): boolean {
    const n = this.length;
    if (at + n > len) return false;
    const words = this.words;
    for (let k = 0; k < words.length; k++) if (view.getInt32(at + (k << 2), true) !== words[k]) return false;
    if ((n & 3) === 0) return true;
    if (n >= 4) return view.getInt32(at + n - 4, true) === this.tail;
    const bytes = this.bytes;
    for (let j = 0; j < n; j++) if (buf[at + j] !== bytes[j]) return false;
    return true;
  }
}

/**
 * One attribute of an element name, with the attribute that followed it last time and its last value.
 * The score tells repeating attributes (type, unit, sourceName) from ones that never repeat (dates),
 * so the latter skip both the cache test and the flat copy that caching needs.
 */
export class AttrSlot {
  /** `name="`: what the fast path confirms with one startsWith after a single space. */
  readonly prefix: ByteRun;
  /** The last cached value as raw latin1 bytes, and decoded. */
  raw: string | null = null;
  value = '';
  /** `name="raw"` while the value keeps repeating: one startsWith then confirms the whole attribute. */
  whole: ByteRun | null = null;
  /** The attribute written after this one last time (null: the tag ended). */
  next: AttrSlot | null = null;
  /** Serial number of the last start tag this attribute appeared in: a repeat in the same tag is a duplicate. */
  stamp = 0;
  private score = 0;
  private seen = 0;

  /** The name's 31-polynomial hash over its bytes (names.ts), as the tape records it. */
  readonly hash: number;

  constructor(readonly name: string) {
    this.prefix = new ByteRun(`${name}="`);
    let h = 0;
    for (const c of Buffer.from(name, 'utf8')) h = (Math.imul(h, 31) + c) | 0;
    this.hash = h;
  }

  /** Whether to compare with the cached value (and, on a miss, cache the new one). */
  caching(): boolean {
    return this.score > -8 || (++this.seen & (PROBE_EVERY - 1)) === 0;
  }

  hit(): void {
    if (this.score < 8) this.score++;
    // A raw value with '"' came from a '…' delimited value: `name="raw"` would not mean the same.
    if (this.whole === null && this.raw !== null && !this.raw.includes('"'))
      this.whole = new ByteRun(`${this.name}="${this.raw}"`);
  }

  miss(): void {
    if (this.score > -8) this.score--;
  }

  store(raw: string, value: string): void {
    this.miss();
    this.raw = raw.length <= MAX_CACHED_VALUE ? raw : null;
    this.value = value;
    this.whole = null;
  }
}

/** The attributes of every element in a check-only scan (the root's excepted), and their children. */
export const NO_ATTRS: Record<string, string> = Object.freeze({}) as Record<string, string>;
export const NO_CHILDREN: ExportElement[] = Object.freeze([]) as unknown as ExportElement[];

/** Whether buf[at, at + raw.length) holds the latin1 string `raw`. */
export function sameLatin1(buf: Buffer, at: number, raw: string): boolean {
  for (let i = 0; i < raw.length; i++) if (buf[at + i] !== raw.charCodeAt(i)) return false;
  return true;
}

export function sameBytes(buf: Buffer, a0: number, a1: number, b0: number, b1: number): boolean {
  if (a1 - a0 !== b1 - b0) return false;
  for (let i = 0; i < a1 - a0; i++) if (buf[a0 + i] !== buf[b0 + i]) return false;
  return true;
}

export class ScanFailure extends Error {
  constructor(
    readonly index: number,
    message: string,
    readonly kind: DefectKind = 'not-well-formed',
  ) {
    super(message);
  }
}
