import type { Writable } from 'node:stream';
import type { GeneratorTruth } from './types.js';

/** Facts about one top-level element, so the truth is counted only for what is completely written. */
export interface ElementMeta {
  name: string;
  type?: string;
  start?: string;
  startUtc?: number;
  workoutType?: string;
  /** Descendant element counts as [name, count] pairs. */
  nested?: [string, number][];
  controlChars?: number;
  /** This element is an extra byte-identical copy of the previous one. */
  duplicate?: boolean;
  /** A top-level Record that a Correlation repeats as a child: the pairing key. */
  copyKey?: string;
  /** A Correlation: the pairing keys of its children. */
  childKeys?: string[];
}

export type Sink = Writable | ((chunk: string) => void);

const FLUSH_AT = 1 << 20;

function bump(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

/** Buffers text into ~1 MiB chunks, counts bytes and the truth, applies truncation and reformatting. */
export class Emitter {
  bytes = 0;
  done = false;
  private buf: string[] = [];
  private bufChars = 0;
  private firstUtc = Number.POSITIVE_INFINITY;
  private lastUtc = Number.NEGATIVE_INFINITY;
  private readonly topCopies = new Set<string>();
  private readonly pendingChildren = new Set<string>();

  constructor(
    private readonly sink: Sink | undefined,
    readonly truth: GeneratorTruth,
    private readonly truncateAt: number | undefined,
    private readonly reformat: boolean,
  ) {}

  /** Text outside elements (prolog, root tags). */
  raw(text: string): void {
    this.append(text);
  }

  add(xml: string, meta: ElementMeta): void {
    if (this.done) return;
    if (this.reformat) xml = xml.replace(/ ([A-Za-z][A-Za-z0-9]*)="/g, '\n   $1="');
    if (!this.append(xml)) return;
    const t = this.truth;
    bump(t.elements, meta.name);
    if (meta.nested) for (const [n, c] of meta.nested) if (c > 0) bump(t.nestedElements, n, c);
    if (meta.controlChars) t.controlChars += meta.controlChars;
    if (meta.duplicate) t.exactDuplicates++;
    if (meta.type !== undefined && meta.name === 'Record') bump(t.recordTypes, meta.type);
    if (meta.workoutType !== undefined) bump(t.workoutTypes, meta.workoutType);
    if (meta.start !== undefined && meta.startUtc !== undefined) {
      if (meta.name === 'Record') bump(t.recordsPerMonth, meta.start.slice(0, 7));
      if (meta.startUtc < this.firstUtc) {
        this.firstUtc = meta.startUtc;
        t.firstStartDate = meta.start;
      }
      if (meta.startUtc > this.lastUtc) {
        this.lastUtc = meta.startUtc;
        t.lastStartDate = meta.start;
      }
    }
    if (meta.copyKey !== undefined) {
      if (this.pendingChildren.delete(meta.copyKey)) t.correlationCopies++;
      else this.topCopies.add(meta.copyKey);
    }
    if (meta.childKeys) {
      t.correlations++;
      for (const k of meta.childKeys) {
        if (this.topCopies.delete(k)) t.correlationCopies++;
        else this.pendingChildren.add(k);
      }
    }
  }

  /** Appends text; false when truncation cut it (then nothing more is written). */
  private append(text: string): boolean {
    if (this.done) return false;
    const n = Buffer.byteLength(text);
    if (this.truncateAt !== undefined && this.bytes + n > this.truncateAt) {
      const keep = this.truncateAt - this.bytes;
      this.pushText(Buffer.from(text).subarray(0, keep).toString('latin1'), true);
      this.bytes += keep;
      this.done = true;
      this.truth.truncated = true;
      return false;
    }
    this.bytes += n;
    this.pushText(text, false);
    return true;
  }

  // A cut may split a UTF-8 sequence, so the last piece is kept as raw bytes (latin1 round-trips them).
  private partialTail: Buffer | undefined;
  private pushText(text: string, rawBytes: boolean): void {
    if (rawBytes) {
      this.partialTail = Buffer.from(text, 'latin1');
      return;
    }
    this.buf.push(text);
    this.bufChars += text.length;
  }

  get wantsFlush(): boolean {
    return this.bufChars >= FLUSH_AT || this.partialTail !== undefined;
  }

  async flush(): Promise<void> {
    if (this.buf.length > 0) {
      const chunk = this.buf.join('');
      this.buf = [];
      this.bufChars = 0;
      await this.write(chunk);
    }
    if (this.partialTail !== undefined) {
      const tail = this.partialTail;
      this.partialTail = undefined;
      await this.write(tail);
    }
  }

  private async write(chunk: string | Buffer): Promise<void> {
    const sink = this.sink;
    if (sink === undefined) return;
    if (typeof sink === 'function') {
      // A string sink cannot carry a split UTF-8 sequence; the cut tail decodes with a replacement char.
      sink(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      return;
    }
    if (!sink.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          sink.off('error', onError);
          resolve();
        };
        const onError = (err: Error) => {
          sink.off('drain', onDrain);
          reject(err);
        };
        sink.once('drain', onDrain);
        sink.once('error', onError);
      });
    }
  }
}
