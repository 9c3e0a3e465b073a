/**
 * Record types as the backend's metric map sorts them (contract §5.3, §5.5): a quantity it maps to a
 * series, sleep, or a type it drops. Interned by the hash of their bytes, so a consumer reading a tape
 * looks a type up without making a string; every table lists the mapped types first, in one order, so
 * type indices agree between tables (the threads of a parallel scan).
 */

import { HASH, valueHash } from '../reader/tape-hash.js';
import { MAPPED_QUANTITY_TYPES, SLEEP_TYPE } from '../selection/mapped-types.js';

export const KIND_UNMAPPED = 0;
export const KIND_QUANTITY = 1;
export const KIND_SLEEP = 2;

export interface RecordType {
  index: number;
  name: string;
  kind: number;
  /** The backend series (quantities), 'sleep', or null. */
  series: string | null;
}

/** Distinct types a table holds; the rest share OTHER_TYPES (hostile input must not grow memory). */
export const MAX_TYPES = 4096;
export const OTHER_TYPES = '(other types)';

const SEEDED: readonly [string, number, string | null][] = [
  ...[...MAPPED_QUANTITY_TYPES].map(([name, series]): [string, number, string | null] => [
    name,
    KIND_QUANTITY,
    series,
  ]),
  [SLEEP_TYPE, KIND_SLEEP, 'sleep'],
];

/** The kind of a type name: what the backend does with a Record of this type. */
export function kindOf(name: string): number {
  if (name === SLEEP_TYPE) return KIND_SLEEP;
  return MAPPED_QUANTITY_TYPES.has(name) ? KIND_QUANTITY : KIND_UNMAPPED;
}

const SLOTS = 1 << 14;

export class TypeTable {
  readonly list: RecordType[] = [];
  private readonly lo = new Int32Array(SLOTS);
  private readonly hi = new Int32Array(SLOTS);
  /** index + 1 per slot; 0: empty. */
  private readonly slot = new Int32Array(SLOTS);
  private other: RecordType | null = null;
  private readonly byName = new Map<string, RecordType>();

  constructor() {
    for (const [name] of SEEDED) this.named(name);
  }

  /** The type whose raw bytes hash to (lo, hi), or undefined when this table has not seen it. */
  find(lo: number, hi: number): RecordType | undefined {
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & (SLOTS - 1);
    for (;;) {
      const s = this.slot[i]!;
      if (s === 0) return undefined;
      if (this.lo[i] === lo && this.hi[i] === hi) return this.list[s - 1];
      i = (i + 1) & (SLOTS - 1);
    }
  }

  /** Remembers that raw bytes hashing to (lo, hi) spell the type `name`; returns it. */
  add(lo: number, hi: number, name: string): RecordType {
    const t = this.named(name);
    if (t.name === OTHER_TYPES || this.list.length > SLOTS / 2) return t;
    let i = (lo ^ Math.imul(hi, 0x9e3779b1)) & (SLOTS - 1);
    while (this.slot[i] !== 0) {
      if (this.lo[i] === lo && this.hi[i] === hi) return t;
      i = (i + 1) & (SLOTS - 1);
    }
    this.lo[i] = lo;
    this.hi[i] = hi;
    this.slot[i] = t.index + 1;
    return t;
  }

  /** The type named `name` (decoded text), added when new, or OTHER_TYPES past MAX_TYPES. */
  named(name: string): RecordType {
    let t = this.byName.get(name);
    if (t !== undefined) return t;
    if (this.list.length >= MAX_TYPES) {
      if (this.other === null) {
        this.other = { index: this.list.length, name: OTHER_TYPES, kind: KIND_UNMAPPED, series: null };
        this.list.push(this.other);
      }
      return this.other;
    }
    const kind = kindOf(name);
    t = {
      index: this.list.length,
      name,
      kind,
      series: kind === KIND_SLEEP ? 'sleep' : (MAPPED_QUANTITY_TYPES.get(name) ?? null),
    };
    this.list.push(t);
    this.byName.set(name, t);
    // A name written without references hashes as its bytes: seeds and plain names are found by hash too.
    const bytes = Buffer.from(name, 'utf8');
    valueHash(bytes, 0, bytes.length);
    this.add(HASH[0]!, HASH[1]!, name);
    return t;
  }
}
