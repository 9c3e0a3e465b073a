import { decodeReferences } from '../reader/entities.js';

/**
 * The attributes of one element that the backend's import reads, as byte spans: what the model's
 * rules (judge.ts) look at. A consumer fills it from a tape (validate), or from decoded attribute
 * strings (setAttrs: the direct path, tests), so that one implementation of each rule serves both.
 */

export const F_TYPE = 0;
export const F_VALUE = 1;
export const F_START = 2;
export const F_END = 3;
export const F_CREATION = 4;
export const F_SOURCE_NAME = 5;
export const F_DEVICE = 6;
export const F_ACTIVITY = 7;
export const F_XMLNS = 8;
export const FIELD_COUNT = 9;

/** The attribute name of each field, in field order. */
export const FIELD_NAMES: readonly string[] = [
  'type',
  'value',
  'startDate',
  'endDate',
  'creationDate',
  'sourceName',
  'device',
  'workoutActivityType',
  'xmlns',
];

/** The fields whose bytes the rules read (judge.ts): with references in them, they are decoded first. */
export const RULE_FIELDS =
  (1 << F_TYPE) |
  (1 << F_VALUE) |
  (1 << F_START) |
  (1 << F_END) |
  (1 << F_CREATION) |
  (1 << F_ACTIVITY) |
  (1 << F_XMLNS);

export class ElementFields {
  /** What the spans index. */
  bytes: Uint8Array = new Uint8Array(0);
  /** Per field, [start, end) in `bytes`; start -1: the attribute is absent. */
  readonly start = new Int32Array(FIELD_COUNT).fill(-1);
  readonly end = new Int32Array(FIELD_COUNT);
  /** Bit f: field f's bytes are raw, with references still to decode (text() decodes them). */
  refs = 0;
  /** Per field, the value's hash when the tape gave one (interning keys); 0 otherwise. */
  readonly hashLo = new Int32Array(FIELD_COUNT);
  readonly hashHi = new Int32Array(FIELD_COUNT);
  private own = Buffer.allocUnsafe(1024);

  /** Bit f: field f is set (so clear() resets only those). */
  private mask = 0;

  clear(): void {
    for (let m = this.mask; m !== 0; m &= m - 1) this.start[31 - Math.clz32(m & -m)] = -1;
    this.mask = 0;
    this.refs = 0;
  }

  has(f: number): boolean {
    return this.start[f]! >= 0;
  }

  /** The field's value as text (references decoded, whitespace normalised as XML does), or undefined. */
  text(f: number): string | undefined {
    const a = this.start[f]!;
    if (a < 0) return undefined;
    let s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset, this.bytes.length).toString(
      'utf8',
      a,
      this.end[f],
    );
    if (this.refs & (1 << f)) {
      if (/[\t\n\r]/.test(s)) s = s.replace(/\r\n|[\r\n\t]/g, ' ');
      s = decodeReferences(s);
    }
    return s;
  }

  /**
   * Points the fields at decoded attribute values: each field's text is written into bytes of its
   * own (UTF-8), so the rules read it as they read a tape's raw bytes.
   */
  setAttrs(attrs: Readonly<Record<string, string>>): void {
    this.clear();
    let need = 0;
    for (const name of FIELD_NAMES) {
      const v = attrs[name];
      if (v !== undefined) need += Buffer.byteLength(v);
    }
    if (need > this.own.length) this.own = Buffer.allocUnsafe(need * 2);
    let at = 0;
    for (let f = 0; f < FIELD_COUNT; f++) {
      const v = attrs[FIELD_NAMES[f]!];
      if (v === undefined || !Object.hasOwn(attrs, FIELD_NAMES[f]!)) continue;
      const n = this.own.write(v, at, 'utf8');
      this.set(f, at, at + n);
      at += n;
    }
    this.bytes = this.own;
  }

  /** Sets field `f` to bytes[a, b) of the fields' current bytes; `raw`: they hold references to decode. */
  set(f: number, a: number, b: number, lo = 0, hi = 0, raw = false): void {
    this.start[f] = a;
    this.end[f] = b;
    this.hashLo[f] = lo;
    this.hashHi[f] = hi;
    this.mask |= 1 << f;
    if (raw) this.refs |= 1 << f;
  }
}
