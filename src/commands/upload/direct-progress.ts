import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';
import { StatusLine } from '../../io/status-line.js';
import { grouped } from '../../io/text.js';
import type { UploadTally } from './tally.js';

/** The bar's cells: narrower on a narrow terminal. */
const barCells = (columns: number) => (columns >= 120 ? 20 : 10);

/**
 * `upload --method direct` on a terminal: one status line for the whole upload (bytes read, batches sent
 * n of N, records, speed, ETA), the step under way before it starts, and every message printed above it.
 * N is known only when the export has been read: until then it is estimated from the bytes read so far.
 */
export class DirectProgress {
  private readonly line: StatusLine;
  private label: string;
  private startedAt: number | undefined;
  private step: string | null = null;

  constructor(
    private readonly f: Factory,
    private readonly tally: UploadTally,
    dryRun: boolean,
  ) {
    this.line = new StatusLine(f.io.stderr, f.io.columns, () => f.clock.now());
    this.label = dryRun ? 'Planning' : 'Uploading';
  }

  /** Draws the tally again (after an event changed it); the clock starts with the first byte read. */
  update(): void {
    if (this.tally.bytes > 0) this.startedAt ??= this.f.clock.now();
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
    if (this.step && this.startedAt === undefined) {
      this.line.set(this.step);
      return;
    }
    if (this.startedAt === undefined) return;
    const t = this.tally;
    const fraction = t.total > 0 ? Math.min(1, t.bytes / t.total) : 0;
    const width = barCells(this.f.io.columns);
    const cells = Math.round(fraction * width);
    const seconds = (this.f.clock.now() - this.startedAt) / 1000;
    const speed = seconds > 0 ? `${formatBytes(t.bytes / seconds)}/s` : '';
    const eta =
      seconds > 0 && fraction > 0 && fraction < 1
        ? `ETA ${duration((seconds * (1 - fraction)) / fraction)}`
        : '';
    // Each part with the order it is given up in when the terminal is too narrow (speed first).
    const parts: [string, number][] = [
      [`${this.label} ${'█'.repeat(cells)}${'░'.repeat(width - cells)} ${Math.floor(fraction * 100)}%`, 9],
      [`${formatBytes(t.bytes)} of ${formatBytes(t.total)}`, 2],
      [t.batchesStarted > 0 ? `batch ${t.batchesDone}/${t.batchesOf()} sent` : '', 8],
      [`${grouped(t.records)} records`, 7],
      [speed, 1],
      [eta, 3],
    ];
    let shown = parts.filter(([text]) => text !== '');
    const text = () => shown.map(([t]) => t).join(' · ');
    while (shown.length > 1 && [...text()].length >= this.f.io.columns) {
      const least = Math.min(...shown.map(([, rank]) => rank));
      shown = shown.filter(([, rank]) => rank !== least);
    }
    this.line.set(text());
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
