/**
 * Cuts SDK items into sync batches bounded in bytes and in items. The backend holds a whole batch in
 * memory, re-serialises it as the Celery argument into Redis (contract §6.1), and validates it in one
 * worker; nothing in its code limits a batch, so the bounds are ours (README "Choosing a method").
 */
import { createHash } from 'node:crypto';
import type { Collection } from './convert.js';
import type { BatchPrediction } from './predict.js';

/** ≤ 5 MB of JSON per batch (contract §9.7), under the 10 MB above which the backend archives a copy. */
export const DEFAULT_SDK_BATCH_BYTES = 4 * 1024 * 1024;
export const MAX_SDK_BATCH_BYTES = 10 * 1024 * 1024;
/** 5–10k items per batch (contract §9.7). */
export const DEFAULT_SDK_BATCH_RECORDS = 10_000;
export const MAX_SDK_BATCH_RECORDS = 50_000;

/** The run's envelope fields, the same in every batch (one historical sync session, current page §2.5). */
export interface Envelope {
  sdkVersion: string;
  syncTimestamp: string;
  syncSessionId: string;
}

export interface SdkBatch {
  /** 1-based, in file order; the same on a re-run with the same settings. */
  seq: number;
  body: Buffer;
  /** Items (records + sleep + workouts). */
  records: number;
  byCollection: Record<Collection, number>;
  /**
   * sha256 of `data` alone: the envelope changes from run to run (syncTimestamp), the samples do not,
   * so a re-run skips a batch whose samples an earlier run had accepted.
   */
  sha256: string;
  /** With --wait: what the backend is expected to store of it (predict.ts). */
  predicted?: BatchPrediction;
}

/** The envelope head without `data`; the rest is `…,"data":{…}}`. */
export function envelopeHead(e: Envelope): string {
  return (
    `{"provider":"apple","sdkVersion":${JSON.stringify(e.sdkVersion)},` +
    `"syncTimestamp":${JSON.stringify(e.syncTimestamp)},"syncType":"historical",` +
    `"syncSessionId":${JSON.stringify(e.syncSessionId)},"data":`
  );
}

const COLLECTIONS: Collection[] = ['records', 'sleep', 'workouts'];
/** `{"records":[],"sleep":[],"workouts":[]}` and the closing brace of the envelope. */
const DATA_FRAME = '{"records":[],"sleep":[],"workouts":[]}}'.length;

/**
 * One collection's items as UTF-8, comma-separated, written straight into memory reused from batch to
 * batch: holding a batch as strings costs several times its size in the JS heap (two-byte strings for
 * any non-Latin-1 source name, the joined copy), which is most of what the process would hold.
 */
class ItemBytes {
  private buf: Buffer;
  length = 0;
  count = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  /** Appends `,`+json (no comma before the first); the bytes it took. */
  append(json: string): number {
    const need = json.length * 3 + 1;
    if (this.length + need > this.buf.length) this.grow(this.length + Buffer.byteLength(json) + 1);
    const from = this.length;
    if (this.count > 0) this.buf[this.length++] = 0x2c;
    this.length += this.buf.write(json, this.length, 'utf8');
    this.count++;
    return this.length - from;
  }

  get bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
    this.count = 0;
  }

  private grow(min: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(min, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

export class SdkBatcher {
  private readonly lists: Record<Collection, ItemBytes>;
  private count = 0;
  private seq = 0;
  private readonly head: Buffer;
  private readonly headBytes: number;

  constructor(
    private readonly limits: { maxBytes: number; maxRecords: number },
    head: string,
    private readonly onBatch: (b: SdkBatch) => void,
  ) {
    this.head = Buffer.from(head);
    this.headBytes = this.head.length + DATA_FRAME;
    this.lists = {
      records: new ItemBytes(limits.maxBytes),
      sleep: new ItemBytes(64 * 1024),
      workouts: new ItemBytes(64 * 1024),
    };
  }

  private get bytes(): number {
    return this.lists.records.length + this.lists.sleep.length + this.lists.workouts.length;
  }

  add(item: { collection: Collection; json: string }): void {
    const list = this.lists[item.collection];
    const before = list.length;
    list.append(item.json);
    // The comma counted too, so the bound holds whichever list the item went to.
    const size = list.length - before + (list.count === 1 ? 1 : 0);
    if (this.headBytes + size > this.limits.maxBytes) {
      throw new Error(`one sample (${size} bytes) does not fit in a batch of ${this.limits.maxBytes} bytes`);
    }
    if (
      this.count > 0 &&
      (this.headBytes + this.bytes > this.limits.maxBytes || this.count >= this.limits.maxRecords)
    ) {
      // It does not fit: the batch goes out without it, and it starts the next one.
      list.length = before;
      list.count--;
      this.flush();
      list.append(item.json);
    }
    this.count++;
  }

  flush(): void {
    if (this.count === 0) return;
    const parts: Buffer[] = [this.head];
    let first = true;
    for (const c of COLLECTIONS) {
      parts.push(Buffer.from(`${first ? '{' : ','}"${c}":[`), this.lists[c].bytes, CLOSE_LIST);
      first = false;
    }
    parts.push(CLOSE_DATA);
    const body = Buffer.concat(parts);
    const byCollection = {
      records: this.lists.records.count,
      sleep: this.lists.sleep.count,
      workouts: this.lists.workouts.count,
    };
    this.onBatch({
      seq: ++this.seq,
      body,
      records: this.count,
      byCollection,
      // `data` runs from just after the head to before the envelope's closing brace.
      sha256: createHash('sha256')
        .update(body.subarray(this.head.length, body.length - 1))
        .digest('hex'),
    });
    for (const c of COLLECTIONS) this.lists[c].clear();
    this.count = 0;
  }
}

const CLOSE_LIST = Buffer.from(']');
const CLOSE_DATA = Buffer.from('}}');
