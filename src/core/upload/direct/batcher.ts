import type { NormalizedSample } from './normalize.js';
import { DOCUMENT_FOOTER } from './serialize.js';
import type { PieceSink, SourceWindow } from './source-window.js';

/** The backend commits in chunks of 50 000 items (contract §5.8 `XML_CHUNK_SIZE`). */
export const DEFAULT_BATCH_RECORDS = 50_000;
export const DEFAULT_BATCH_BYTES = 8 * 1024 * 1024;
/** Docs and frontend keep direct uploads ≤ 10 MB (contract §3.3, §9.7). */
export const MAX_BATCH_BYTES = 10 * 1024 * 1024;

export interface Batch {
  /** 1-based, in file order; identical on a re-run with the same settings (resume depends on it). */
  seq: number;
  body: Buffer;
  /** Samples in the batch (Records + Workouts). */
  records: number;
  byType: Record<string, number>;
}

export interface BatchLimits {
  maxBytes: number;
  maxRecords: number;
}

/**
 * Reuses batch bodies. Writing a body into fresh memory costs a page fault every 4 KiB, as much again as
 * the copy; a few bodies of the largest batch size serve a whole run (one being built, one queued, one
 * being sent, one being hashed). The memory is shared so the hashing worker reads bodies in place.
 */
export class BodyPool {
  private readonly free: SharedArrayBuffer[] = [];
  private created = 0;

  /** At most `keep` shared bodies ever exist (the hashing worker holds on to each it has seen). */
  constructor(
    private readonly capacity: number,
    private readonly keep = 3,
  ) {}

  /** A body of `length` bytes, contents undefined. */
  take(length: number): Buffer {
    let memory = length <= this.capacity ? this.free.pop() : undefined;
    if (memory === undefined && length <= this.capacity && this.created < this.keep) {
      memory = new SharedArrayBuffer(this.capacity);
      this.created++;
    }
    return memory === undefined ? Buffer.allocUnsafeSlow(length) : Buffer.from(memory, 0, length);
  }

  /** Hands back a body from take() that nothing reads any more. */
  give(body: Buffer): void {
    const memory = body.buffer;
    if (
      memory instanceof SharedArrayBuffer &&
      memory.byteLength === this.capacity &&
      !this.free.includes(memory)
    ) {
      this.free.push(memory);
    }
  }
}

const INDENT = Buffer.from(' ');
const NEWLINE = Buffer.from('\n');
const CLOSE = Buffer.from('/>\n');
const FOOTER = Buffer.from(DOCUMENT_FOOTER);

/**
 * Groups samples into complete documents as they arrive, holding only the open batch. The open batch is
 * a list of byte ranges, mostly of the source chunks themselves (consecutive copied Records make one
 * range), joined into one body when the batch is complete.
 * `header` is asked for lazily, when the first batch starts, because ExportDate is read from the stream.
 */
export class XmlBatcher implements PieceSink {
  // The open batch's ranges: the first `ranges` entries. The arrays are kept from batch to batch, since a
  // batch of Records with children takes 100 000s of ranges: new arrays each batch would be large objects,
  // left for a full collection to free.
  private readonly bufs: Buffer[] = [];
  private readonly froms: number[] = [];
  private readonly tos: number[] = [];
  private ranges = 0;
  private bytes = 0;
  private records = 0;
  private byType: Record<string, number> = {};
  private seq = 0;
  private header: Buffer | null = null;

  constructor(
    private readonly limits: BatchLimits,
    private readonly headerFor: () => string,
    private readonly onBatch: (b: Batch) => void,
    private readonly window: SourceWindow | null = null,
    private readonly pool: BodyPool | null = null,
  ) {}

  /** Adds one sample: its serialized text, or (sample.xml null) its start tag copied from the source. */
  add(s: NormalizedSample): void {
    if (s.xml === null) {
      this.addCopy(s.type, s.tagStart, s.tagEnd, s.selfClosing, s.end);
      return;
    }
    const text = Buffer.from(s.xml, 'utf8');
    this.addBytes(s.type, text, 0, text.length);
  }

