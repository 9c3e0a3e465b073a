/**
 * Cuts SDK items into sync batches bounded in bytes and in items. The backend holds a whole batch in
 * memory, re-serialises it as the Celery argument into Redis (contract §6.1), and validates it in one
 * worker; nothing in its code limits a batch, so the bounds are ours (README "Choosing a method").
 */
import { createHash } from 'node:crypto';
import type { Collection, SdkItem } from './convert.js';

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

export class SdkBatcher {
  private lists: Record<Collection, string[]> = { records: [], sleep: [], workouts: [] };
  private bytes = 0;
  private count = 0;
  private seq = 0;
  private readonly headBytes: number;

  constructor(
    private readonly limits: { maxBytes: number; maxRecords: number },
    private readonly head: string,
    private readonly onBatch: (b: SdkBatch) => void,
  ) {
    this.headBytes = Buffer.byteLength(head) + DATA_FRAME;
  }

  add(item: SdkItem): void {
    const size = Buffer.byteLength(item.json) + 1;
    if (this.headBytes + size > this.limits.maxBytes) {
      throw new Error(`one sample (${size} bytes) does not fit in a batch of ${this.limits.maxBytes} bytes`);
    }
    if (
      this.count > 0 &&
      (this.headBytes + this.bytes + size > this.limits.maxBytes || this.count >= this.limits.maxRecords)
    )
      this.flush();
    this.lists[item.collection].push(item.json);
    this.bytes += size;
    this.count++;
  }

  flush(): void {
    if (this.count === 0) return;
    const data = `{${COLLECTIONS.map((c) => `"${c}":[${this.lists[c].join(',')}]`).join(',')}}`;
    const body = Buffer.from(`${this.head}${data}}`);
    const byCollection = {
      records: this.lists.records.length,
      sleep: this.lists.sleep.length,
      workouts: this.lists.workouts.length,
    };
    this.onBatch({
      seq: ++this.seq,
      body,
      records: this.count,
      byCollection,
      sha256: createHash('sha256')
        .update(body.subarray(body.length - Buffer.byteLength(data) - 1))
        .digest('hex'),
    });
    this.lists = { records: [], sleep: [], workouts: [] };
    this.bytes = 0;
    this.count = 0;
  }
}
