import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ValidationReport } from '../../src/core/validate/report.js';
import {
  type GeneratorOptions,
  type GeneratorTruth,
  writeExportFile,
  writeExportZip,
  type ZipExportOptions,
} from '../../src/generator/index.js';
import { assertMatchesSchema } from '../helpers/json-schemas.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'validate-cmd-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function assertMatchesTruth(r: ValidationReport, truth: GeneratorTruth): void {
  assert.deepEqual(r.elements, truth.elements, 'top-level element counts');
  assert.deepEqual(r.nestedElements, truth.nestedElements, 'nested element counts');
  assert.deepEqual(r.records.byType, truth.recordTypes, 'records per type');
  assert.deepEqual(r.records.perMonth, truth.recordsPerMonth, 'records per month');
  assert.deepEqual(r.workouts.byActivityType, truth.workoutTypes, 'workouts per activity');
  assert.equal(r.duplicates.exact, truth.exactDuplicates, 'exact duplicates');
  assert.equal(r.correlations.total, truth.correlations, 'correlations');
  assert.equal(r.correlations.copies, truth.correlationCopies, 'correlation copies');
  assert.equal(r.illegalCharacters, truth.controlChars, 'control characters');
  assert.equal(r.records.firstStartDate, truth.firstStartDate ?? null);
  assert.equal(r.records.lastStartDate, truth.lastStartDate ?? null);
  assert.equal(r.locale, truth.locale);
  assert.equal(r.exportVersion, truth.exportVersion ?? null);
  assert.equal(r.bytes, truth.bytes);
  if (!truth.truncated) assert.equal(r.exportDate, truth.exportDate);
}

async function validateJson(path: string, extra: string[] = []) {
  const res = await runCli(['validate', path, '--json', ...extra]);
  let report: ValidationReport;
  try {
    report = JSON.parse(res.stdout) as ValidationReport;
  } catch {
    assert.fail(`stdout is not one JSON document (exit ${res.code}):\n${res.stdout}\n${res.stderr}`);
  }
  return { ...res, report };
}

const XML_VARIANTS: [string, GeneratorOptions, { code: number; defect?: string }][] = [
  ['valid DTD, grouped', { seed: 11, days: 6 }, { code: 0 }],
  [
    'iOS 16 unclosed ATTLIST + control characters',
    { seed: 12, days: 5, dtd: 'ios16-unclosed-attlist', controlChars: 0.05 },
    { code: 0, defect: 'dtd-unclosed-attlist' },
  ],
  ['duplicates, shuffled order', { seed: 13, days: 5, dupExact: 0.01, shuffleOrder: true }, { code: 0 }],
  [
    'missing-gt DTD, reformatted, fr_FR',
    { seed: 14, days: 4, dtd: 'missing-gt', reformat: true, locale: 'fr_FR' },
    { code: 0, defect: 'dtd-missing-gt' },
  ],
  [
    'extra-gt DTD across the iOS 16 era switch',
    { seed: 15, days: 8, startDate: '2022-09-08', dtd: 'extra-gt', dupExact: 0.005 },
    { code: 0, defect: 'dtd-extra-gt' },
  ],
  ['no DTD', { seed: 16, days: 3, dtd: 'none', locale: 'de_DE' }, { code: 0 }],
];

