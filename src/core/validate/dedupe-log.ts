/**
 * Exact duplicates and Correlation copies, decided in file order. A collector of the whole export
 * decides each step as it comes; a collector of one byte range (a worker thread) only logs its steps
 * (DedupeLog), and the collector of the whole replays them range after range, so the outcome is the
 * one a single sequential pass gives. A step is an element's tree hash (reader/tape-hash.ts) with what
 * it is and, for the backend-import model, its outcome and type: a repeat writes the same row again.
 */

import { FAIL_VALUE_OUT_OF_RANGE, IMPORT_RECORD } from '../model/judge.js';
import type { ImportTally } from '../model/tally.js';
import { RangeOverflowError } from '../reader/range-consumer.js';
import { GrowingHashSet, HashSet32, homeBits } from './hash-set.js';

/** A top-level Record; another top-level element that may repeat (Workout, Correlation); a Record in a Correlation. */
export const TOP_RECORD = 1;
export const TOP_OTHER = 2;
export const CORRELATION_CHILD = 3;
/**
 * A time-series row's key in the backend (data source = device model, series, recorded_at; contract
 * §5.8), logged after the element's own step: its upsert keeps one row per key, so a record whose key
 * an earlier one has adds no row, whatever its bytes. Its hash is recordKeyHash's, not a tree hash.
 */
export const ROW_KEY = 4;
/** The step's element is not counted by the model (filtered out, or not a sample). */
export const NO_OUTCOME = 15;

/** [tag | outcome << 4 | type << 8] of a step. */
export function stepWord(tag: number, outcome: number, type: number): number {
  return tag | (outcome << 4) | (type << 8);
}

/** 3 words per step: 48 MiB, about 4 M elements (≈ 1.7 GB of Apple XML); a range beyond is scanned again sequentially. */
const MAX_LOG_WORDS = 12 * 1024 * 1024;

/** The duplicate steps of one range, kept in order (a growable Uint32Array of [word, hi, lo] triples). */
export class DedupeLog {
  words: Uint32Array;
  length = 0;
  overflowed = false;

  /**
   * `expected`: about how many steps the log will hold, so that it need not grow (and leave garbage) on
   * the way; `spare`: buffers to take one from that is large enough, instead of allocating. A larger one
   * is taken too: a parallel scan's ranges shrink toward the end of the file, so the buffers of its
   * first ranges serve all the later ones, and none becomes garbage a worker's heap holds on to.
   */
  constructor(expected = 0, spare: ArrayBuffer[] = []) {
    const words = Math.min(MAX_LOG_WORDS, Math.max(3 * 4096, Math.ceil(expected * 1.25) * 3));
    const at = spare.findIndex((b) => b.byteLength >= words * 4);
    this.words = at >= 0 ? new Uint32Array(spare.splice(at, 1)[0]!) : new Uint32Array(words);
  }

  push(word: number, hi: number, lo: number): void {
    if (this.length + 3 > this.words.length) {
      if (this.words.length >= MAX_LOG_WORDS) {
        this.overflowed = true;
        return;
      }
      const bigger = new Uint32Array(Math.min(MAX_LOG_WORDS, this.words.length * 2));
      bigger.set(this.words);
      this.words = bigger;
    }
    this.words[this.length++] = word;
    this.words[this.length++] = hi;
    this.words[this.length++] = lo;
  }

  /** The steps so far, for the collector of the whole (a RangeOverflowError if some were lost). */
  take(): Uint32Array {
    if (this.overflowed) throw new RangeOverflowError('duplicate log outgrew its bound');
    // A view, not a copy: the range's consumer transfers the buffer to the main thread.
    return this.words.subarray(0, this.length);
  }
}

/** What decides the duplicate steps: Deduper here, or the compiled one (dedupe-wasm.ts) with the same outcome. */
export interface DuplicateSets {
  readonly exactDuplicates: number;
  readonly correlationCopies: number;
  readonly sameKeyRecords: number;
  readonly tracked: number;
  readonly saturated: boolean;
  replay(
    log: Uint32Array,
    length: number,
    tally: ImportTally,
    types: Int32Array | null,
    handOver?: boolean,
  ): ArrayBufferLike;
}

/** The bounded sets behind the decisions, and what they found. */
export class Deduper implements DuplicateSets {
  private set: GrowingHashSet | null = null;
  private readonly children = new HashSet32(1 << 12);
  private sorted = new Uint32Array(0);
  /** Made on the first sorted replay: a range's collector never replays. */
  private starts: Uint32Array | null = null;
  private rowKeys: GrowingHashSet | null = null;
  exactDuplicates = 0;
  correlationCopies = 0;
  /** Records whose row key an earlier one has, of which exact duplicates and Correlation copies are some. */
  sameKeyRecords = 0;

  /**
   * `expected`: about how many elements to hold; the set starts with room for that and grows (exports
   * with smaller elements than Apple's usual) up to MAX_SLOTS.
   */
  constructor(private readonly expected = 0) {}

  /** Made on the first decision: a range's collector only logs its steps and never needs one. */
  private get seen(): GrowingHashSet {
    this.set ??= sizedSet(this.expected);
    return this.set;
  }

  /** The row keys seen, sized like the element set (most elements of an export are records). */
  private get keys(): GrowingHashSet {
    this.rowKeys ??= sizedSet(this.expected);
    return this.rowKeys;
  }

  get tracked(): number {
    return this.seen.size;
  }

  get saturated(): boolean {
    return this.seen.saturated || (this.rowKeys?.saturated ?? false);
  }

