import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/run-cli.js';

interface SampleDoc {
  path: string;
  format: string;
  bytes: number;
  xmlBytes: number;
  days: number;
  records: number;
  workouts: number;
  firstDay: string;
  lastDay: string;
}

describe('sample', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sample-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes an export that validate reads: the counts it reports are the ones validate finds', async () => {
    const file = join(dir, 'export.xml');
    const r = await runCli(['sample', file, '--months', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as SampleDoc;
    assert.equal(doc.path, file);
    assert.equal(doc.format, 'xml');
    assert.equal(doc.days, 31);
    assert.deepEqual([doc.firstDay, doc.lastDay], ['2024-01-01', '2024-01-31']);
    assert.equal(doc.bytes, (await readFile(file)).length);
    const v = await runCli(['validate', file, '--json']);
    // Real exports' defects are there, and all of them repairable: valid with warnings.
    assert.equal(v.code, 0, v.stderr);
    const report = JSON.parse(v.stdout);
    assert.equal(report.verdict, 'warnings');
    assert.equal(report.elements.Record, doc.records);
    assert.equal(report.workouts.total, doc.workouts);
    assert.ok(report.defects.some((d: { kind: string }) => d.kind === 'dtd-unclosed-attlist'));
    assert.ok(report.illegalCharacters > 0);
    assert.deepEqual(await readdir(dir), ['export.xml'], 'no temp file left behind');
  });

  it('the same seed and months give the same bytes; another seed does not', async () => {
    const a = join(dir, 'a.xml');
    const b = join(dir, 'b.xml');
    const c = join(dir, 'c.xml');
    for (const [file, seed] of [
      [a, '5'],
      [b, '5'],
      [c, '6'],
    ] as const)
      assert.equal((await runCli(['sample', file, '--months', '1', '--seed', seed])).code, 0);
    assert.ok((await readFile(a)).equals(await readFile(b)));
    assert.ok(!(await readFile(a)).equals(await readFile(c)));
  });

  it('--zip writes a zip laid out like the Health app’s, which validate reads', async () => {
    const file = join(dir, 'export.zip');
    const r = await runCli(['sample', file, '--zip', '--months', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as SampleDoc;
    assert.equal(doc.format, 'zip');
    assert.ok(doc.bytes < doc.xmlBytes, 'compressed');
    const v = await runCli(['validate', file, '--json']);
    assert.equal(v.code, 0, v.stderr);
    const report = JSON.parse(v.stdout);
    assert.equal(report.input.entryName, 'apple_health_export/export.xml');
    assert.equal(report.elements.Record, doc.records);
  });

  it('leaves an existing file alone unless --force', async () => {
    const file = join(dir, 'mine.xml');
    await writeFile(file, 'my own data');
    const refused = await runCli(['sample', file, '--months', '1']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already exists/);
    assert.match(refused.stderr, /--force/);
    assert.equal(await readFile(file, 'utf8'), 'my own data');
    const forced = await runCli(['sample', file, '--months', '1', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /mine\.xml/);
    assert.match(
      forced.stderr,
      /Wrote .*mine\.xml: .* records and \d+ workouts from 2024-01-01 to 2024-01-31/,
    );
    assert.notEqual(await readFile(file, 'utf8'), 'my own data');
  });

  for (const [args, message] of [
    [['u.xml', '--months', '0'], /--months must be a whole number from 1 to 120/],
    [['u.xml', '--months', 'x'], /--months must be a whole number/],
    [['u.xml', '--seed', '-1'], /--seed must be a whole number/],
    [['x.xml', '--zip'], /--zip writes a zip/],
  ] as [string[], RegExp][]) {
    it(`sample ${args.join(' ')} is a usage error, and writes nothing`, async () => {
      const [name, ...flags] = args as [string, ...string[]];
      const r = await runCli(['sample', join(dir, name), ...flags]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      assert.ok(!(await readdir(dir)).includes(name));
    });
  }
});