describe('validate --json equals the generator truth', () => {
  for (const [label, opts, expected] of XML_VARIANTS) {
    it(label, async () => {
      const path = join(dir, `${opts.seed}.xml`);
      const truth = await writeExportFile(path, opts);
      // The quirks must really be present, or the comparison proves nothing.
      assert.ok(truth.correlationCopies > 0 && truth.correlations > 0);
      if (opts.dupExact) assert.ok(truth.exactDuplicates > 0, 'duplicates injected');
      if (opts.controlChars) assert.ok(truth.controlChars > 0, 'control characters injected');
      const { code, report, stderr } = await validateJson(path);
      assert.equal(code, expected.code, stderr);
      assertMatchesTruth(report, truth);
      assert.equal(report.accepted, true);
      if (expected.defect) {
        const d = report.defects.find((x) => x.kind === expected.defect);
        assert.ok(d, `expected a ${expected.defect} defect, got ${JSON.stringify(report.defects)}`);
        assert.ok(d.examples[0]!.line > 1);
      }
      const hasWarnings = Boolean(expected.defect) || truth.exactDuplicates > 0 || truth.controlChars > 0;
      assert.equal(report.verdict, hasWarnings ? 'warnings' : 'valid', JSON.stringify(report.warnings));
    });
  }

  const ZIPS: [string, ZipExportOptions][] = [
    [
      'zip with 导出.xml, __MACOSX junk and export_cda.xml',
      { seed: 21, days: 4, locale: 'zh_CN', macosxJunk: true, cdaFile: true },
    ],
    [
      'stored Zip64 zip with Export.xml',
      { seed: 22, days: 3, entryName: 'Export.xml', compression: 'store', forceZip64: true },
    ],
  ];
  for (const [label, opts] of ZIPS) {
    it(label, async () => {
      const path = join(dir, `${opts.seed}.zip`);
      const truth = await writeExportZip(path, opts);
      const { code, report, stderr } = await validateJson(path);
      assert.equal(code, 0, stderr);
      assertMatchesTruth(report, truth);
      assert.match(report.input?.entryName ?? '', /^apple_health_export\/(导出|Export)\.xml$/);
    });
  }
});

