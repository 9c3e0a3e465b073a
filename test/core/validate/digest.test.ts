/**
 * The compiled fast path's digest (wasm/content-check.ts) counts plain top-level Records itself by the
 * keys the collector registers; what it leaves to the collector is judged from the tape as before. The
 * report must be the same either way: over Records at every edge of "plain" (references, values,
 * dates, years, namespaces, nested elements, sources, ties of the first and last dates), over the
 * generator's variants, sequentially and across threads.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openExport } from '../../../src/adapters/export-source.js';
import { contentCheckAvailable } from '../../../src/core/reader/content-check.js';
import { buildFilters } from '../../../src/core/selection/filters.js';
import { ValidationCollector } from '../../../src/core/validate/collector.js';
import type { ValidationReport } from '../../../src/core/validate/report.js';
import { runValidate } from '../../../src/core/validate/run-validate.js';
import { type GeneratorOptions, writeExportFile } from '../../../src/generator/index.js';
import { collect, HEAD, lastDigested, TAIL } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'apple-import-digest-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HR = 'HKQuantityTypeIdentifierHeartRate';
const STAND = 'HKCategoryTypeIdentifierAppleStandHour';
const SLEEP = 'HKCategoryTypeIdentifierSleepAnalysis';
const WATCH =
  ' device="&lt;&lt;HKDevice: 0x28a1&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.3&gt;"';

function record(type: string, start: string, value: string | null, extra = '', end = start): string {
  const v = value === null ? '' : ` value="${value}"`;
  return ` <Record type="${type}" sourceName="Dana’s Watch"${extra} creationDate="${start}" startDate="${start}" endDate="${end}"${v}/>\n`;
}

/** Plain Records of one type and source, to register their keys before the edge cases come. */
function plain(n: number, type = HR, extra = WATCH, day = '2024-03-01'): string {
  let s = '';
  for (let i = 0; i < n; i++)
    s += record(type, `${day} 10:${String(i % 60).padStart(2, '0')}:00 -0800`, `${60 + i}.5`, extra);
  return s;
}

/** Each edge of what the digest takes as plain, after plain Records have registered the keys. */
const EDGES: string[] = [
  record(HR, '2024-03-02 10:00:00 -0800', ' 72'),
  record(HR, '2024-03-02 10:00:00 -0800', '1e3'),
  record(HR, '2024-03-02 10:00:00 -0800', '1_000'),
  record(HR, '2024-03-02 10:00:00 -0800', '9999999.9999'),
  record(HR, '2024-03-02 10:00:00 -0800', '1234567'),
  record(HR, '2024-03-02 10:00:00 -0800', '0001234.5'),
  record(HR, '2024-03-02 10:00:00 -0800', '-.5'),
  record(HR, '2024-03-02 10:00:00 -0800', '5.'),
  record(HR, '2024-03-02 10:00:00 -0800', '.'),
  record(HR, '2024-03-02 10:00:00 -0800', 'nan'),
  record(HR, '2024-03-02 10:00:00 -0800', ''),
  record(HR, '2024-03-02 10:00:00 -0800', null),
  record(HR, '2024-02-30 10:00:00 -0800', '70'),
  record(HR, '2024-03-02 10:00:61 -0800', '70'),
  record(HR, '1899-12-31 23:00:00 +0000', '70'),
  record(HR, '2156-01-01 00:00:00 +0000', '70'),
  record(HR, '0999-01-01 00:00:00 +0000', '70'),
  record(HR, '20240302100000-0800', '70'),
  record(HR, '2024-03-02 10:00:00 +2400', '70'),
  record(HR, '2024-03-02 10:00:00 -0800', '70', '', '2024-03-02T10:00:00'),
  // Each separator and each field of the shape wrong on its own (the digest checks them in vectors).
  ...[
    '2024/03-02 10:00:00 -0800',
    '2024-03/02 10:00:00 -0800',
    '2024-03-02T10:00:00 -0800',
    '2024-03-02 10-00:00 -0800',
    '2024-03-02 10:00-00 -0800',
    '2024-03-02 10:00:00_-0800',
    '2024-03-02 10:00:00 *0800',
    '2024-00-02 10:00:00 -0800',
    '2024-13-02 10:00:00 -0800',
    '2024-03-00 10:00:00 -0800',
    '2024-03-32 10:00:00 -0800',
    '2024-03-02 24:00:00 -0800',
    '2024-03-02 10:60:00 -0800',
    '2024-03-02 10:00:62 -0800',
    '2024-03-02 10:00:00 -0860',
    '2024-03-02 10:00:00 -08a0',
    '2024-03-02 10:00:0x -0800',
    '2x24-03-02 10:00:00 -0800',
    '2024-03-02 10:00:00 -080',
    '2024-03-02 10:00:00 -08000',
  ].map((d) => record(HR, d, '70')),
  record(HR, '2024-03-02 10:00:00 -0800', '70', '', '2024-03-02 10:00:00 +0860'),
  record(HR, '2024-03-02 10:00:00 -0800', '70', '', '2024-03-02 10:00:00 -08000'),
  ` <Record type="${HR}" sourceName="Dana’s Watch" startDate="2024-03-02 10:00:00 -0800" value="70"/>\n`,
  ` <Record type="${HR}" sourceName="Dana’s Watch" endDate="2024-03-02 10:00:00 -0800" value="70"/>\n`,
  ` <Record type="HKQuantityTypeIdentifier&#72;eartRate" sourceName="Dana’s Watch" startDate="2024-03-02 10:00:00 -0800" value="70"/>\n`,
  ` <Record type="${HR}" sourceName="Dana’s Watch" startDate="2024-03-02 10:00:00 &#45;0800" value="70"/>\n`,
  ` <Record type="${HR}" sourceName="Dana &amp; Co" startDate="2024-03-02 10:00:00 -0800" value="70"/>\n`,
  ` <Record type="${HR}" xmlns="" sourceName="Dana’s Watch" startDate="2024-03-02 10:00:00 -0800" value="70"/>\n`,
  ` <Record type="${HR}" sourceName="Dana’s Watch" startDate="2024-03-02 10:00:00 -0800" value="70">\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>\n </Record>\n`,
  ` <Record type="${HR}" sourceName="Dana’s Watch" startDate="2024-03-02 10:00:00 -0800" value="70">\n  <Record type="${HR}" sourceName="x" startDate="2024-03-02 10:00:00 -0800" value="70"/>\n </Record>\n`,
  ` <Record type="${HR}" sourceName="Dana’s Watch" startDate="2024-03-02 10:00:00 -0800" value="70">\n  <Unknown/>\n </Record>\n`,
  ` <Record type="${HR}" startDate="2024-03-02 10:00:00 -0800" value="70"/>\n`,
  ` <Record type="${HR}"${WATCH} startDate="2024-03-02 10:00:00 -0800" value="70"/>\n`,
  ` <Record sourceName="Dana’s Watch" startDate="2024-03-02 10:00:00 -0800" value="70"/>\n`,
  record(STAND, '2024-03-02 10:00:00 -0800', 'HKCategoryValueAppleStandHourIdle'),
  record(STAND, '2024-02-30 10:00:00 -0800', 'x'),
  record(STAND, 'not a date', 'x'),
  record(SLEEP, '2024-03-02 01:00:00 -0800', 'HKCategoryValueSleepAnalysisAsleepCore'),
  record(SLEEP, '2024-03-02 01:00:00 -0800', 'HKCategoryValueSleepAnalysisBogus'),
];

