/**
 * The model's dates against Python's own answers: each table below was made with CPython 3.11
 * (`datetime.strptime(v, "%Y-%m-%d %H:%M:%S %z")`, `datetime.fromisoformat(v)`, a naive result read as
 * UTC), as the backend reads records, workouts and sleep samples (contract §5.3, §5.5).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  appleShapeDate,
  backendDate,
  isCompactDate,
  isoDate,
  strptimeDate,
} from '../../../src/core/model/dates.js';

const STRPTIME: [string, number | null][] = [
  ['2024-01-15 08:30:00 +0100', 1705303800000],
  ['20141018163200+0100', null],
  ['2024-1-5 8:3:0 +0100', 1704438180000],
  ['2024-01-15  08:30:00 +0100', 1705303800000],
  ['2024-01-15 08:30:00 +01:00', 1705303800000],
  ['2024-01-15 08:30:00 Z', 1705307400000],
  ['2024-02-30 08:30:00 +0100', null],
  ['2024-02-29 08:30:00 +0100', 1709191800000],
  ['2023-02-29 08:30:00 +0100', null],
  ['2024-01-15 08:30:60 +0100', null],
  [' 2024-01-15 08:30:00 +0100', null],
  ['2024-01-15 08:30:00 +0100 ', null],
  ['2024-01-15T08:30:00 +0100', null],
  ['2024-01-15 08:30:00 +010000', 1705303800000],
  ['2024-01-15 08:30:00 -2400', null],
  ['2024-01-15 08:30:00 +2359', 1705221060000],
  ['2024-01-15\t08:30:00\t+0100', 1705303800000],
  ['2024-01-15 08:30:00 +01', null],
  ['2024-01-15 08:30:00', null],
  ['0001-01-01 00:00:00 +0000', -62135596800000],
  ['0000-01-01 00:00:00 +0000', null],
  ['2024-01- 5 08:30:00 +0100', 1704439800000],
  ['2024-13-01 08:30:00 +0100', null],
  ['2024-01-15 24:00:00 +0000', null],
  ['2024-01-15 08:30:00 +0160', null],
  ['2024-01-15 08:30:00 -0800', 1705336200000],
  ['1999-12-31 23:59:59 +1400', 946634399000],
  ['2024-01-15 08:30:00 +01:00:30', 1705303770000],
  ['2024-01-15 08:30:00 +0100.5', null],
  ['2024-01-15 08:30:00 +010000.123456', 1705303799876],
];

const ISO: [string, number | null][] = [
  ['2024-01-15 08:30:00 +0100', 1705303800000],
  ['20141018163200+0100', null],
  ['2024-01-15T08:30:00+01:00', 1705303800000],
  ['2024-01-15 08:30:00', 1705307400000],
  ['2024-01-15', 1705276800000],
  ['2024-02-30 08:30:00 +0100', null],
  ['2024-01-15 08:30:00 Z', 1705307400000],
  ['2024-01-15 08:30:00+0100', 1705303800000],
  ['2024-1-5 08:30:00 +0100', null],
  ['2024-01-15 08:30 +0100', 1705303800000],
  ['20240115T083000+0100', 1705303800000],
  ['2024-01-15x08:30:00 +0100', 1705303800000],
  ['2024-01-15 08:30:00.123 -0500', null],
  ['2024-01-15 08', 1705305600000],
  ['2024-01-15 08:30:00 +01:00:30', 1705303770000],
];

const read = (f: (b: Uint8Array, a: number, e: number) => number, s: string) => {
  const b = Buffer.from(s, 'latin1');
  return f(b, 0, b.length);
};

describe('dates as the backend reads them', () => {
  it('strptime("%Y-%m-%d %H:%M:%S %z") takes and refuses what Python does', () => {
    for (const [s, want] of STRPTIME) {
      const got = read(strptimeDate, s);
      assert.equal(Number.isNaN(got) ? null : Math.floor(got), want, JSON.stringify(s));
    }
  });

  it('fromisoformat (sleep samples) takes and refuses what Python does', () => {
    for (const [s, want] of ISO) {
      const got = read(isoDate, s);
      assert.equal(Number.isNaN(got) ? null : got, want, JSON.stringify(s));
    }
  });

  it('rewrites the iOS 8 compact form into the backend’s, and nothing else', () => {
    assert.equal(backendDate('20141018163200+0100'), '2014-10-18 16:32:00 +0100');
    assert.equal(backendDate('20141018T163200Z'), '2014-10-18 16:32:00 +0000');
    assert.equal(backendDate('20140230163200+0100'), null, 'no February 30');
    assert.equal(backendDate('2014-10-18 16:32:00 +0100'), null);
    assert.equal(read(isCompactDate as never, '20141018163200-0700'), true as never);
    assert.equal(read(strptimeDate, backendDate('20141018163200-0700')!), Date.parse('2014-10-18T23:32:00Z'));
  });

  it('reads Apple’s shape for the report as Date.UTC would, Feb 30 included', () => {
    assert.equal(read(appleShapeDate, '2024-01-01 00:00:00 -0800'), Date.parse('2024-01-01T08:00:00Z'));
    assert.equal(read(appleShapeDate, '2024-01-01 00:00:00 +0530'), Date.parse('2023-12-31T18:30:00Z'));
    assert.equal(read(appleShapeDate, '2023-02-30 10:00:00 +0000'), Date.UTC(2023, 1, 30, 10));
    assert.ok(Number.isNaN(read(appleShapeDate, '2024-1-01 00:00:00 -0800')));
    // The backend refuses Feb 30 nevertheless.
    assert.ok(Number.isNaN(read(strptimeDate, '2023-02-30 10:00:00 +0000')));
  });
});
