// One filter grammar (core/selection/filters.ts) for validate and upload: the same arguments select the
// same samples, and the same bad values are the same usage error, whichever command reads them.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isImportedRecordType } from '../../src/core/selection/mapped-types.js';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';

const API_KEY = `sk-${'ef'.repeat(16)}`;
const env = { APPLE_IMPORT_API_KEY: API_KEY };

interface ValidateDoc {
  elements: Record<string, number>;
  records: { total: number; byType: Record<string, number> };
  workouts: { total: number };
  filter: { excluded: number } | null;
}

/** What upload --dry-run --json says it selected, with --method direct or sdk. */
interface DirectDoc {
  status: string;
  selected: { total: number; byType: Record<string, number> };
}

/** What validate selected, as direct counts it: the types the backend imports, and Workouts. */
function selectedByValidate(v: ValidateDoc): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [type, n] of Object.entries(v.records.byType)) if (isImportedRecordType(type)) out[type] = n;
  if (v.workouts.total > 0) out.Workout = v.workouts.total;
  return out;
}

const CASES: [string, string[]][] = [
  ['an alias', ['--types', 'heart_rate']],
  ['short names, sleep and workouts', ['--types', 'StepCount,SleepAnalysis,Workout']],
  ['bare dates', ['--since', '2024-01-03', '--until', '2024-01-05']],
  ['a timestamp with an offset', ['--since', '2024-01-02T08:00:00+01:00', '--types', 'steps,workouts']],
  ['exclusions', ['--exclude-types', 'heart_rate,steps']],
  ['a workout activity', ['--types', 'HKWorkoutActivityTypeRunning,HKWorkoutActivityTypeWalking']],
];

describe('one filter grammar for validate and upload', () => {
  let double: BackendDouble;
  let cli: CliEnv;
  let dir = '';
  let file = '';
  let userId = '';
  before(async () => {
    double = await startBackendDouble({ seed: { apiKeys: [API_KEY] } });
    userId = double.createUser({ email: 'filters@example.com' }).id;
    cli = await CliEnv.create(double.url);
    dir = await mkdtemp(join(tmpdir(), 'filters-test-'));
    file = join(dir, 'export.xml');
    await writeExportFile(file, { seed: 12, days: 8, dupExact: 0.01 });
  });
  after(async () => {
    await double.close();
    await cli.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function validate(args: string[]): Promise<ValidateDoc> {
    const r = await cli.run(['validate', file, '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as ValidateDoc;
  }

  async function dryRun(method: 'direct' | 'sdk', args: string[]): Promise<DirectDoc> {
    const r = await cli.run(
      ['upload', file, '--user', userId, '--method', method, '--dry-run', '--json', ...args],
      {
        env,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as DirectDoc;
    assert.equal(doc.status, 'dry-run');
    return doc;
  }

  it('without filters, validate, upload --method s3, direct and sdk --dry-run count the same', async () => {
    const v = await validate([]);
    for (const method of ['direct', 'sdk'] as const) {
      const d = await dryRun(method, []);
      assert.deepEqual(d.selected.byType, selectedByValidate(v), method);
    }
    const s3 = await cli.run(['upload', file, '--user', userId, '--dry-run', '--json'], { env });
    assert.equal(s3.code, 0, s3.stderr);
    const plan = JSON.parse(s3.stdout) as { parts: { elements: number }[] };
    const topLevel = Object.values(v.elements).reduce((a, b) => a + b, 0);
    assert.equal(
      plan.parts.reduce((n, p) => n + p.elements, 0),
      topLevel,
    );
  });

  for (const [name, args] of CASES) {
    it(`${name}: validate and upload --method direct and sdk select the same samples (${args.join(' ')})`, async () => {
      const v = await validate(args);
      assert.ok((v.filter?.excluded ?? 0) > 0, 'something is left out');
      for (const method of ['direct', 'sdk'] as const) {
        const d = await dryRun(method, args);
        assert.ok(d.selected.total > 0, `${method}: something is selected`);
        assert.deepEqual(d.selected.byType, selectedByValidate(v), method);
      }
    });
  }

  for (const [flag, value, message] of [
    ['--since', '2024-02-30', "error: --since: cannot read '2024-02-30' as a date."],
    ['--until', '2024-13-01', "error: --until: cannot read '2024-13-01' as a date."],
    ['--types', 'hart_rate', "error: --types: unknown type 'hart_rate'."],
    ['--exclude-types', 'heart_rat', "error: --exclude-types: unknown type 'heart_rat'."],
  ] as const) {
    it(`${flag} ${value} is the same usage error (exit 2) in validate and every upload method`, async () => {
      const runs = [
        await cli.run(['validate', file, flag, value]),
        await cli.run(['upload', file, '--user', userId, flag, value], { env }),
        await cli.run(['upload', file, '--user', userId, '--method', 'direct', flag, value], { env }),
        await cli.run(['upload', file, '--user', userId, '--method', 'sdk', flag, value], { env }),
      ];
      for (const r of runs) {
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stderr.split('\n')[0], message);
      }
      assert.equal(new Set(runs.map((r) => r.stderr)).size, 1, 'the same message and hint everywhere');
    });
  }

  it('the s3 method refuses a valid filter: it sends the export whole', async () => {
    const r = await cli.run(['upload', file, '--user', userId, '--types', 'heart_rate'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--types only apply to --method direct/);
  });
});