/** The first and last dates tie in their instant but not in their bytes, digested and not. */
const TIES: string[] = [
  record(HR, '2023-01-01 10:00:00 +0100', '70'),
  record(HR, '2023-01-01 09:00:00 +0000', '70'),
  record(HR, '2023-01-01 04:00:00 -0500', '70', ' sourceVersion="1"'),
  record(HR, '2026-01-01 10:00:00 +0100', '70'),
  record(HR, '2026-01-01 09:00:00 +0000', '70'),
  record(HR, '2026-01-01 10:00:00 +0100', '70'),
];

describe('the digest', () => {
  it('is there to test (the compiled module is built)', () => {
    assert.ok(contentCheckAvailable());
  });

  it('counts plain Records and leaves every edge case to the collector, with the same report', () => {
    const body =
      plain(50) + plain(20, STAND) + EDGES.join('') + plain(30) + TIES.join('') + plain(10, HR, '');
    // Each edge case after plain Records, and again among them, and repeated (exact duplicates).
    const doc = HEAD + body + EDGES.map((e) => plain(3) + e + e).join('') + body + TAIL;
    const report = collect(doc);
    assert.ok(lastDigested > 100, `digested ${lastDigested}`);
    assert.ok(report.duplicates.exact > 0);
    assert.equal(report.records.firstStartDate, '0999-01-01 00:00:00 +0000');
  });

  it('takes the first and last dates in file order when instants tie', () => {
    const doc = HEAD + plain(40) + TIES.join('') + plain(40) + [...TIES].reverse().join('') + TAIL;
    const report = collect(doc);
    assert.ok(lastDigested > 0);
    assert.equal(report.records.firstStartDate, '2023-01-01 10:00:00 +0100');
    assert.equal(report.records.lastStartDate, '2026-01-01 10:00:00 +0100');
  });

  it('reports what validate reports without it, over generated exports, on one thread and on several', async () => {
    let digested = 0;
    const proto = ValidationCollector.prototype;
    const original = proto.onDigested;
    proto.onDigested = function (this: ValidationCollector, ...args: Parameters<typeof original>) {
      digested++;
      return original.apply(this, args);
    };
    try {
      const variants: GeneratorOptions[] = [
        { seed: 31, days: 3 },
        { seed: 32, days: 2, dupExact: 0.02, shuffleOrder: true },
        { seed: 33, days: 2, startDate: '2022-09-10', dtd: 'extra-gt', controlChars: 0.01 },
        { seed: 34, days: 2, locale: 'de_DE', reformat: true },
        { seed: 35, days: 2, truncateAt: 400_000 },
      ];
      for (const [i, options] of variants.entries()) {
        const path = join(dir, `variant-${i}.xml`);
        await writeExportFile(path, options);
        const size = statSync(path).size;
        const deps = { openExport, now: () => 0 };
        const run = (digest: boolean, workers: number): Promise<ValidationReport> =>
          runValidate(
            {
              path,
              digest,
              parallel: { workers, minBytes: 0, maxRangeBytes: Math.ceil(size / 5) },
            },
            deps,
          );
        const plainReport = comparable(await run(false, 1));
        assert.deepEqual(comparable(await run(true, 1)), plainReport, `variant ${i}, one thread`);
        assert.deepEqual(comparable(await run(true, 2)), plainReport, `variant ${i}, two threads`);
      }
    } finally {
      proto.onDigested = original;
    }
    // The worker threads' collectors are not this one's prototype: the sequential runs must digest.
    assert.ok(digested > 1000, `digested ${digested}`);
  });

  it('is not used with a filter, which reads every element here', () => {
    assert.equal(new ValidationCollector(buildFilters({ since: '2024-01-01' })).digestOption(), undefined);
    assert.ok(new ValidationCollector().digestOption());
  });
});

function comparable(r: ValidationReport): Partial<ValidationReport> {
  const { durationMs: _d, throughputMiBps: _t, reader: _r, ...rest } = r;
  return rest;
}
