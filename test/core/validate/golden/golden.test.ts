/**
 * validate's report over the generator's variants equals the report commit 0362dc1 made (goldens.json,
 * capture.ts), except for what the backend-import model changed on purpose: the outcome keys it adds
 * (willImport, willSkip, willRepair, importFails, workoutCollisions), the headline before the human
 * report, and a Correlation no longer listed among what the backend ignores (its Records are imported);
 * "(s)" plurals in the warnings written as counts with their nouns;
 * and, from the one filter grammar validate now shares with upload, `filter.excludeTypes`; and each
 * record type's first and last date (`records.datesByType`); the records that share a row key
 * (`duplicates.sameKey`), which willImport no longer counts twice.
 * The human report changed its layout on purpose (issue 17: the answer first, one table of types with
 * their prefixes dropped and the top 15, sources grouped by name), so its text is no longer compared
 * line for line with the golden's: what it states is, against the golden text's own figures (records by
 * type, records per source name, the verdict).
 * The inputs are generated again here; with the parallel reader forced on, the report is the same too.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openExport } from '../../../../src/adapters/export-source.js';
import { buildFilters } from '../../../../src/core/selection/filters.js';
import { runValidate } from '../../../../src/core/validate/run-validate.js';
import { writeExportFile, writeExportZip } from '../../../../src/generator/index.js';
import { runCli } from '../../../helpers/run-cli.js';
import { GOLDEN_VARIANTS, normalizeReport, normalizeText } from './variants.js';

type Json = Record<string, unknown>;
const GOLDENS = JSON.parse(readFileSync(new URL('./goldens.json', import.meta.url), 'utf8')) as Record<
  string,
  { json: Json; text?: string }
>;

const NEW_KEYS = ['willImport', 'willSkip', 'willRepair', 'importFails', 'workoutCollisions'];

/** The golden report as today's code means to make it. */
function expectedJson(golden: Json): Json {
  const g = structuredClone(golden);
  const ignored = g.ignored as { total: number; elements: Record<string, number> };
  const correlation = ignored.elements.Correlation ?? 0;
  delete ignored.elements.Correlation;
  ignored.total -= correlation;
  const filter = g.filter as Json | null;
  if (filter) g.filter = { ...filter, excludeTypes: null };
  // Counts agree with their nouns (issue 17): "37 exact duplicate elements", not "element(s)".
  // None of the goldens counts 1 of anything there.
  g.warnings = (g.warnings as string[]).map((w) => w.replaceAll('(s)', 's'));
  return g;
}

function withoutNewKeys(report: Json): Json {
  const r = { ...report };
  for (const k of NEW_KEYS) {
    assert.ok(k in r, `the report has ${k}`);
    delete r[k];
  }
  // Each type's first and last date (issue 17's table), checked against a parse of its own in type-dates.test.ts.
  const records = { ...(r.records as Json) };
  assert.ok('datesByType' in records, 'the report has records.datesByType');
  delete records.datesByType;
  r.records = records;
  // Records sharing a row key (the model counts rows), checked against the sandbox in sandbox-parity.test.ts.
  const duplicates = { ...(r.duplicates as Json) };
  assert.ok('sameKey' in duplicates, 'the report has duplicates.sameKey');
  delete duplicates.sameKey;
  r.duplicates = duplicates;
  return r;
}

