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
}

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
    const x = instance.exports as unknown as Exports;
    x.record(spans ? 1 : 0);
    x.tape(tape ? 1 : 0);
    const check = new ContentCheck(x);
    if (fields !== null) check.fields(fields);
    return check;
  }

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
