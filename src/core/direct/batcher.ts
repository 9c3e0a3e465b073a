import { DOCUMENT_FOOTER } from './serialize.js';

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
 * Groups serialized samples into complete documents as they arrive, holding only the open batch.
 * `header` is asked for lazily, when the first batch starts, because ExportDate is read from the stream.
 */
export class XmlBatcher {
  private parts: string[] = [];
  private bytes = 0;
  private records = 0;
  private byType: Record<string, number> = {};
  private seq = 0;
  private header: string | null = null;
  private readonly footerBytes = Buffer.byteLength(DOCUMENT_FOOTER);

  constructor(
    private readonly limits: BatchLimits,
    private readonly headerFor: () => string,
    private readonly onBatch: (b: Batch) => void,
  ) {}

  add(xml: string, type: string): void {
    if (this.header === null) this.header = this.headerFor();
    const size = Buffer.byteLength(xml);
    const base = Buffer.byteLength(this.header) + this.footerBytes;
    if (base + size > this.limits.maxBytes) {
      throw new Error(`one sample (${size} bytes) does not fit in a batch of ${this.limits.maxBytes} bytes`);
    }
    if (
      this.records > 0 &&
      (this.bytes + size + base > this.limits.maxBytes || this.records >= this.limits.maxRecords)
    ) {
      this.flush();
    }
    this.parts.push(xml);
    this.bytes += size;
    this.records++;
    this.byType[type] = (this.byType[type] ?? 0) + 1;
  }

  /** Emits the open batch, if any. */
  flush(): void {
    if (this.records === 0 || this.header === null) return;
    const body = Buffer.from(this.header + this.parts.join('') + DOCUMENT_FOOTER, 'utf8');
    this.onBatch({ seq: ++this.seq, body, records: this.records, byType: this.byType });
    this.parts = [];
    this.bytes = 0;
    this.records = 0;
    this.byType = {};
  }

  get batchesEmitted(): number {
    return this.seq;
  }
}
