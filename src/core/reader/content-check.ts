/**
 * The check-only scanner's fast path inside the root (wasm/content-check.ts, compiled to
 * dist/wasm/content-check.wasm): it passes over whole top-level elements and stops at the first
 * thing it is not sure the scanner accepts, where the scanner reads on itself. Upload's check costs
 * about a third of its JavaScript time this way (issue 4: on two cores the check competes with the
 * transfer for CPU). Without the compiled module (running from a checkout that was never built), the
 * scanner simply does all the reading, with the same results.
 */
import { wasmModule } from '../../adapters/wasm-module.js';
import { nameHash, type TapeFields } from './tape.js';

interface Exports {
  memory: WebAssembly.Memory;
  input(): number;
  capacity(): number;
  reserve(bytes: number): number;
  count(): number;
  record(on: number): void;
  spans(): number;
  illegal(from: number, end: number): number;
  illegalFeeds(): number;
  lineFeeds(from: number, end: number): number;
  lastLF(): number;
  scan(from: number, end: number, maxDepth: number, maxItem: number): number;
  tape(on: number): void;
  tapeAt(): number;
  fieldNames(): number;
  field(id: number, hash: number, length: number, flags: number): number;
  tapeLength(): number;
  stopReason(): number;
  reset(): void;
  digestOn(
    type: number,
    value: number,
    start: number,
    end: number,
    creation: number,
    source: number,
    device: number,
    xmlns: number,
  ): void;
  digestAt(): number;
  digestEpochsAt(): number;
  digestTable(which: number): number;
  digestCount(): number;
  digestTaken(): void;
  digestType(lo: number, hi: number, index: number, outcome: number): number;
  digestSource(
    nameLo: number,
    nameHi: number,
    devLo: number,
    devHi: number,
    present: number,
    id: number,
  ): number;
  digestNestedName(): number;
  digestNested(hash: number, length: number, id: number): number;
}

/** The tape's field ids a digest reads (DigestFields; ids as in TapeFields.names). */
export interface DigestFields {
  type: number;
  value: number;
  start: number;
  end: number;
  creation: number;
  source: number;
  device: number;
  xmlns: number;
}

/** What TapeDigest.take() fills in: the counts of what was digested since the last take(). */
export interface DigestCounts {
  records: number;
  /** Per type index, per source id, per nested-name id (registered), and per month key from monthBase. */
  types: Int32Array;
  sources: Int32Array;
  nested: Int32Array;
  months: Int32Array;
  monthBase: number;
}

/**
 * The compiled fast path's digest (wasm/content-check.ts, "the digest"): a consumer registers the
 * keys it counts by (types with the outcome of their plain Records, sources, nested element names),
 * and the fast path then counts the plain top-level Records itself instead of handing their tapes
 * over; each one still goes to onDigested (for its place in file order) and its counts come from take().
 */
export class TapeDigest {
  constructor(private readonly check: ContentCheck) {}

  /** Registers a type by the hash of its raw bytes; false when the digest has no room for it. */
  type(lo: number, hi: number, index: number, outcome: number): boolean {
    return this.check.exports().digestType(lo, hi, index, outcome) !== 0;
  }

  /** Registers a source by its name's and device's hashes (`present`: 1 name, 2 device). */
  source(nameLo: number, nameHi: number, devLo: number, devHi: number, present: number, id: number): boolean {
    return this.check.exports().digestSource(nameLo, nameHi, devLo, devHi, present, id) !== 0;
  }

  /** Registers a nested element name (ASCII, at most 64 bytes) as `id`. */
  nested(name: string, hash: number, id: number): boolean {
    if (name.length > 64 || !/^[\x21-\x7e]+$/.test(name)) return false;
    const x = this.check.exports();
    this.check.memory().write(name, x.digestNestedName(), 'latin1');
    return x.digestNested(hash, name.length, id) !== 0;
  }

  /** The counts since the last take(), copied into `into`; the digest's own start again from zero. */
  take(into: DigestCounts): void {
    const x = this.check.exports();
    const mem = this.check.memory();
    const ints = new Int32Array(mem.buffer, mem.byteOffset, mem.length >> 2);
    const table = (which: number, n: number) => ints.subarray(x.digestTable(which), x.digestTable(which) + n);
    into.records = x.digestCount();
    into.types.set(table(0, into.types.length));
    into.sources.set(table(1, into.sources.length));
    into.nested.set(table(2, into.nested.length));
    into.months.set(table(3, x.digestTable(5)));
    into.monthBase = x.digestTable(4);
    x.digestTaken();
  }

