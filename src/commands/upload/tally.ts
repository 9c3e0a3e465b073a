import type { UploadEvent, UploadOptions } from '../../core/upload/types.js';
import { count, noun } from '../../io/text.js';

/**
 * What an upload has done so far, counted from its events: for the status line, the first Ctrl-C's line
 * and the line an interruption ends with.
 */
export class UploadTally {
  bytes = 0;
  total = 0;
  batchesStarted = 0;
  batchesDone = 0;
  records = 0;
  partsStored = 0;
  partsOf = 0;
  /** The check pass before sending (bytes of the export checked so far). */
  checkBytes = 0;
  checkTotal = 0;
  /** s3: parts begun by this run; bytes the transport has taken; a multipart object's size (0: POST). */
  partsStarted = 0;
  sentBytes = 0;
  sendTotal = 0;
  /** A presigned POST's parts: bytes of those stored by this run, and of the one going out. */
  private storedBytes = 0;
  private part = { sent: 0, bytes: 0 };
  /** Bytes read when the latest batch started: batches per byte, for the estimate of their number. */
  private readAtLastStart = 0;

  note(e: UploadEvent): void {
    if (e.type === 'progress' && e.pass === 'check') {
      this.checkBytes = e.bytes;
      this.checkTotal = e.total;
    } else if (e.type === 'transfer') {
      this.sentBytes = e.sentBytes;
      this.sendTotal = e.total;
    } else if (e.type === 'sending' && e.unit === 'part') {
      this.part = { sent: e.sentBytes, bytes: e.bytes };
      if (this.sendTotal === 0) this.sentBytes = this.storedBytes + e.sentBytes;
    } else if (e.type === 'progress' && e.pass === 'read') {
      this.bytes = e.bytes;
      this.total = e.total;
    } else if (e.type === 'started' && e.unit === 'batch' && e.index > this.batchesStarted) {
      this.batchesStarted = e.index;
      this.readAtLastStart = this.bytes;
    } else if (e.type === 'started' && e.unit === 'part') {
      this.partsStarted++;
      this.part = { sent: 0, bytes: e.bytes };
      if (e.of !== null) this.partsOf = e.of;
    } else if (e.type === 'done' && e.unit === 'batch' && e.batch.state !== 'failed') {
      this.batchesDone++;
      this.records += e.batch.records;
    } else if (e.type === 'done' && e.unit === 'part') {
      this.partsStored++;
      this.partsOf = e.of;
      this.storedBytes += e.part.bytes;
      this.part = { sent: 0, bytes: 0 };
      if (this.sendTotal === 0) this.sentBytes = this.storedBytes;
    } else if (e.type === 'resume' && e.unit === 'part') {
      this.partsStored = e.done;
      if (e.total !== null) this.partsOf = e.total;
    } else if (e.type === 'plan' && e.plan.method === 's3') this.partsOf = e.plan.parts;
  }

  /** How far a presigned POST's parts are: those stored, and the share of the one going out. */
  partsFraction(): number {
    if (this.partsOf === 0) return 0;
    const current = this.part.bytes > 0 ? this.part.sent / this.part.bytes : 0;
    return Math.min(1, (this.partsStored + current) / this.partsOf);
  }

  /** How many batches the export makes: exact once it is read, else in proportion to the bytes read. */
  batchesOf(): string {
    const read = this.total > 0 && this.bytes >= this.total;
    if (read || this.batchesStarted === 0 || this.readAtLastStart === 0) return `${this.batchesStarted}`;
    const estimate = Math.max(
      this.batchesStarted,
      Math.round((this.batchesStarted * this.total) / this.readAtLastStart),
    );
    return `~${estimate}`;
  }

  /** What was done, for the line an interruption ends with. */
  describe(o: UploadOptions): string {
    if (o.dryRun) return 'nothing was sent (dry run)';
    if (o.method === 's3')
      return `${this.partsStored} of ${this.partsOf || '?'} ${noun(this.partsOf, 'part')} stored`;
    const batches = this.batchesStarted > 0 ? this.batchesOf() : '?';
    return `${this.batchesDone} of ${batches} ${noun(this.batchesDone, 'batch', 'batches')} sent (${count(this.records, 'record')})`;
  }

  /** The first Ctrl-C's line; `drainMs` when a batch sent in full awaits its answer. */
  stopping(o: UploadOptions, drainMs: number | undefined): string {
    if (o.method === 's3')
      return 'Stopping: the part being sent is abandoned; the parts stored so far are kept';
    if (this.batchesStarted === 0) return 'Stopping; Ctrl-C again to stop now';
    const wait = drainMs !== undefined ? ` (up to ${Math.round(drainMs / 1000)} s)` : '';
    return `Stopping after batch ${this.batchesStarted} of ${this.batchesOf()}${wait}; Ctrl-C again to stop now`;
  }
}
