/**
 * validate's report over the generator's variants equals the report commit 0362dc1 made (goldens.json,
 * capture.ts), except for what the backend-import model changed on purpose: the outcome keys it adds
 * (willImport, willSkip, willRepair, importFails, workoutCollisions), the headline before the human
 * report, and a Correlation no longer listed among what the backend ignores (its Records are imported);
 * and, from the one filter grammar validate now shares with upload, `filter.excludeTypes`.
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
  return g;
}

function withoutNewKeys(report: Json): Json {
  const r = { ...report };
  for (const k of NEW_KEYS) {
    assert.ok(k in r, `the report has ${k}`);
    delete r[k];
  }
  return r;
}

/** The golden human report without the Correlation line in "Ignored by the backend". */
function expectedText(golden: string): string {
  const lines = golden.split('\n');
  const at = lines.findIndex((l) => /^ {2}Correlation +[\d,]+ elements$/.test(l));
  if (at < 0) return golden;
  const n = Number(lines[at]!.replace(/\D/g, ''));
  lines.splice(at, 1);
  const head = lines.findIndex((l) => l.startsWith('Ignored by the backend ('));
  const total = Number(lines[head]!.replace(/\D/g, ''));
  lines[head] = `Ignored by the backend (${(total - n).toLocaleString('en-US')})`;
  return lines.join('\n');
}

/** The human report from its first line of counts on: the headline before it is new. */
function withoutHeadline(text: string): string {
  const at = text.indexOf('Apple Health export: ');
  assert.ok(at >= 0, text);
  return text.slice(at);
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
        assert.equal(withoutHeadline(text), expectedText(golden.text));
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