/** The figures the old human report (the golden text) states: records by type and by source name, the verdict. */
function goldenFigures(text: string) {
  const section = (title: RegExp) => {
    const lines = text.split('\n');
    const at = lines.findIndex((l) => title.test(l));
    if (at < 0) return [];
    const end = lines.findIndex((l, i) => i > at && l === '');
    return lines.slice(at + 1, end < 0 ? undefined : end);
  };
  const total = Number(/^Records by type \(([\d,]+)\)$/m.exec(text)?.[1]?.replace(/,/g, '') ?? 'NaN');
  const types = section(/^Records by type /).map((l) => {
    const m = /^ {2}(\S+) +([\d,]+)$/.exec(l)!;
    return [m[1]!, Number(m[2]!.replace(/,/g, ''))] as [string, number];
  });
  const bySource = new Map<string, number>();
  for (const l of section(/^Sources$/)) {
    const m = /^ {2}(.+?)(?: \(.*\))? {2,}([\d,]+) records/.exec(l)!;
    bySource.set(m[1]!, (bySource.get(m[1]!) ?? 0) + Number(m[2]!.replace(/,/g, '')));
  }
  const verdict = /^Verdict: .*$/m.exec(text)?.[0];
  return { total, types, bySource, verdict };
}

/** The new human report states what the golden text states, in its new layout. */
function assertSameFigures(text: string, golden: string): void {
  const g = goldenFigures(golden);
  const fmt = (v: number) => v.toLocaleString('en-US');
  const lines = text.split('\n');
  assert.match(lines[0]!, /^The backend will import /, 'the headline comes first');
  const verdict = lines.find((l) => l.startsWith('Verdict: ')) ?? '';
  if (g.verdict === 'Verdict: valid with warnings')
    assert.match(verdict, /^Verdict: valid with \d+ warnings?$/);
  else assert.equal(verdict, g.verdict, text);
  assert.ok(text.includes(`Records by type (${fmt(g.total)})`), text);
  const sorted = [...g.types].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  for (const [type, count] of sorted.slice(0, 15)) {
    const short = type.replace(/^HK(?:Quantity|Category|Correlation|Data)?Type(?:Identifier)?/, '') || type;
    assert.match(text, new RegExp(`\\n {2}${short} +${fmt(count)} {2}`), `${short} ${count}`);
  }
  if (sorted.length > 15) assert.ok(text.includes(`  … and ${sorted.length - 15} more (see --json)`), text);
  for (const [name, records] of g.bySource)
    assert.match(
      text,
      new RegExp(`\\n {2}${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +${fmt(records)} records?`),
      name,
    );
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'golden-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('validate reports equal those of commit 0362dc1', () => {
  for (const v of GOLDEN_VARIANTS) {
    it(v.name, async () => {
      const golden = GOLDENS[v.name];
      assert.ok(golden, `a golden for ${v.name}`);
      const path = join(dir, `${v.name}.${v.zip ? 'zip' : 'xml'}`);
      if (v.zip) await writeExportZip(path, v.options);
      else await writeExportFile(path, v.options);
      const args = ['validate', path, ...(v.args ?? [])];
      const res = await runCli([...args, '--json']);
      const report = normalizeReport(JSON.parse(res.stdout) as Json);
      assert.deepEqual(withoutNewKeys(report), expectedJson(golden.json));
      if (golden.text !== undefined) {
        const text = normalizeText((await runCli(args)).stdout, path);
        assertSameFigures(text, golden.text);
      }
      if (!v.zip) {
        // The parallel reader, forced onto a small file in small ranges, reaches the same report.
        const flags = { since: undefined, until: undefined, types: undefined } as Record<
          string,
          string | undefined
        >;
        for (let i = 0; i + 1 < (v.args ?? []).length; i += 2) flags[v.args![i]!.slice(2)] = v.args![i + 1];
        const parallel = await runValidate(
          {
            path,
            filter: buildFilters(flags),
            parallel: { workers: 2, minBytes: 0, maxRangeBytes: 200_000 },
          },
          { openExport, now: () => 0 },
        );
        assert.ok((parallel.reader?.ranges ?? 0) > 2, JSON.stringify(parallel.reader));
        const fromCli = { ...report } as Json;
        const fromCore = normalizeReport({ ...(parallel as unknown as Json), input: report.input }) as Json;
        delete fromCli.reader;
        delete fromCore.reader;
        assert.deepEqual(fromCore, fromCli);
      }
    });
  }
});