  /** Adds a sample written out as buf[from, to) (which must not change until the batch is emitted). */
  addBytes(type: string, buf: Buffer, from: number, to: number): void {
    this.begin(to - from, type);
    this.piece(buf, from, to);
  }

  /**
   * Adds a Record whose start tag, without its terminator, is source bytes [tagStart, tagEnd): what
   * serializeElement writes, ' ' + tag + '/>\n', usually with the same bytes around it in the source.
   */
  addCopy(type: string, tagStart: number, tagEnd: number, selfClosing: boolean, end: number): void {
    const window = this.window;
    if (window === null) throw new Error('a copied sample needs the source window');
    this.begin(tagEnd - tagStart + 4, type);
    let from = tagStart;
    if (window.byteAt(from - 1) === 0x20) from--;
    else this.piece(INDENT, 0, 1);
    if (!selfClosing) {
      window.pieces(from, tagEnd, this);
      this.piece(CLOSE, 0, 3);
    } else if (window.byteAt(end) === 0x0a) {
      window.pieces(from, end + 1, this);
    } else {
      window.pieces(from, end, this);
      this.piece(NEWLINE, 0, 1);
    }
  }

  /** Accounts for a sample of `size` bytes, first emitting the open batch if the sample would not fit. */
  private begin(size: number, type: string): void {
    if (this.header === null) this.header = Buffer.from(this.headerFor(), 'utf8');
    const base = this.header.length + FOOTER.length;
    if (base + size > this.limits.maxBytes) {
      throw new Error(`one sample (${size} bytes) does not fit in a batch of ${this.limits.maxBytes} bytes`);
    }
    if (
      this.records > 0 &&
      (this.bytes + size + base > this.limits.maxBytes || this.records >= this.limits.maxRecords)
    ) {
      this.flush();
    }
    this.bytes += size;
    this.records++;
    this.byType[type] = (this.byType[type] ?? 0) + 1;
  }

  /** Appends buf[from, to), extending the previous range when it continues it. */
  piece(buf: Buffer, from: number, to: number): void {
    const last = this.ranges - 1;
    if (last >= 0 && this.bufs[last] === buf && this.tos[last] === from) {
      this.tos[last] = to;
      return;
    }
    this.bufs[this.ranges] = buf;
    this.froms[this.ranges] = from;
    this.tos[this.ranges] = to;
    this.ranges++;
  }

  /** Emits the open batch, if any. */
  flush(): void {
    if (this.records === 0 || this.header === null) return;
    const header = this.header;
    const length = header.length + this.bytes + FOOTER.length;
    const body = this.pool === null ? Buffer.allocUnsafeSlow(length) : this.pool.take(length);
    let at = header.copy(body, 0);
    for (let k = 0; k < this.ranges; k++) {
      const buf = this.bufs[k]!;
      const from = this.froms[k]!;
      const to = this.tos[k]!;
      // A native call costs more than a few byte stores (every Record with children ends in '/>\n').
      if (to - from <= 16) for (let i = from; i < to; i++) body[at++] = buf[i]!;
      else at += buf.copy(body, at, from, to);
    }
    at += FOOTER.copy(body, at);
    // Every piece is in the body now: the source chunks they came from may be read into again.
    this.window?.unpin();
    if (at !== body.length)
      throw new Error(`batch ${this.seq + 1}: ${at} bytes written, ${body.length} counted`);
    this.onBatch({ seq: ++this.seq, body, records: this.records, byType: this.byType });
    // The source chunks may be reused or freed: no range refers to them any more.
    this.bufs.fill(FOOTER, 0, this.ranges);
    this.ranges = 0;
    this.bytes = 0;
    this.records = 0;
    this.byType = {};
  }

  get batchesEmitted(): number {
    return this.seq;
  }
}