  /**
   * Decides a log of steps as if one by one in order, but taken in the order of their home slots
   * (a counting sort, stable): the set is then walked front to back instead of at random, which on a
   * set of tens of MB is what the decisions cost. Only steps of one hash bear on each other, and they
   * share a home slot, so each keeps its place among them. `types`: the log's type indices to the
   * tally's (a range's log), or null for the tally's own.
   *
   * With `handOver` (a range's log, done with once replayed), the log's buffer becomes the next
   * replay's sorting room and the buffer returned is the one to reuse instead: the two trade places,
   * so a merge holds no sorting room of its own beside the logs. Otherwise it returns the log's buffer.
   */
  replay(
    log: Uint32Array,
    length: number,
    tally: ImportTally,
    types: Int32Array | null,
    handOver = false,
  ): ArrayBufferLike {
    const steps = length / 3;
    if (steps < 4096) {
      for (let i = 0; i < length; i += 3) this.decide(log[i]!, log[i + 1]!, log[i + 2]!, tally, types);
      return log.buffer;
    }
    // A hash's bucket is the top 16 of its homeBits, which its home slot in every table grows with.
    this.starts ??= new Uint32Array(BUCKETS + 1);
    const starts = this.starts;
    starts.fill(0);
    for (let i = 1; i < length; i += 3) starts[(homeBits(log[i]!) >>> 8) + 1]!++;
    for (let b = 1; b < starts.length; b++) starts[b]! += starts[b - 1]!;
    // Reused from replay to replay: a fresh one per range would be garbage the GC is slow to reclaim.
    // As large as the log's buffer, not its steps: once traded for a later log (handOver) it is
    // that range's log, and a spare too small for the next would be left to the GC.
    if (this.sorted.length < length)
      this.sorted = new Uint32Array(Math.max(length, log.buffer.byteLength >>> 2));
    // The steps themselves in bucket order, so that deciding them reads the log front to back too.
    const sorted = this.sorted;
    for (let i = 0; i < length; i += 3) {
      const hi = log[i + 1]! | 0;
      const at = 3 * starts[homeBits(hi) >>> 8]!++;
      sorted[at] = log[i]!;
      sorted[at + 1] = hi;
      sorted[at + 2] = log[i + 2]!;
    }
    for (let i = 0; i < length; i += 3) this.decide(sorted[i]!, sorted[i + 1]!, sorted[i + 2]!, tally, types);
    if (!handOver || log.byteOffset !== 0) return log.buffer;
    this.sorted = new Uint32Array(log.buffer as ArrayBuffer);
    return sorted.buffer;
  }

  /** Decides one step: counts an exact duplicate or a Correlation copy, and tells the tally of a repeat. */
  private decide(word: number, hi: number, lo: number, tally: ImportTally, types: Int32Array | null): void {
    hi |= 0;
    lo |= 0;
    const tag = word & 15;
    const outcome = (word >>> 4) & 15;
    if (tag === ROW_KEY) {
      if (this.keys.addOrHas(hi, lo)) {
        this.sameKeyRecords++;
        tally.repeat(outcome, types === null ? word >>> 8 : types[word >>> 8]!);
      }
      return;
    }
    let repeat = false;
    if (tag === CORRELATION_CHILD) {
      if (this.seen.has(hi, lo)) {
        this.correlationCopies++;
        repeat = true;
      } else repeat = this.children.addOrHas(hi, lo);
    } else if (this.seen.addOrHas(hi, lo)) {
      this.exactDuplicates++;
      repeat = true;
    } else if (tag === TOP_RECORD && this.children.size > 0 && this.children.has(hi, lo)) {
      // A Correlation child seen earlier (shuffled order): this top-level Record is its copy.
      this.correlationCopies++;
      repeat = true;
    }
    // A time-series record's repeat is its row key's (ROW_KEY), which an exact copy shares.
    if (repeat && outcome !== NO_OUTCOME && tag !== TOP_OTHER && !rowOutcome(outcome)) {
      const type = word >>> 8;
      tally.repeat(outcome, types === null ? type : types[type]!);
    }
  }
}

/** A set with room for about `expected` entries at 80 % load, growing up to MAX_SLOTS. */
function sizedSet(expected: number): GrowingHashSet {
  return new GrowingHashSet(firstSlots(expected), MAX_SLOTS);
}

/** The slots of a duplicate set's first table for about `expected` entries. */
export function firstSlots(expected: number): number {
  return Math.min(MAX_SLOTS, Math.max(1 << 16, Math.ceil(expected / 0.8)));
}

/** Outcomes of a record written as a time-series row (its step is followed by a ROW_KEY step). */
export function rowOutcome(outcome: number): boolean {
  return outcome === IMPORT_RECORD || outcome === FAIL_VALUE_OUT_OF_RANGE;
}

function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * The 64-bit hash of a row key, as [hi, lo] in `out`: `model` and `series` are hashes of a device
 * model's and a backend series' names, `ms` the instant of startDate.
 */
export function rowKeyHash(model: number, series: number, ms: number, out: Int32Array): void {
  const low = ms >>> 0;
  const high = Math.floor(ms / 4294967296) | 0;
  const id = Math.imul(model, 0x9e3779b1) ^ series;
  out[0] = mix(low ^ mix(high ^ mix(id ^ 0x27d4eb2f)));
  out[1] = mix(high ^ mix(low ^ mix(id ^ 0x165667b1)) ^ 0x5bd1e995);
}

/** Slots of the duplicate set at most (all its tables): 32 MiB, about 6.8 M distinct elements (a 2.8 GB export). */
export const MAX_SLOTS = 1 << 23;
/** The replay's buckets: 65536 stretches of each table, so a stretch stays within a few cache lines. */
const BUCKETS = 1 << 16;
