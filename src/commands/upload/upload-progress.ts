import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';
import { barText, type StatusField, StatusLine } from '../../io/status-line.js';
import { grouped } from '../../io/text.js';
import type { UploadTally } from './tally.js';

/**
 * An upload on a terminal (direct and s3): one status line for the whole upload, the step under way
 * before it starts, and every message printed above it.
 * - direct: bytes read, batches sent n of N, records, speed, ETA. N is known only when the export has
 *   been read: until then it is estimated from the bytes read so far.
 * - s3: the check of the export first (bytes checked), then bytes sent, parts stored n of N, speed, ETA:
 *   a multipart object's parts share one line, as a presigned POST's parts do.
 */
export class UploadProgress {
  private readonly line: StatusLine;
  private step: string | null = null;
  /** The phase drawn, since when, and how far along it was then (its speed and ETA count from there). */
  private phase: { label: string; at: number; bytes: number; fraction: number } | null = null;

  constructor(
    private readonly f: Factory,
    private readonly tally: UploadTally,
    private readonly method: 'direct' | 's3',
    private readonly dryRun: boolean,
  ) {
    this.line = new StatusLine(f.io.stderr, f.io.columns, () => f.clock.now());
  }

  /** Draws the tally again (after an event changed it). */
  update(): void {
    this.draw();
  }

  /** A step that waits on the server (null: it is over). */
  waiting(text: string | null): void {
    this.step = text;
    this.draw();
  }

  /** Prints messages above the status line. */
  around(print: () => void): void {
    this.line.around(print);
  }

  clear(): void {
    this.line.clear();
  }

  private draw(): void {
    const bar = this.method === 'direct' ? this.directBar() : this.s3Bar();
    if (bar) this.line.set(bar);
    // Before anything is read: the step under way, if one is.
    else if (this.step) this.line.set(this.step);
  }

  private directBar(): string | null {
    const t = this.tally;
    if (t.bytes === 0) return this.checkBar();
    const fraction = t.total > 0 ? Math.min(1, t.bytes / t.total) : 0;
    return this.compose(this.dryRun ? 'Planning' : 'Uploading', t.bytes, fraction, [
      [`${formatBytes(t.bytes)} of ${formatBytes(t.total)}`, 2],
      [t.batchesStarted > 0 ? `batch ${t.batchesDone}/${t.batchesOf()} sent` : '', 8],
      [`${grouped(t.records)} records`, 7],
    ]);
  }

  private s3Bar(): string | null {
    const t = this.tally;
    if (t.partsStarted === 0) return this.checkBar();
    const sent = t.sendTotal > 0 ? t.sentBytes / t.sendTotal : t.partsFraction();
    // Every byte handed over is not every part stored: 100 % waits for S3's last answer.
    const fraction = t.partsOf > 0 && t.partsStored < t.partsOf ? Math.min(sent, 0.99) : sent;
    const bytes =
      t.sendTotal > 0
        ? `${formatBytes(t.sentBytes)} of ${formatBytes(t.sendTotal)}`
        : `${formatBytes(t.sentBytes)} sent`;
    return this.compose('Uploading', t.sentBytes, Math.min(1, fraction), [
      [bytes, 2],
      [t.partsOf > 0 ? `parts ${t.partsStored}/${t.partsOf}` : '', 8],
    ]);
  }

  /** The check before anything is sent (both methods check the whole export first). */
  private checkBar(): string | null {
    const t = this.tally;
    if (t.checkBytes === 0 || t.checkTotal === 0) return null;
    return this.compose('Checking', t.checkBytes, Math.min(1, t.checkBytes / t.checkTotal), [
      [`${formatBytes(t.checkBytes)} of ${formatBytes(t.checkTotal)}`, 2],
    ]);
  }

  /** The bar with the phase's speed and ETA, cut to the terminal's width. */
  private compose(label: string, bytes: number, fraction: number, fields: StatusField[]): string {
    const now = this.f.clock.now();
    // A new phase, or the same one begun again (the check's second pass): speed and ETA start afresh.
    if (this.phase?.label !== label || bytes < this.phase.bytes)
      this.phase = { label, at: now, bytes, fraction };
    const p = this.phase;
    const seconds = (now - p.at) / 1000;
    const speed = seconds > 0 && bytes > p.bytes ? `${formatBytes((bytes - p.bytes) / seconds)}/s` : '';
    const gained = fraction - p.fraction;
    const eta =
      seconds > 0 && gained > 0 && fraction < 1 ? `ETA ${duration((seconds * (1 - fraction)) / gained)}` : '';
    return barText(label, fraction, [...fields, [speed, 1], [eta, 3]], this.f.io.columns);
  }
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
