import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { barText } from '../../src/io/status-line.js';

describe('barText: the one status line of every upload', () => {
  const fields: [string, number][] = [
    ['9.0 MiB of 11.4 MiB', 2],
    ['parts 1/3', 8],
    ['', 5],
    ['6.9 MiB/s', 1],
    ['ETA 2s', 3],
  ];

  it('the bar, its percentage and every field that is not empty, when they fit', () => {
    assert.equal(
      barText('Uploading', 0.78, fields, 120),
      `Uploading ${'█'.repeat(16)}${'░'.repeat(4)} 78% · 9.0 MiB of 11.4 MiB · parts 1/3 · 6.9 MiB/s · ETA 2s`,
    );
  });

  it('narrower: 10 cells, and the lowest ranked fields given up until the line fits', () => {
    const line = barText('Uploading', 0.78, fields, 50);
    assert.equal(line, `Uploading ${'█'.repeat(8)}${'░'.repeat(2)} 78% · parts 1/3 · ETA 2s`);
    assert.ok(line.length < 50);
    assert.equal(barText('Uploading', 0.5, fields, 20), `Uploading █████░░░░░ 50%`);
  });
});
