import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { baseIo } from '../../src/factory.js';
import { type Io, refineIo } from '../../src/io/io.js';
import { createByteProgress } from '../../src/io/progress.js';
import { createSpinner } from '../../src/io/spinner.js';

const BUDGET = 64 * 1024;

/**
 * A terminal stderr with the cursor methods ora calls. It throws past a byte budget because a spinner that
 * miscounts its lines clears them in a synchronous loop: without the throw the test would never return.
 */
class FakeTty extends EventEmitter {
  readonly isTTY = true;
  readonly rows = 24;
  bytes = 0;
  text = '';
  constructor(readonly columns: number | undefined) {
    super();
  }
  write(chunk: string | Uint8Array, a?: unknown, b?: unknown): boolean {
    this.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    if (this.bytes > BUDGET) throw new Error(`wrote more than ${BUDGET} bytes`);
    if (this.text.length < 4096) this.text += String(chunk);
    const cb = typeof a === 'function' ? a : b;
    if (typeof cb === 'function') cb();
    return true;
  }
  cursorTo(x: number): boolean {
    return this.write(`\x1b[${x + 1}G`);
  }
  moveCursor(dx: number, dy: number): boolean {
    return this.write(dy < 0 ? `\x1b[${-dy}A` : dx > 0 ? `\x1b[${dx}C` : '');
  }
  clearLine(dir: number): boolean {
    return this.write(`\x1b[${dir === 1 ? 0 : 2}K`);
  }
}

function ioOn(stderr: FakeTty): Io {
  const s = stderr as unknown as Writable & { isTTY: boolean; columns?: number };
  const facts = { noColorEnv: false, forceColor: undefined, ci: false, term: 'xterm-256color' };
  return refineIo(baseIo({ env: {}, stdin: process.stdin, stdout: s, stderr: s }), facts, {});
}

/** A validate-shaped run: a phase spinner, then a byte bar. */
async function drawAll(io: Io): Promise<void> {
  const spinner = await createSpinner(io);
  spinner.start('Opening export.xml');
  spinner.succeed('Opened export.xml');
  const progress = createByteProgress(io, 'Reading', 1_000_000, Date.now);
  for (let done = 0; done <= 1_000_000; done += 100_000) progress.update(done);
  progress.stop();
}

describe('io on a terminal that reports no usable width', () => {
  for (const columns of [0, Number.NaN, undefined]) {
    it(`columns ${columns}: spinner and bar finish quickly and write little (plain lines)`, async () => {
      const stderr = new FakeTty(columns);
      const io = ioOn(stderr);
      const started = performance.now();
      await drawAll(io);
      assert.ok(performance.now() - started < 2000, 'took over 2 s');
      assert.ok(stderr.bytes < 4096, `wrote ${stderr.bytes} bytes`);
      assert.equal(io.interactive, false);
      assert.equal(io.columns, 80);
      // The plain line output a pipe gets: no cursor movement at all.
      assert.doesNotMatch(stderr.text, /\x1b\[\d*[AGK]/);
      assert.match(stderr.text, /^Opening export\.xml\nOpened export\.xml\n/);
    });
  }

  it('a terminal with a width still draws the spinner and the bar', async () => {
    const stderr = new FakeTty(80);
    const io = ioOn(stderr);
    assert.equal(io.interactive, true);
    await drawAll(io);
    assert.ok(stderr.bytes < 4096, `wrote ${stderr.bytes} bytes`);
    assert.match(stderr.text, /Opened export\.xml/);
    assert.match(stderr.text, /\x1b\[0K/, 'ora clears its line');
  });
});