  /** A DigestCounts with room for everything the digest counts. */
  static counts(): DigestCounts {
    return {
      records: 0,
      types: new Int32Array(4096),
      sources: new Int32Array(8192),
      nested: new Int32Array(256),
      months: new Int32Array(256 * 12),
      monthBase: 0,
    };
  }
}

/** A digested element's extremes bits (onDigested): the earliest and latest startDate of its scan() call. */
export const DIGEST_FIRST = 1;
export const DIGEST_LAST = 2;
/** And the earliest and latest startDate of its type in its scan() call. */
export const DIGEST_TYPE_FIRST = 4;
export const DIGEST_TYPE_LAST = 8;

/** Why the last scan() stopped (ContentCheck.stopReason). */
export const STOP_END = 0;
export const STOP_CUT = 1;
export const STOP_REFUSED = 2;
export const STOP_FULL = 3;

/** Beyond this, a chunk or buffer (a long carried markup) is left to the scanner rather than copied in. */
const MAX_INPUT = 64 * 1024 * 1024;
/**
 * Beyond this, a buffer of the scanner's own (markup carried over, which only a hostile element grows
 * past a few KB) is left to the scanner: copied in, it would grow the module's memory, which never
 * shrinks, by as much as the element limit.
 */
const MAX_OWN = 1024 * 1024;

const module = () => wasmModule('content-check.wasm');

/** Whether the compiled fast path is there to use (tests insist that it is). */
export function contentCheckAvailable(): boolean {
  return module() !== null;
}

/** What ContentCheck.tapeView() fills in. */
export interface TapeView {
  ints: Int32Array;
  bytes: Buffer;
  at: number;
  length: number;
  /** Add to a byte offset on the tape to index `bytes`. */
  valueBase: number;
  /** Subtract from a byte offset on the tape to index the scanned buffer. */
  shift: number;
}

/** What ContentCheck.span() fills in. */
export interface SpanRecord {
  start: number;
  end: number;
  nameLength: number;
  nameHash: number;
}

/**
 * One scanner's instance, with its own memory. The chunk being written is copied in once (load()),
 * where the illegal-byte search and the parse of every piece cut from it read it; a buffer of the
 * scanner's own (markup carried over and joined to the next piece) is copied in after it.
 */
export class ContentCheck {
  private readonly x: Exports;
  private readonly input: number;
  private view: Buffer;
  /** The memory as int32s (for span()), and where the span records start in it. */
  private ints: Int32Array;
  private readonly spanAt: number;
  /** The loaded chunk (copied to input offset 0), or null. */
  private chunk: Buffer | null = null;
  /** Room kept for chunks: an own buffer goes after it. */
  private chunkRoom = 0;
  /** The own buffer copied in after the chunk room since reset(), or null. */
  private own: Buffer | null = null;
  /** Where the buffer of the last scan() sits in the input (span() gives offsets in that buffer). */ /** The LF bytes the last firstIllegal() passed; the last LF firstIllegal() or lineFeeds() counted. */
  private lastFeed = -1;

  private constructor(x: Exports) {
    this.x = x;
    this.input = x.input();
    this.view = Buffer.from(x.memory.buffer);
    this.ints = new Int32Array(x.memory.buffer);
    this.spanAt = x.spans() >> 2;
  }

