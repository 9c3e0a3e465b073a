import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { renderReport } from '../../src/commands/validate/render.js';
import type { ValidationReport } from '../../src/core/validate/report.js';
import { createFactory } from '../../src/factory.js';
import { writeExportFile } from '../../src/generator/index.js';
import { runCli } from '../helpers/run-cli.js';

/** The human report of a crafted report: what a long history or many sources look like. */
describe('validate report layout', () => {
  let dir: string;
  let report: ValidationReport;
  const f = createFactory(
    {
      env: { NO_COLOR: '1' },
      stdin: Readable.from([]),
      stdout: new PassThrough(),
      stderr: new PassThrough(),
    },
    {
      json: false,
      quiet: false,
      verbose: false,
      debug: false,
      color: false,
      progress: false,
      insecure: false,
    },
    '0',
  );
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'render-'));
    const xml = join(dir, 'export.xml');
    await writeExportFile(xml, { days: 3, seed: 12 });
    report = JSON.parse((await runCli(['validate', xml, '--json'])).stdout) as ValidationReport;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('up to 36 months: a bar per month; past that, a bar per year', () => {
    const months = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [
          `${2020 + Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`,
          10,
        ]),
      );
    const short = renderReport({ ...report, records: { ...report.records, perMonth: months(36) } }, f);
    assert.ok(short.includes('Records per month'));
    assert.equal(short.filter((l) => /^ {2}\d{4}-\d{2} /.test(l)).length, 36);
    const long = renderReport({ ...report, records: { ...report.records, perMonth: months(40) } }, f);
    assert.ok(long.includes('Records per year'));
    assert.deepEqual(
      long.filter((l) => /^ {2}\d{4} /.test(l)).map((l) => l.trim().replace(/^(\d{4}) .* (\d+)$/, '$1 $2')),
      ['2020 120', '2021 120', '2022 120', '2023 40'],
    );
  });

  it('sources: top 15 by records, one line per name, and how many more', () => {
    const sources = Array.from({ length: 20 }, (_, i) => ({
      sourceName: `Source ${String(i).padStart(2, '0')}`,
      device: i % 2 ? `name:Apple Watch, model:Watch, software:${10 + (i % 3)}.0` : '',
      records: 100 - i,
      workouts: 0,
    }));
    const twice = [
      ...sources,
      { ...sources[1]!, device: 'name:Apple Watch, model:Watch, software:11.4', records: 5 },
    ];
    const lines = renderReport({ ...report, sources: twice }, f);
    const at = lines.indexOf('Sources');
    const block = lines.slice(at + 1, lines.indexOf('', at));
    assert.equal(block.length, 16, block.join('\n'));
    assert.match(block[0]!, /^ {2}Source 01 {2}104 records, watchOS 11\.0–11\.4$/);
    assert.match(block[1]!, /^ {2}Source 00 {2}100 records$/);
    assert.equal(block.at(-1), '  … and 5 more (see --json)');
  });
});
