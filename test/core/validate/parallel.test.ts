/**
 * validate over several threads must report exactly what one sequential scan reports: the same counts,
 * duplicates, correlation copies, first examples and line numbers. Small generated exports are cut into
 * many ranges (maxRangeBytes) so every merge path runs, including ranges handed back out of order.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openExport } from '../../../src/adapters/export-source.js';
import { buildFilters, NO_FILTERS } from '../../../src/core/selection/filters.js';
import type { ValidationReport } from '../../../src/core/validate/report.js';
import { runValidate } from '../../../src/core/validate/run-validate.js';
import { type GeneratorOptions, writeExportFile } from '../../../src/generator/index.js';

const dir = mkdtempSync(join(tmpdir(), 'apple-import-parallel-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const deps = { openExport, now: () => performance.now() };

async function both(
  path: string,
  ranges = 5,
  filter = NO_FILTERS,
): Promise<{ seq: ValidationReport; par: ValidationReport }> {
  const size = statSync(path).size;
  const seq = await runValidate({ path, filter, parallel: { workers: 1 } }, deps);
  const par = await runValidate(
    { path, filter, parallel: { workers: 2, minBytes: 0, maxRangeBytes: Math.ceil(size / ranges) } },
    deps,
  );
  return { seq, par };
}

function comparable(
  r: ValidationReport,
): Omit<ValidationReport, 'durationMs' | 'throughputMiBps' | 'reader'> {
  const { durationMs: _d, throughputMiBps: _t, reader: _r, ...rest } = r;
  return rest;
}

const VARIANTS: [string, GeneratorOptions][] = [
  [
    'iOS 16 DTD, control characters, duplicates',
    { seed: 11, days: 25, dtd: 'ios16-unclosed-attlist', controlChars: 0.05, dupExact: 0.03 },
  ],
  [
    'shuffled order (correlation children before their copies)',
    { seed: 12, days: 25, shuffleOrder: true, dupExact: 0.01 },
  ],
  ['one attribute per line', { seed: 13, days: 30, reformat: true }],
  ['fr_FR with quirky source names', { seed: 14, days: 30, locale: 'fr_FR' }],
  [
    'two apps’ samples of one row key (series, device model, start) across ranges',
    { seed: 16, days: 25, recordCopies: 0.1, shuffleOrder: true },
  ],
  ['truncated', { seed: 15, days: 25, truncateAt: 700_000 }],
];

describe('validate across threads', () => {
  for (const [label, options] of VARIANTS) {
    it(`reports what a sequential scan reports: ${label}`, async () => {
      const path = join(dir, `${options.seed}.xml`);
      await writeExportFile(path, options);
      const { seq, par } = await both(path, 7);
      assert.equal(seq.reader?.threads, 1);
      assert.equal(par.reader?.threads, 2, 'the parallel scan must have run, not fallen back');
      assert.ok((par.reader?.ranges ?? 0) >= 7);
      assert.deepEqual(comparable(par), comparable(seq));
      if (options.recordCopies) assert.ok(seq.duplicates.sameKey > 0, 'records share row keys');
    });
  }

  it('applies filters identically', async () => {
    const path = join(dir, 'filter.xml');
    await writeExportFile(path, { seed: 21, days: 40, dupExact: 0.02 });
    const filter = buildFilters({ since: '2024-01-20', until: '2024-02-10', types: 'HeartRate' });
    const { seq, par } = await both(path, 4, filter);
    assert.equal(par.reader?.threads, 2);
    assert.ok((seq.filter?.excluded ?? 0) > 0);
    assert.deepEqual(comparable(par), comparable(seq));
  });

  it('keeps line numbers and duplicates exact when a range starts right at a duplicate or an error', async () => {
    const path = join(dir, 'late-error.xml');
    await writeExportFile(path, { seed: 22, days: 30 });
    // A well-formedness error near the end (in the last range) and a duplicate across the ranges.
    const text = readFileSync(path, 'utf8');
    const firstRecord = text.slice(text.indexOf('<Record '), text.indexOf('\n', text.indexOf('<Record ')));
    const cut = text.lastIndexOf('</HealthData>');
    writeFileSync(
      path,
      `${text.slice(0, cut)} ${firstRecord}\n <Record type="x" value="1"></Workout>\n</HealthData>\n`,
    );
    const { seq, par } = await both(path, 6);
    assert.equal(par.reader?.threads, 2);
    assert.equal(seq.accepted, false);
    assert.ok(seq.duplicates.exact >= 1);
    assert.deepEqual(comparable(par), comparable(seq));
  });

  it('falls back to one sequential scan when a cut lands inside an element, with the same report', async () => {
    // Without indentation a cut cannot tell a child from a top-level element; nor can an error in an
    // early range let later ranges count.
    const path = join(dir, 'flat.xml');
    await writeExportFile(path, { seed: 23, days: 30 });
    const flat = readFileSync(path, 'utf8').replace(/\n[ \t]+</g, '\n<');
    writeFileSync(path, flat);
    const { seq, par } = await both(path, 6);
    assert.deepEqual(comparable(par), comparable(seq));

    const broken = join(dir, 'early-error.xml');
    await writeExportFile(broken, { seed: 24, days: 30 });
    const text = readFileSync(broken, 'utf8');
    const at = text.indexOf('<Record ', Math.floor(text.length / 10));
    writeFileSync(broken, `${text.slice(0, at)}<Record a="1"></Workout>\n${text.slice(at)}`);
    const b = await both(broken, 6);
    assert.equal(b.par.reader?.threads, 1, 'an error before a cut makes the later ranges unusable');
    assert.deepEqual(comparable(b.par), comparable(b.seq));
  });

  it('refuses bytes that are not UTF-8, as upload and the backend’s parser do, early or late, alone or across threads', async () => {
    const path = join(dir, 'utf8.xml');
    await writeExportFile(path, { seed: 25, days: 30 });
    const good = readFileSync(path);
    for (const share of [0.1, 0.95]) {
      const at = good.indexOf('sourceName="', Math.floor(good.length * share)) + 12;
      const bad = join(dir, `not-utf8-${share}.xml`);
      writeFileSync(bad, Buffer.concat([good.subarray(0, at), Buffer.from([0xff]), good.subarray(at + 1)]));
      const { seq, par } = await both(bad, 6);
      assert.equal(seq.accepted, false);
      const line = good.subarray(0, at).toString('latin1').split('\n').length;
      const column = at - good.lastIndexOf(0x0a, at - 1);
      const defect = seq.defects.find((d) => d.kind === 'not-well-formed');
      assert.match(defect?.examples[0]?.message ?? '', /not UTF-8: byte 0xff/);
      assert.equal(defect?.examples[0]?.line, line);
      assert.equal(defect?.examples[0]?.column, column);
      assert.deepEqual(comparable(par), comparable(seq));
    }
  });

  it('stops every thread when cancelled', async () => {
    const path = join(dir, 'cancel.xml');
    await writeExportFile(path, { seed: 25, days: 30 });
    const ac = new AbortController();
    let progressed = 0;
    await assert.rejects(
      runValidate(
        {
          path,
          signal: ac.signal,
          parallel: { workers: 2, minBytes: 0, maxRangeBytes: Math.ceil(statSync(path).size / 8) },
          onProgress: () => {
            progressed++;
            ac.abort(new Error('Interrupted'));
          },
        },
        deps,
      ),
      (e: { code?: string }) => e.code === 'CANCELLED',
    );
    assert.ok(progressed >= 1);
  });
});