  /**
   * A fresh instance, or null when the module is not there. `spans`: record where each accepted
   * top-level element lies and what it is named (span()), for whoever needs those, not whole elements.
   */
  static create(spans = false, tape = false, fields: TapeFields | null = null): ContentCheck | null {
    const spare = ContentCheck.spare.pop();
    if (spare !== undefined) {
      spare.x.reset();
      return spare.setUp(spans, tape, fields);
    }
    const m = module();
    if (m === null) return null;
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(m, {
        env: {
          abort: () => {
            throw new Error('content-check.wasm aborted');
          },
        },
      });
    } catch {
      // No memory for one more instance: this scanner reads every byte itself.
      return null;
    }
    return new ContentCheck(instance.exports as unknown as Exports).setUp(spans, tape, fields);
  }

  private setUp(spans: boolean, tape: boolean, fields: TapeFields | null): ContentCheck {
    this.x.record(spans ? 1 : 0);
    this.x.tape(tape ? 1 : 0);
    this.digesting = false;
    this.chunk = null;
    this.own = null;
    if (fields !== null) this.fields(fields);
    return this;
  }

  /** Instances released for reuse (release()), so that a thread scanning range after range keeps one. */
  private static readonly spare: ContentCheck[] = [];

  /**
   * Hands the instance back for the next create() in this thread to reuse (its memory is then reset):
   * for a caller that is done with the scan and with any TapeDigest of it.
   */
  release(): void {
    this.chunk = null;
    this.own = null;
    if (ContentCheck.spare.length < 2 && !ContentCheck.spare.includes(this)) ContentCheck.spare.push(this);
  }

  /** The module's exports and memory, for TapeDigest. */
  exports(): Exports {
    return this.x;
  }

  memory(): Buffer {
    return this.view;
  }

  /** Turns the digest on (the tape must be on), reading these field ids. */
  digest(fields: DigestFields): TapeDigest {
    this.x.digestOn(
      fields.type,
      fields.value,
      fields.start,
      fields.end,
      fields.creation,
      fields.source,
      fields.device,
      fields.xmlns,
    );
    this.digesting = true;
    return new TapeDigest(this);
  }

  /** Whether the digest is on. */
  digesting = false;

  /** Where the digest entries of the last scan() are, in i32s (ints() indexes them). */
  digestEntries(): number {
    return this.x.digestAt() >> 2;
  }

  /** The digest entries' startDate instants (epoch ms; one per entry, set where its extremes bits are). */
  digestEpochs(): Float64Array {
    if (this.epochs.buffer !== this.x.memory.buffer)
      this.epochs = new Float64Array(this.x.memory.buffer, this.x.digestEpochsAt(), 1 << 14);
    return this.epochs;
  }

  private epochs = new Float64Array(0);

  /** Registers the tape's field names (tape.ts TapeFields) with the module. */
  private fields(fields: TapeFields): void {
    const at = this.x.fieldNames();
    fields.names.forEach((name, id) => {
      const bytes = Buffer.from(name, 'latin1');
      this.view.set(bytes, at + id * 64);
      const flags = (fields.hashed & (1 << id) ? 1 : 0) | (fields.device & (1 << id) ? 2 : 0);
      if (!this.x.field(id, nameHash(name), bytes.length, flags))
        throw new Error(`tape field "${name}" cannot be registered`);
    });
  }

  /** Makes room for `bytes` of input (refreshing the view, which growing the memory detaches). */
  private room(bytes: number): boolean {
    if (bytes <= this.x.capacity()) return true;
    if (!this.x.reserve(bytes)) return false;
    this.view = Buffer.from(this.x.memory.buffer);
    this.ints = new Int32Array(this.x.memory.buffer);
    return true;
  }

  /** Copies in the chunk now being written; false if it is too large (nothing is then loaded). */
  load(chunk: Buffer): boolean {
    this.chunk = null;
    this.own = null;
    if (chunk.length > MAX_INPUT) return false;
    if (chunk.length > this.chunkRoom) {
      if (!this.room(chunk.length)) return false;
      this.chunkRoom = chunk.length;
    }
    this.view.set(chunk, this.input);
    this.chunk = chunk;
    return true;
  }

  /** Forgets the loaded chunk (and any own buffer), once the scanner is done with it. */
  unload(): void {
    this.chunk = null;
    this.own = null;
  }

  /**
   * The first illegal byte (illegal-bytes.ts) in the loaded chunk's [from, to), or -1; the LF bytes
   * before it (or before `to`) in lineFeedsPassed(), the last one's index in lastLineFeed().
   */
  firstIllegal(from: number, to: number): number {
    const i = this.x.illegal(from, to);
    this.feedsPassed = this.x.illegalFeeds();
    this.lastFeed = this.feedsPassed > 0 ? this.x.lastLF() : -1;
    return i;
  }

  private feedsPassed = 0;

  /** The LF bytes the last firstIllegal() passed over. */
  lineFeedsPassed(): number {
    return this.feedsPassed;
  }

  /** Forgets the own buffer copied in: the next scan() of one copies it again. */
  reset(): void {
    this.own = null;
  }

  /**
   * Accepts buf[from, end) up to the first thing to leave to the scanner (see the module) and returns
   * where that is, with the top-level elements accepted in elements(). `buf` is a piece of the loaded
   * chunk, read where it lies, or a buffer of the scanner's own, copied in on its first scan after
   * reset().
   */
  scan(buf: Buffer, from: number, end: number, maxDepth: number, maxItem: number): number {
    const shift = this.place(buf);
    if (shift < 0) {
      this.stop = STOP_REFUSED;
      this.empty = true;
      return from;
    }
    const next = this.x.scan(from + shift, end + shift, maxDepth, maxItem);
    this.spanShift = shift;
    this.stop = this.x.stopReason();
    this.empty = false;
    return next - shift;
  }

  /** Why the last scan() stopped, and whether it could not even look (nothing accepted, no tape). */
  private stop = STOP_END;
  private empty = true;

  private spanShift = 0;

  /**
   * The k-th top-level element the last scan() accepted (k < elements(); recorded only when created
   * with `spans`): its start and end in the scanned buffer, its name's length (the name starts just
   * after the start's '<') and hash (the 31-polynomial of names.ts).
   */
  span(k: number, into: SpanRecord): void {
    const at = this.spanAt + 4 * k;
    const v = this.ints;
    into.start = v[at]! - this.spanShift;
    into.end = v[at + 1]! - this.spanShift;
    into.nameLength = v[at + 2]!;
    into.nameHash = v[at + 3]!;
  }

  /**
   * The number of LF bytes in buf[from, to) (-1 if `buf` cannot be copied in), the last one's index in
   * lastLineFeed().
   */
  lineFeeds(buf: Buffer, from: number, to: number): number {
    const shift = this.place(buf);
    if (shift < 0) return -1;
    const n = this.x.lineFeeds(from + shift, to + shift);
    this.lastFeed = n > 0 ? this.x.lastLF() - shift : -1;
    return n;
  }

  /** The index in its buffer of the last LF the last lineFeeds() or firstIllegal() counted, or -1. */
  lastLineFeed(): number {
    return this.lastFeed;
  }

  /**
   * Where buf[0] sits in the input: in the loaded chunk when `buf` is a piece of it, else after the
   * chunk room, copied there on its first use after reset(); -1 when it does not fit.
   */
  private place(buf: Buffer): number {
    const chunk = this.chunk;
    if (
      chunk !== null &&
      buf.buffer === chunk.buffer &&
      buf.byteOffset >= chunk.byteOffset &&
      buf.byteOffset + buf.length <= chunk.byteOffset + chunk.length
    ) {
      return buf.byteOffset - chunk.byteOffset;
    }
    if (this.own !== buf) {
      if (buf.length > MAX_OWN || !this.room(this.chunkRoom + buf.length)) return -1;
      this.view.set(buf, this.input + this.chunkRoom);
      this.own = buf;
    }
    return this.chunkRoom;
  }

  /** Top-level elements in what the last scan() accepted. */
  elements(): number {
    return this.empty ? 0 : this.x.count();
  }

  /**
   * Why the last scan() stopped: STOP_END (it accepted everything up to `end`), STOP_CUT (an element or
   * reference runs past `end`), STOP_REFUSED (at something for the scanner to read) or STOP_FULL (no
   * room to record one more element: scan again from where it stopped).
   */
  stopReason(): number {
    return this.stop;
  }

  /**
   * The tape of the last scan() (created with `tape`; layout in tape.ts): the wasm memory as int32s
   * and bytes, where the tape starts and how long it is, and what to subtract from an offset on it to
   * get an index into the scanned buffer.
   */
  tapeView(into: TapeView): void {
    into.ints = this.ints;
    into.bytes = this.view;
    into.at = this.x.tapeAt() >> 2;
    into.length = this.empty ? 0 : this.x.tapeLength();
    into.valueBase = this.input;
    into.shift = this.spanShift;
  }
}