describe('validate verdicts and exit codes', () => {
  it('a truncated export exits 3, still counting every complete element', async () => {
    const path = join(dir, 'truncated.xml');
    const truth = await writeExportFile(path, { seed: 31, days: 3, truncateAt: 700_000 });
    assert.equal(truth.truncated, true);
    const { code, report } = await validateJson(path);
    assert.equal(code, 3);
    assert.equal(report.accepted, false);
    assert.equal(report.truncated, true);
    assertMatchesTruth(report, truth);
  });

  it('--threads takes 1 to 4; anything else is a usage error (exit 2)', async () => {
    const path = join(dir, 'threads.xml');
    await writeExportFile(path, { seed: 35, days: 2 });
    const one = await runCli(['validate', path, '--threads', '1', '--json']);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual((JSON.parse(one.stdout) as ValidationReport).reader, { threads: 1, ranges: 1 });
    for (const bad of ['0', '5', '1.5', 'two']) {
      const r = await runCli(['validate', path, '--threads', bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--threads must be a whole number from 1 to 4/);
    }
  });

  it('--strict turns warnings into exit 3; without it they exit 0', async () => {
    const path = join(dir, 'strict.xml');
    await writeExportFile(path, { seed: 32, days: 2, dtd: 'ios16-unclosed-attlist' });
    assert.equal((await runCli(['validate', path])).code, 0);
    const strict = await runCli(['validate', path, '--strict']);
    assert.equal(strict.code, 3);
    assert.match(strict.stderr, /--strict/);
    const clean = join(dir, 'clean.xml');
    await writeExportFile(clean, { seed: 33, days: 2 });
    assert.equal((await runCli(['validate', clean, '--strict'])).code, 0);
  });

  it('prints a human report, its answer first, with a month chart and throughput on stdout', async () => {
    const path = join(dir, 'human.xml');
    await writeExportFile(path, { seed: 34, days: 40, startDate: '2024-01-10' });
    const res = await runCli(['validate', path]);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.split('\n');
    assert.match(lines[0]!, /^The backend will import [\d,]+ records, [\d,]+ workouts/);
    assert.equal(lines[1], 'Verdict: valid');
    assert.match(res.stdout, /Records per month\n {2}2024-01 █+.* [\d,]+\n {2}2024-02 █+/);
    assert.match(res.stdout, /Parsed [\d.]+ MiB in [\d.]+ s/);
    // One table, the HK…Identifier prefixes dropped, the top 15 and how many more.
    assert.match(
      res.stdout,
      /\n {2}type +records {2}first {7}last {8}imported\?\n {2}HeartRate +[\d,]+ {2}\d{4}-\d{2}-\d{2} {2}\d{4}-\d{2}-\d{2} {2}yes\n/,
    );
    assert.doesNotMatch(res.stdout, /HKQuantityTypeIdentifier/);
    assert.match(
      res.stdout,
      /\n {2}AppleStandHour +[\d,]+ {2}\d{4}-\d{2}-\d{2} {2}\d{4}-\d{2}-\d{2} {2}no \(unmapped type\)\n/,
    );
    const table = res.stdout.slice(res.stdout.indexOf('  type ')).split('\n\n')[0]!.split('\n');
    assert.equal(table.length, 1 + 15 + 1, table.join('\n'));
    assert.match(table.at(-1)!, /^ {2}… and \d+ more \(see --json\)$/);
    // Sources grouped by name: every device of a source on one line, with the software versions seen.
    assert.match(res.stdout, /\n {2}Dana’s Apple Watch +[\d,]+ records, [\d,]+ workouts, watchOS 10\.0\n/);
    assert.equal(res.stdout.match(/\n {2}Dana’s Apple Watch /g)?.length, 1);
    assert.doesNotMatch(res.stdout, /0x[0-9a-f]{9}/, 'device addresses are normalised away');
    assert.match(res.stderr, /Validating .*human\.xml/);
    // Piped stderr: plain progress lines at most every 10 %, no bar or spinner escape codes.
    const progress = res.stderr.split('\n').filter((l) => l.startsWith('Scanning: '));
    assert.ok(progress.length >= 1 && progress.length <= 10, progress.join('\n'));
    assert.doesNotMatch(res.stderr, /\u001b\[/);
  });

  it('records of one series, device model and start count as the one row the backend stores, and the report says so', async () => {
    const path = join(dir, 'same-key.xml');
    const T = '2024-02-01 08:00:00 +0100';
    const device = (model: string, hardware: string) =>
      ` device="&lt;&lt;HKDevice: 0x6000&gt;, name:${model}, manufacturer:Apple Inc., model:${model}, hardware:${hardware}, software:17.1&gt;"`;
    const rec = (type: string, source: string, dev: string, t = T) =>
      ` <Record type="HKQuantityTypeIdentifier${type}" sourceName="${source}"${dev} unit="degC" startDate="${t}" endDate="${t}" value="36.5"/>\n`;
    await writeFile(
      path,
      '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n' +
        rec('BodyTemperature', 'Health', device('iPhone', 'iPhone12,1')) +
        // Another app, another iPhone, the basal series' twin type, the same instant in another offset.
        rec('BasalBodyTemperature', 'Cycle', device('iPhone', 'iPhone14,2'), '2024-02-01 09:00:00 +0200') +
        rec('BodyTemperature', 'Thermo', device('Watch', 'Watch6,2')) +
        rec('BodyTemperature', 'Thermo', '') +
        '</HealthData>\n',
    );
    const { code, report } = await validateJson(path);
    assert.equal(code, 0);
    assert.equal(report.records.total, 4);
    assert.equal(report.willImport.records, 3, 'iPhone, Watch and no device: three rows');
    assert.equal(report.duplicates.sameKey, 1);
    const text = await runCli(['validate', path]);
    assert.match(text.stdout, /The backend will import 3 records, /);
    assert.match(
      text.stdout,
      /^ {2}1 record has the series, device model and start time of an earlier one \(exact duplicates included\): the backend stores one row per such key/m,
    );
  });

  it('--report writes the full JSON report', async () => {
    const path = join(dir, 'rep.xml');
    const truth = await writeExportFile(path, { seed: 35, days: 2 });
    const file = join(dir, 'out-report.json');
    const res = await runCli(['validate', path, '--report', file]);
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(await readFile(file, 'utf8')) as ValidationReport;
    assertMatchesTruth(report, truth);
    assertMatchesSchema('validate', report);
  });

  it('-q prints only the headline and the verdict', async () => {
    const path = join(dir, 'quiet.xml');
    await writeExportFile(path, { seed: 36, days: 2 });
    const full = await runCli(['validate', path]);
    const quiet = await runCli(['validate', path, '-q']);
    assert.equal(quiet.code, 0, quiet.stderr);
    const lines = quiet.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 2, quiet.stdout);
    assert.ok(full.stdout.startsWith(quiet.stdout), 'the same lines the full report starts with');
    assert.match(lines[1]!, /^Verdict: valid/);
    assert.equal(quiet.stderr, '');
  });

  it('not an export: exit 3 with a clear message and no stack trace', async () => {
    const pdf = join(dir, 'x.pdf');
    await writeFile(pdf, '%PDF-1.4\n');
    for (const p of [pdf, join(dir, 'missing.zip')]) {
      const res = await runCli(['validate', p]);
      assert.equal(res.code, 3);
      assert.match(res.stderr, /^error: .*(PDF|no such file)/m);
      assert.match(res.stderr, /^hint: /m);
      assert.doesNotMatch(res.stderr, /\n\s+at /);
      assert.equal(res.stdout, '');
    }
  });

  it('bad filter values are usage errors (exit 2)', async () => {
    const path = join(dir, 'rep.xml');
    assert.equal((await runCli(['validate', path, '--since', '2024-13-01'])).code, 2);
    assert.equal(
      (await runCli(['validate', path, '--since', '2024-02-02', '--until', '2024-02-01'])).code,
      2,
    );
  });
});

const R = (type: string, start: string, value = '1') =>
  ` <Record type="${type}" sourceName="Dana’s iPhone" unit="count" startDate="${start}" endDate="${start}" value="${value}"/>\n`;

describe('validate filters at their boundaries', () => {
  const xml = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n',
    ' <ExportDate value="2024-03-01 10:00:00 -0800"/>\n',
    R('HKQuantityTypeIdentifierStepCount', '2024-01-31 23:59:59 -0800'),
    R('HKQuantityTypeIdentifierStepCount', '2024-02-01 00:00:00 -0800'),
    R('HKQuantityTypeIdentifierHeartRate', '2024-02-01 12:00:00 -0800', '61'),
    R('HKQuantityTypeIdentifierHeartRate', '2024-02-29 23:59:59 -0800', '62'),
    R('HKQuantityTypeIdentifierHeartRate', '2024-03-01 00:00:00 -0800', '63'),
    ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="Watch" startDate="2024-02-10 07:00:00 -0800" endDate="2024-02-10 07:30:00 -0800"/>\n',
    '</HealthData>\n',
  ].join('');
  let path: string;
  before(async () => {
    path = join(dir, 'filters.xml');
    await writeFile(path, xml);
  });

  it('--since and --until are inclusive local days', async () => {
    const { report } = await validateJson(path, ['--since', '2024-02-01', '--until', '2024-02-29']);
    assert.equal(report.records.total, 3);
    assert.equal(report.records.firstStartDate, '2024-02-01 00:00:00 -0800');
    assert.equal(report.records.lastStartDate, '2024-02-29 23:59:59 -0800');
    assert.equal(report.workouts.total, 1);
    assert.equal(report.filter?.excluded, 2);
    assert.equal(report.elements.Record, 5, 'element counts cover the whole file');
  });

  it('--types takes short and full names; Workout selects workouts', async () => {
    const a = await validateJson(path, ['--types', 'HeartRate']);
    assert.deepEqual(a.report.records.byType, { HKQuantityTypeIdentifierHeartRate: 3 });
    assert.equal(a.report.workouts.total, 0);
    const b = await validateJson(path, [
      '--types',
      'HKQuantityTypeIdentifierStepCount,Workout',
      '--until',
      '2024-01-31',
    ]);
    assert.deepEqual(b.report.records.byType, { HKQuantityTypeIdentifierStepCount: 1 });
    assert.equal(b.report.workouts.total, 0);
  });
});
