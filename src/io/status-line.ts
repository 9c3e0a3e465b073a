import type { Writable } from 'node:stream';

/** Clears the line the cursor is on and returns to its start. */
const CLEAR_LINE = '\r\u001b[2K';

/**
 * One line of status at the bottom of a terminal, with log lines printed above it: a log line clears
 * the status, is printed whole, and the status is drawn again under it. The status never grows past the
 * terminal's width (a wrapped line cannot be cleared with one escape, which is how bar text is left
 * behind) and is redrawn at most every `intervalMs`; the latest text is drawn when the interval ends.
 * Only for a stream that is a terminal (progress mode `draw`).
 */
export class StatusLine {
  private shown = '';
  private latest = '';
  private lastDrawAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: Writable,
    private readonly columns: number,
    private readonly now: () => number,
    private readonly intervalMs = 100,
  ) {}

  /** The status to show; drawn now or when the redraw interval ends. */
  set(text: string): void {
    this.latest = fit(text, this.columns);
    if (this.now() - this.lastDrawAt >= this.intervalMs) this.draw();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.draw();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  /** Prints a line above the status (the status stays). */
  log(line: string): void {
    this.stream.write(`${this.shown ? CLEAR_LINE : ''}${line}\n`);
    this.shown = '';
    if (this.latest) this.draw();
  }

  /** Runs `print` (which writes whole lines to the stream) with the status out of its way. */
  around(print: () => void): void {
    const had = this.latest;
    this.clear();
    print();
    // Drawn again at once, not at the next interval: until then the screen would show no status at all.
    if (had) {
      this.latest = had;
      this.draw();
    }
  }

  /** Removes the status: nothing of it is left on the screen. */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.shown) this.stream.write(CLEAR_LINE);
    this.shown = '';
    this.latest = '';
  }

  private draw(): void {
    this.lastDrawAt = this.now();
    if (this.latest === this.shown) return;
    this.stream.write(`${CLEAR_LINE}${this.latest}`);
    this.shown = this.latest;
  }
}

/** Cut to one cell less than the width (writing the last cell makes some terminals wrap at once). */
export function fit(text: string, columns: number): string {
  const chars = [...text];
  const room = Math.max(1, columns - 1);
  return chars.length <= room ? text : `${chars.slice(0, room - 1).join('')}…`;
}

/** A field of a status line and its rank: when the line is too wide, the lowest rank is given up first. */
export type StatusField = [text: string, rank: number];

/**
 * `Label ████░░░░ 42% · field · field`: the bar (10 cells, 20 from 120 columns) and the fields that are
 * not empty, the lowest ranked left out until the line fits in `columns`.
 */
export function barText(label: string, fraction: number, fields: StatusField[], columns: number): string {
  const width = columns >= 120 ? 20 : 10;
  const cells = Math.round(fraction * width);
  const bar: StatusField = [
    `${label} ${'█'.repeat(cells)}${'░'.repeat(width - cells)} ${Math.floor(fraction * 100)}%`,
    Number.POSITIVE_INFINITY,
  ];
  let shown = [bar, ...fields.filter(([text]) => text !== '')];
  const text = () => shown.map(([t]) => t).join(' · ');
  while (shown.length > 1 && [...text()].length >= columns) {
    const least = Math.min(...shown.map(([, rank]) => rank));
    shown = shown.filter(([, rank]) => rank !== least);
  }
  return text();
}
