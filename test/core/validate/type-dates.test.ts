/**
 * The report's first and last startDate per record type (records.datesByType, the table's first and
 * last columns), against an expectation made here independently of the reader: a saxes parse of the
 * same file, keeping every top-level Record's type and startDate, with Apple's date shape read by a
 * regular expression. Over the generator's variants, with the compiled digest and without, on one
 * thread and across threads; plus ties and a type whose dates are not in Apple's shape.
 */
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SaxesParser } from 'saxes';
import { openExport } from '../../../src/adapters/export-source.js';
import type { ValidationReport } from '../../../src/core/validate/report.js';
import { runValidate } from '../../../src/core/validate/run-validate.js';
import { writeExportFile } from '../../../src/generator/index.js';
import { runCli } from '../../helpers/run-cli.js';
import { GOLDEN_VARIANTS } from './golden/variants.js';

const dir = mkdtempSync(join(tmpdir(), 'apple-import-type-dates-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SHAPE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/;

/** The instant of a date in Apple's shape (field ranges as Apple writes them), or NaN. */
function instant(date: string): number {
  const m = SHAPE.exec(date);
  if (!m) return Number.NaN;
  const [y, mo, d, h, mi, s, sign, zh, zm] = [...m.slice(1, 7).map(Number), m[7], Number(m[8]), Number(m[9])];
  const fields = [y, mo, d, h, mi, s] as number[];
  if (fields[1]! < 1 || fields[1]! > 12 || fields[2]! < 1 || fields[2]! > 31) return Number.NaN;
  if (fields[3]! > 23 || fields[4]! > 59 || fields[5]! > 61) return Number.NaN;
  const offset = (sign === '-' ? -1 : 1) * ((zh as number) * 60 + (zm as number));
  return Date.UTC(fields[0]!, fields[1]! - 1, fields[2], fields[3], fields[4], fields[5]) - offset * 60_000;
}

/**
 * Per type of the top-level Records that close in the file, the earliest and latest startDate (of
 * equal instants, the first in the file), from a streaming XML parse that knows nothing of ours.
 */
async function expectedDates(path: string): Promise<Record<string, { first: string; last: string }>> {
  const out = new Map<string, { first: [number, string]; last: [number, string] }>();
  const parser = new SaxesParser();
  let depth = 0;
  const open: ({ type: string; start: string } | null)[] = [];
  // The variants hold what a strict parser complains of (control characters, a broken DTD): read on.
  parser.on('error', () => {});
  parser.on('opentag', (tag) => {
    depth++;
    const a = tag.attributes as Record<string, string>;
    open.push(
      depth === 2 && tag.name === 'Record' && a.type !== undefined && a.startDate !== undefined
        ? { type: a.type, start: a.startDate }
        : null,
    );
  });
  parser.on('closetag', () => {
    depth--;
    const r = open.pop();
    if (!r) return;
    const t = instant(r.start);
    if (Number.isNaN(t)) return;
    const e = out.get(r.type);
    if (!e) out.set(r.type, { first: [t, r.start], last: [t, r.start] });
    else {
      if (t < e.first[0]) e.first = [t, r.start];
      if (t > e.last[0]) e.last = [t, r.start];
    }
  });
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) parser.write(chunk as string);
  return Object.fromEntries(
    [...out]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([k, v]) => [k, { first: v.first[1], last: v.last[1] }]),
  );
}

async function report(path: string, opts: { digest: boolean; parallel: boolean }): Promise<ValidationReport> {
  return runValidate(
    {
      path,
      digest: opts.digest,
      ...(opts.parallel ? { parallel: { workers: 2, minBytes: 0, maxRangeBytes: 150_000 } } : {}),
    },
    { openExport, now: () => 0 },
  );
}

describe('first and last date per record type', () => {
  for (const v of GOLDEN_VARIANTS.filter((x) => !x.zip && x.args === undefined)) {
    it(`${v.name}: as a streaming parse of the file finds them`, async () => {
      const path = join(dir, `${v.name}.xml`);
      await writeExportFile(path, v.options);
      const expected = await expectedDates(path);
      assert.ok(Object.keys(expected).length > 1, 'the variant has dated records of several types');
      for (const digest of [true, false])
        for (const parallel of [false, true]) {
          const r = await report(path, { digest, parallel });
          if (parallel) assert.ok((r.reader?.ranges ?? 0) > 2, JSON.stringify(r.reader));
          assert.deepEqual(r.records.datesByType, expected, `digest ${digest}, parallel ${parallel}`);
          for (const type of Object.keys(r.records.datesByType)) assert.ok(type in r.records.byType, type);
        }
    });
  }

  it('of equal instants the first in the file wins; a type without a date in Apple’s shape has none', async () => {
    const rec = (type: string, start: string) =>
      ` <Record type="${type}" sourceName="Watch" unit="count/min" creationDate="${start}" startDate="${start}" endDate="${start}" value="61"/>\n`;
    const hr = 'HKQuantityTypeIdentifierHeartRate';
    const steps = 'HKQuantityTypeIdentifierStepCount';
    let body = '';
    // Enough plain Records for the digest to take over after the first of each type.
    for (let i = 0; i < 50; i++) body += rec(hr, `2024-03-02 10:${String(i).padStart(2, '0')}:00 -0800`);
    body += rec(hr, '2024-03-01 18:00:00 +0000'); // 10:00 -0800: the earliest instant, written first
    body += rec(hr, '2024-03-01 10:00:00 -0800'); // the same instant, later in the file
    body += rec(hr, '2024-03-02 20:30:00 +0100'); // 11:30 -0800: the latest instant
    body += rec(hr, '2024-03-02 11:30:00 -0800'); // the same instant, later in the file
    body += rec(steps, '2024-03-01T10:00:00Z');
    const path = join(dir, 'ties.xml');
    writeFileSync(
      path,
      `<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n <ExportDate value="2024-03-03 10:00:00 -0800"/>\n${body}</HealthData>\n`,
    );
    assert.deepEqual(await expectedDates(path), {
      [hr]: { first: '2024-03-01 18:00:00 +0000', last: '2024-03-02 20:30:00 +0100' },
    });
    for (const digest of [true, false]) {
      const r = await report(path, { digest, parallel: false });
      assert.deepEqual(r.records.datesByType, {
        [hr]: { first: '2024-03-01 18:00:00 +0000', last: '2024-03-02 20:30:00 +0100' },
      });
      assert.equal(r.records.byType[steps], 1);
    }
    // The table shows the days, and a dash for a type without dates.
    const text = (await runCli(['validate', path])).stdout;
    assert.match(text, /\n {2}type +records {2}first {7}last {8}imported\?\n/);
    assert.match(text, /\n {2}HeartRate +54 {2}2024-03-01 {2}2024-03-02 {2}yes\n/);
    assert.match(text, /\n {2}StepCount +1 {2}– {11}– {11}no /);
  });
});
