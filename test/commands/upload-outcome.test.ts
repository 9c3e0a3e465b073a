/**
 * The backend imports what validate predicted, for exports whose naive import would skip or fail:
 * iOS 8-era compact dates, the same workout from two apps on one device model, Correlation members
 * without a top-level copy, a truncated export, and a second cumulative export that extends the
 * first. Against the contract double, which imports XML as the backend does.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, type Generation, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';
import { COMPACT_RECORD, withLastLine } from '../helpers/last-line.js';
import { type Radosgw, startRadosgw } from '../helpers/radosgw.js';
import { repairedOf } from '../helpers/repaired.js';
import { s3SettingsOf } from '../helpers/s3-backend.js';

const API_KEY = `sk-${'cd'.repeat(16)}`;
const env = { APPLE_IMPORT_API_KEY: API_KEY };
const QUIRKS = { seed: 6, compactDates: 0.1, workoutCopies: 0.6, dupExact: 0.02 };

/** The plan's line when the ledger knows what this user has (every method). */
const INCREMENTAL =
  /^Only what is new: this user already has [1-9][\d,]* types? up to \d{4}-\d\d-\d\dT[\d:.]+Z and [1-9][\d,]* workouts? from earlier uploads \(--since per type from the ledger; --full to resend every record\)\.$/m;

function toUtf16(utf8: Buffer): Buffer {
  const text = `\uFEFF${utf8.toString('utf8').replace('encoding="UTF-8"', 'encoding="UTF-16"')}`;
  return Buffer.from(text, 'utf16le');
}

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n <ExportDate value="2024-02-02 10:00:00 +0100"/>\n';

/** Blood pressure only inside its Correlations (no top-level copies), and a heart rate outside. */
function correlationOnly(): string {
  let body = '';
  for (let d = 1; d <= 3; d++) {
    const t = `2024-02-0${d} 08:00:00 +0100`;
    const rec = (type: string, v: number) =>
      `<Record type="HKQuantityTypeIdentifier${type}" sourceName="Omron" unit="mmHg" startDate="${t}" endDate="${t}" value="${v}"/>`;
    body +=
      ` <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" startDate="${t}" endDate="${t}">\n` +
      `  ${rec('BloodPressureSystolic', 120 + d)}\n  ${rec('BloodPressureDiastolic', 80 - d)}\n </Correlation>\n` +
      ` <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Omron" unit="count/min" startDate="${t}" endDate="${t}" value="${60 + d}"/>\n`;
  }
  return `${HEAD}${body}</HealthData>\n`;
}

const device = (model: string, hardware: string, software: string) =>
  ` device="&lt;&lt;HKDevice: 0x6000${hardware.length}&gt;, name:${model}, manufacturer:Apple Inc., model:${model}, hardware:${hardware}, software:${software}&gt;"`;
const PHONE_A = device('iPhone', 'iPhone12,1', '17.1');
const PHONE_B = device('iPhone', 'iPhone14,2', '17.2');
const WATCH = device('Watch', 'Watch6,2', '10.1');

/**
 * Samples the backend stores as 5 rows (contract §5.8: one per series, device model and start): two
 * apps' heart rates at one start on iPhones (one row), also written at that instant in another offset
 * (the same row), the Watch's (its own row), steps on an iPhone and steps of two apps with no device
 * (one row), and body and basal body temperature on iPhones (one series: one row).
 */
function sameKeys(): string {
  const T = '2024-02-01 08:00:00 +0100';
  const rec = (type: string, source: string, dev: string, unit: string, v: string, t = T) =>
    ` <Record type="HKQuantityTypeIdentifier${type}" sourceName="${source}"${dev} unit="${unit}" creationDate="${t}" startDate="${t}" endDate="${t}" value="${v}"/>\n`;
  return (
    HEAD +
    rec('HeartRate', 'Health', PHONE_A, 'count/min', '60') +
    rec('HeartRate', 'Pulse App', PHONE_B, 'count/min', '62') +
    rec('HeartRate', 'Pulse App', PHONE_B, 'count/min', '63', '2024-02-01 09:00:00 +0200') +
    rec('HeartRate', 'Watch', WATCH, 'count/min', '61') +
    rec('StepCount', 'Health', PHONE_A, 'count', '12') +
    rec('StepCount', 'Pedometer', '', 'count', '14') +
    rec('StepCount', 'Counter', '', 'count', '15') +
    rec('BodyTemperature', 'Health', PHONE_A, 'degC', '36.6') +
    rec('BasalBodyTemperature', 'Cycle App', PHONE_B, 'degC', '36.4') +
    '</HealthData>\n'
  );
}

interface Predicted {
  records: number;
  workouts: number;
  sleep: number;
  total: number;
}

describe('upload --method direct makes the outcome validate predicts', () => {
  let double: BackendDouble;
  let cli: CliEnv;
  let dir: string;

  before(async () => {
    double = await startBackendDouble({ seed: { apiKeys: [API_KEY] }, directDelayMs: 1 });
    cli = await CliEnv.create(double.url);
    dir = await mkdtemp(join(tmpdir(), 'upload-outcome-'));
  });
  after(async () => {
    await double.close();
    await cli.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function predict(
    file: string,
  ): Promise<Predicted & { repairs: Record<string, number>; sameKey: number }> {
    const v = await cli.run(['validate', file, '--json'], { env });
    assert.equal(v.code, 0, v.stderr);
    const doc = JSON.parse(v.stdout);
    assert.deepEqual(doc.importFails, []);
    const { records, workouts, sleep, total } = doc.willImport;
    return {
      records,
      workouts,
      sleep,
      total,
      repairs: doc.willRepair.byKind,
      sameKey: doc.duplicates.sameKey,
    };
  }

  function stored(userId: string): Predicted {
    const c = double.counts(userId);
    return {
      records: c.records,
      workouts: c.workouts,
      sleep: c.sleep,
      total: c.records + c.workouts + c.sleep,
    };
  }

  function failedTasks(userId: string): string[] {
    return (double.state.syncEvents.get(userId) ?? [])
      .filter((e) => e.stage === 'failed')
      .map((e) => e.error ?? '');
  }

  it('compact dates and colliding workouts: imported as predicted; a second cumulative export sends only the new part', async () => {
    const first = join(dir, 'first.xml');
    const second = join(dir, 'second.xml');
    await writeExportFile(first, { ...QUIRKS, days: 12 });
    await writeExportFile(second, { ...QUIRKS, days: 20 });
    const user = double.createUser({}).id;

    const p1 = await predict(first);
    assert.ok((p1.repairs['date-format'] ?? 0) > 0, 'the export has compact dates');
    assert.ok((p1.repairs['workout-collision'] ?? 0) > 0, 'the export has colliding workouts');
    const u1 = await cli.run(['upload', first, '--user', user, '--method', 'direct', '--wait', '--json'], {
      env,
    });
    assert.equal(u1.code, 0, u1.stderr);
    await double.idle();
    assert.deepEqual(failedTasks(user), []);
    const { repairs: _r1, sameKey: _k1, ...want1 } = p1;
    assert.deepEqual({ ...stored(user) }, { ...want1, total: want1.total });
    const doc1 = JSON.parse(u1.stdout);
    assert.equal(doc1.verification.ok, true);
    assert.equal(doc1.verification.imported, doc1.verification.predicted);
    assert.equal(doc1.verification.predicted, doc1.records);
    assert.equal(doc1.dropped['workout-collision'].total, p1.repairs['workout-collision']);
    // The repair names both sides: the Watch's workout kept, the other app's copy left out.
    const c = doc1.repairs.workoutCollisions[0];
    assert.equal(c.again.sourceName, 'Fitness Copy');
    assert.notEqual(c.first.sourceName, 'Fitness Copy');
    assert.ok(doc1.repairs.datesRewritten > 0);

    const p2 = await predict(second);
    const u2 = await cli.run(['upload', second, '--user', user, '--method', 'direct', '--wait', '--json'], {
      env,
    });
    assert.equal(u2.code, 0, u2.stderr);
    assert.doesNotMatch(u1.stderr, INCREMENTAL);
    assert.match(u2.stderr, INCREMENTAL);
    await double.idle();
    assert.deepEqual(failedTasks(user), [], 'no task fails on the workouts already imported');
    const { repairs: _r2, sameKey: _k2, ...want2 } = p2;
    assert.deepEqual(stored(user), want2);
    const doc2 = JSON.parse(u2.stdout);
    // Only the new part went: the records sent are far fewer than the export holds.
    assert.ok(doc2.records < p2.total - p1.total + p1.total / 4, `${doc2.records} sent`);
    assert.ok(doc2.dropped['already-imported'].total > 0);
    assert.ok(
      doc2.dropped['already-imported'].byType.Workout > 0,
      'the workouts of the first export are not sent',
    );
  });

  it('sdk: colliding workouts left out, and a second cumulative export sends only the new part, by the same ledger', async () => {
    const first = join(dir, 'sdk-first.xml');
    const second = join(dir, 'sdk-second.xml');
    await writeExportFile(first, { ...QUIRKS, days: 12 });
    await writeExportFile(second, { ...QUIRKS, days: 20 });
    const user = double.createUser({}).id;
    const sdk = async (file: string) => {
      const u = await cli.run(['upload', file, '--user', user, '--method', 'sdk', '--wait', '--json'], {
        env,
      });
      assert.equal(u.code, 0, u.stderr);
      await double.idle();
      return { ...JSON.parse(u.stdout), stderr: u.stderr };
    };
    const p1 = await predict(first);
    const d1 = await sdk(first);
    assert.equal(d1.dropped['workout-collision'].total, p1.repairs['workout-collision']);
    assert.equal(d1.verification.ok, true);
    assert.equal(d1.verification.imported, d1.verification.predicted);
    assert.equal(d1.verification.records.imported, double.counts(user).records);
    assert.equal(double.counts(user).workouts, p1.workouts);

    const p2 = await predict(second);
    const d2 = await sdk(second);
    assert.doesNotMatch(d1.stderr, INCREMENTAL);
    assert.match(d2.stderr, INCREMENTAL);
    assert.ok(d2.dropped['already-imported'].byType.Workout > 0, 'the first export’s workouts are not sent');
    assert.ok(d2.records < p2.total - p1.total + p1.total / 4, `${d2.records} sent`);
    assert.equal(double.counts(user).workouts, p2.workouts);
    // The records of both exports, each stored once (the series written from workouts' metadata aside).
    assert.equal(double.imports(user).records.filter((r) => r.type !== null).length, p2.records);
    assert.equal(double.counts(user).sleep, p2.sleep);
    assert.deepEqual(failedTasks(user), []);
    // Only the new part is expected, the boundary records sent again aside, and it is what was stored.
    const v2 = d2.verification;
    assert.equal(v2.ok, true);
    assert.equal(v2.records.imported, double.counts(user).records - d1.verification.records.imported);
    assert.equal(v2.records.imported, v2.records.predicted);
    assert.equal(v2.workouts.imported, v2.workouts.predicted);
  });

  it('a Correlation member without a top-level copy is imported, as validate counts it', async () => {
    const T = '2024-02-01 08:00:00 +0100';
    const rec = (type: string, v: string) =>
      `<Record type="${type}" sourceName="Omron" unit="mmHg" startDate="${T}" endDate="${T}" value="${v}"/>`;
    const file = join(dir, 'correlation.xml');
    await writeFile(
      file,
      `<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n <ExportDate value="2024-02-02 10:00:00 +0100"/>\n` +
        ` <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" startDate="${T}" endDate="${T}">\n` +
        `  ${rec('HKQuantityTypeIdentifierBloodPressureSystolic', '121')}\n  ${rec('HKQuantityTypeIdentifierBloodPressureDiastolic', '79')}\n` +
        ` </Correlation>\n ${rec('HKQuantityTypeIdentifierHeartRate', '61')}\n</HealthData>\n`,
    );
    const user = double.createUser({}).id;
    const p = await predict(file);
    assert.equal(p.records, 3);
    const u = await cli.run(['upload', file, '--user', user, '--method', 'direct', '--wait', '--json'], {
      env,
    });
    assert.equal(u.code, 0, u.stderr);
    await double.idle();
    const { repairs: _r, sameKey: _k, ...want } = p;
    assert.deepEqual(stored(user), want);
  });

  /**
   * Each input the issue names, by direct and by sdk with --wait: the backend stores what validate
   * predicted, and no batch fails. (A second cumulative export: the first two tests.)
   */
  const INPUTS: { name: string; make(path: string): Promise<void> }[] = [
    {
      name: 'iOS 8-era dates (20141018163200+0100)',
      make: async (path) => {
        await writeExportFile(path, { seed: 11, days: 4, compactDates: 0.3 });
      },
    },
    {
      name: 'Correlation members without a top-level copy',
      make: (path) => writeFile(path, correlationOnly()),
    },
    {
      name: 'UTF-16 with a BOM',
      make: async (path) => {
        await writeExportFile(`${path}.utf8`, { seed: 12, days: 3 });
        await writeFile(path, toUtf16(await readFile(`${path}.utf8`)));
      },
    },
    {
      name: 'two apps’ samples of one type, device model and start',
      make: (path) => writeFile(path, sameKeys()),
    },
  ];
  const SAME_KEYS = 3;
  for (const method of ['direct', 'sdk'] as const)
    for (const [i, input] of INPUTS.entries())
      it(`${method} --wait, ${input.name}: the backend stores what validate predicted`, async () => {
        const file = join(dir, `input-${method}-${i}.xml`);
        await input.make(file);
        const p = await predict(file);
        assert.ok(p.total > 0);
        if (i === SAME_KEYS) assert.deepEqual([p.records, p.sameKey], [5, 4]);
        const user = double.createUser({}).id;
        const u = await cli.run(['upload', file, '--user', user, '--method', method, '--wait', '--json'], {
          env,
        });
        assert.equal(u.code, 0, u.stderr);
        await double.idle();
        assert.deepEqual(failedTasks(user), []);
        const { repairs: _r, sameKey, ...want } = p;
        const got = stored(user);
        if (method === 'direct') {
          assert.deepEqual(got, want);
          const doc = JSON.parse(u.stdout);
          assert.equal(doc.verification.ok, true);
          assert.equal(doc.verification.imported, doc.verification.predicted);
          return;
        }
        // The SDK route also writes series from workouts' metadata (weather, METs; contract §6.2), and
        // its data source is the app as well as the device model (§6.1): two apps' samples of one key
        // are a row each there, which validate's XML-path rows count once.
        const fromSamples = double.imports(user).records.filter((r) => r.type !== null).length;
        assert.deepEqual({ ...got, records: 0, total: 0 }, { ...want, records: 0, total: 0 });
        if (i === SAME_KEYS) assert.equal(fromSamples, 8, 'one row per app, device model, series and start');
        else assert.equal(fromSamples, want.records);
        // What the sdk batches were expected to store counts those rows too, and is what was stored.
        const v = JSON.parse(u.stdout).verification;
        assert.equal(v.ok, true);
        assert.deepEqual(
          [v.records.predicted, v.workouts.predicted, v.sleep.predicted],
          [got.records, got.workouts, got.sleep],
        );
        assert.equal(v.imported, v.predicted);
      });

  it('--wait: a workout the server got from elsewhere fails the batch; the message says so in plain words, exit 1', async () => {
    const file = join(dir, 'elsewhere.xml');
    await writeExportFile(file, { seed: 9, days: 6 });
    const user = double.createUser({}).id;
    // The same export imported before by another client: the server has its workouts, this ledger does not.
    await double.importXml(user, 'other-client.xml', await readFile(file));
    const u = await cli.run(['upload', file, '--user', user, '--method', 'direct', '--wait'], { env });
    assert.equal(u.code, 1, u.stderr);
    assert.match(
      u.stderr,
      /error: the server already has a workout with the start, end and device model of one of the workouts in batch \d+ \(imported before/,
    );
    assert.match(u.stderr, /hint: send the rest with --exclude-types Workout/);
    assert.doesNotMatch(u.stderr, /re-run the same command/);
    assert.doesNotMatch(u.stderr, /UniqueViolation|§/);
    assert.match(
      u.stderr,
      /The backend imported [\d,]+ items?; apple-import predicted [\d,]+ for the [\d,]+ batch(es)? followed/,
    );
  });

  it('a truncated export sends nothing: exit 3, and the message says so', async () => {
    const file = join(dir, 'truncated.xml');
    const truth = await writeExportFile(join(dir, 'whole.xml'), { seed: 2, days: 4 });
    await writeExportFile(file, { seed: 2, days: 4, truncateAt: Math.floor(truth.bytes * 0.7) });
    const user = double.createUser({}).id;
    const before = double.state.directUploads.length;
    const u = await cli.run(['upload', file, '--user', user, '--method', 'direct', '--json'], { env });
    assert.equal(u.code, 3, u.stderr);
    assert.match(
      u.stderr,
      /^error: .*truncated\.xml cannot be uploaded: end of input inside markup at line \d+:\d+\.$/m,
    );
    assert.doesNotMatch(u.stderr, /was sent/);
    assert.equal(double.state.directUploads.length, before, 'no batch reached the backend');
    assert.equal(stored(user).total, 0);
  });
});

describe('upload (s3) sends the document whose import validate predicts', () => {
  let rgw: Radosgw;
  let dir: string;
  before(async () => {
    rgw = await startRadosgw({ bucket: 'uploads' });
    dir = await mkdtemp(join(tmpdir(), 'upload-outcome-s3-'));
  });
  after(async () => {
    await rgw.stop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const generation of ['2026-08', 'current'] as Generation[]) {
    it(`${generation}: compact dates and colliding workouts repaired; the second cumulative export sends only the new part`, async () => {
      const double = await startBackendDouble({
        generation,
        completionMode: 'sns',
        seed: { apiKeys: [API_KEY] },
        directDelayMs: 1,
        s3: s3SettingsOf(rgw),
      });
      const cli = await CliEnv.create(double.url);
      try {
        const first = join(dir, `first-${generation}.xml`);
        const second = join(dir, `second-${generation}.xml`);
        await writeExportFile(first, { ...QUIRKS, days: 12 });
        await writeExportFile(second, { ...QUIRKS, days: 20 });
        const user = double.createUser({}).id;
        const predict = async (file: string) => {
          const v = await cli.run(['validate', file, '--json'], { env });
          assert.equal(v.code, 0, v.stderr);
          const doc = JSON.parse(v.stdout);
          assert.deepEqual(doc.importFails, []);
          const { records, workouts, sleep } = doc.willImport;
          return { doc, want: { records, workouts, sleep } };
        };
        const upload = async (file: string) => {
          const u = await cli.run(['upload', file, '--user', user, '--json'], { env });
          assert.equal(u.code, 0, u.stderr);
          const doc = JSON.parse(u.stdout);
          // Radosgw notifies nobody: a presigned POST's objects are announced here; after a multipart
          // upload the double itself stands in for the notification (sns mode).
          if (doc.transport === 'post') for (const p of doc.parts) double.notifyObjectCreated(p.fileKey);
          await double.idle();
          return { doc, stderr: u.stderr };
        };
        const stored = () => {
          const c = double.counts(user);
          return { records: c.records, workouts: c.workouts, sleep: c.sleep };
        };

        const p1 = await predict(first);
        assert.ok(p1.doc.willRepair.byKind['date-format'] > 0);
        assert.ok(p1.doc.willRepair.byKind['workout-collision'] > 0);
        const u1 = await upload(first);
        assert.match(
          u1.stderr,
          /apple-import repairs: [\d,]+ elements? with compact dates rewritten, [\d,]+ colliding workouts? left out/,
        );
        assert.deepEqual(
          double.state.s3Imports.map((t) => t.status),
          ['completed'],
        );
        assert.deepEqual(stored(), p1.want);

        const p2 = await predict(second);
        const u2 = await upload(second);
        assert.match(u2.stderr, /[\d,]+ records? and [1-9][\d,]* workouts? the server already has left out/);
        assert.doesNotMatch(u1.stderr, INCREMENTAL);
        assert.match(u2.stderr, INCREMENTAL);
        assert.deepEqual(
          double.state.s3Imports.map((t) => t.status),
          ['completed', 'completed'],
          'no task fails',
        );
        assert.deepEqual(stored(), p2.want);
        // The second document holds only the new part (and the records at each type's boundary).
        const sentItems = double.state.s3Imports[1]!.items ?? 0;
        assert.ok(
          sentItems < p2.doc.willImport.itemsProcessed - p1.doc.willImport.itemsProcessed + 100,
          `${sentItems} items`,
        );
      } finally {
        await double.close();
        await cli.dispose();
      }
    });
  }

  /** A server before August 2026 (the presigned POST), against the same radosgw. */
  async function onOldServer(fn: (double: BackendDouble, cli: CliEnv) => Promise<void>): Promise<void> {
    const double = await startBackendDouble({
      generation: '2026-08',
      seed: { apiKeys: [API_KEY] },
      s3: s3SettingsOf(rgw),
    });
    const cli = await CliEnv.create(double.url);
    try {
      await fn(double, cli);
    } finally {
      await double.close();
      await cli.dispose();
    }
  }

  it('a change the filter finds late: the POST ends before its last byte, S3 keeps only the filtered document', async () => {
    await onOldServer(async (double, cli) => {
      const plain = join(dir, 'plain.xml');
      await writeExportFile(plain, { seed: 4, days: 40 });
      // Past the head the worker reads before a POST is started: the change is found while it is sent.
      assert.ok((await readFile(plain)).length > 6 * 1024 * 1024, 'the export is larger than the head');
      const late = await withLastLine(plain, join(dir, 'late.xml'), COMPACT_RECORD);
      const user = double.createUser({}).id;
      const u = await cli.run(['upload', late, '--user', user, '--json'], { env });
      assert.equal(u.code, 0, u.stderr);
      assert.match(u.stderr, /apple-import repairs: 1 element with compact dates rewritten/);
      assert.equal(u.stderr.match(/^backend: /gm)?.length, 1, u.stderr);
      const doc = JSON.parse(u.stdout);
      assert.equal(doc.transport, 'post');
      // Two presigns: the plain POST, ended short once the change was found, then the filtered one.
      const presigns = double.state.requests.filter(
        (q) => q.method === 'POST' && q.path.endsWith(`/users/${user}/import/apple/xml/s3`),
      );
      assert.equal(presigns.length, 2);
      const keys = await rgw.listKeys(`${user}/`);
      assert.deepEqual(
        keys,
        doc.parts.map((p: { fileKey: string }) => p.fileKey),
        'only the filtered object',
      );
      const object = await rgw.getObject(keys[0]!);
      assert.equal(object.length, doc.bytesSent);
      const text = object.toString('latin1');
      assert.match(text, /startDate="2026-01-01 12:00:00 \+0100" endDate="2026-01-01 12:01:00 \+0100"/);
      assert.doesNotMatch(text, /="20260101/);

      // The plain export, unchanged by the filter, goes in one POST: the object is its repaired stream.
      const other = double.createUser({}).id;
      const p = await cli.run(['upload', plain, '--user', other, '--json'], { env });
      assert.equal(p.code, 0, p.stderr);
      assert.doesNotMatch(p.stderr, /apple-import repairs/);
      const [key] = await rgw.listKeys(`${other}/`);
      assert.ok((await rgw.getObject(key!)).equals(await repairedOf(plain)));
    });
  });

  it('damage the worker finds past the head: the POST ends short, S3 keeps nothing, exit 3', async () => {
    await onOldServer(async (double, cli) => {
      const plain = join(dir, 'plain-damaged.xml');
      await writeExportFile(plain, { seed: 5, days: 40 });
      const broken = await withLastLine(
        plain,
        join(dir, 'late-broken.xml'),
        ' <Record type="HKQuantityTypeIdentifierStepCount" <oops/>',
      );
      const user = double.createUser({}).id;
      const u = await cli.run(['upload', broken, '--user', user, '--json'], { env });
      assert.equal(u.code, 3, u.stderr);
      assert.match(u.stderr, /cannot be uploaded: /);
      assert.equal(JSON.parse(u.stdout).error.code, 'INPUT_INVALID');
      // The POST was started (the damage lies past the head), and S3 kept nothing of it.
      assert.equal(double.state.presigns.length, 1);
      assert.deepEqual(await rgw.listKeys(`${user}/`), []);
    });
  });
});

describe('upload (s3) on a current backend in client mode: multipart and the direct route send the filtered document', () => {
  const MIB = 1024 * 1024;
  let rgw: Radosgw;
  let dir: string;
  before(async () => {
    rgw = await startRadosgw({ bucket: 'uploads' });
    dir = await mkdtemp(join(tmpdir(), 'upload-outcome-mp-'));
  });
  after(async () => {
    await rgw.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup() {
    const double = await startBackendDouble({
      generation: 'current',
      completionMode: 'client',
      partSize: 5 * MIB,
      seed: { apiKeys: [API_KEY] },
      directDelayMs: 1,
      retryDelayMs: () => 1,
      s3: s3SettingsOf(rgw),
    });
    const cli = await CliEnv.create(double.url);
    const user = double.createUser({}).id;
    const predict = async (file: string) => {
      const v = await cli.run(['validate', file, '--json'], { env });
      assert.equal(v.code, 0, v.stderr);
      const doc = JSON.parse(v.stdout);
      assert.deepEqual(doc.importFails, []);
      const { records, workouts, sleep } = doc.willImport;
      return { doc, want: { records, workouts, sleep } };
    };
    const upload = async (file: string, ...extra: string[]) => {
      const u = await cli.run(['upload', file, '--user', user, '--wait', '--json', ...extra], { env });
      assert.equal(u.code, 0, u.stderr);
      await double.idle();
      return { doc: JSON.parse(u.stdout), stderr: u.stderr };
    };
    const stored = () => {
      const c = double.counts(user);
      return { records: c.records, workouts: c.workouts, sleep: c.sleep };
    };
    const failed = () =>
      (double.state.syncEvents.get(user) ?? []).filter((e) => e.stage === 'failed').map((e) => e.error ?? '');
    const close = async () => {
      await double.close();
      await cli.dispose();
    };
    return { double, cli, user, predict, upload, stored, failed, close };
  }

  /**
   * A first export with compact dates and colliding workouts, then a second cumulative one that extends it,
   * both sent the way `transport` says: each imported as validate predicts, no task failing, the second
   * with what the server has left out.
   */
  async function cumulative(
    t: Awaited<ReturnType<typeof setup>>,
    name: string,
    days: [number, number],
    transport: string,
  ) {
    const first = join(dir, `${name}-first.xml`);
    const second = join(dir, `${name}-second.xml`);
    await writeExportFile(first, { ...QUIRKS, days: days[0] });
    await writeExportFile(second, { ...QUIRKS, days: days[1] });
    const p1 = await t.predict(first);
    assert.ok(p1.doc.willRepair.byKind['date-format'] > 0);
    assert.ok(p1.doc.willRepair.byKind['workout-collision'] > 0);
    const u1 = await t.upload(first);
    assert.equal(u1.doc.transport, transport);
    assert.match(
      u1.stderr,
      /apple-import repairs: [\d,]+ elements? with compact dates rewritten, [\d,]+ colliding workouts? left out/,
    );
    assert.equal(u1.doc.imported.stage, 'completed');
    assert.deepEqual(t.failed(), []);
    assert.deepEqual(t.stored(), p1.want);

    const p2 = await t.predict(second);
    const u2 = await t.upload(second);
    assert.equal(u2.doc.transport, transport);
    assert.match(u2.stderr, /[\d,]+ records? and [1-9][\d,]* workouts? the server already has left out/);
    assert.doesNotMatch(u1.stderr, INCREMENTAL);
    assert.match(u2.stderr, INCREMENTAL);
    assert.equal(u2.doc.imported.stage, 'completed');
    assert.deepEqual(t.failed(), [], 'no task fails on the workouts already imported');
    assert.deepEqual(t.stored(), p2.want);
    return { p1, p2, u1, u2, secondBytes: (await readFile(second)).length };
  }

  it('multipart: compact dates and colliding workouts repaired, imported as predicted; the second cumulative export sends only the new part', async () => {
    const t = await setup();
    try {
      const { p1, p2, u1, u2, secondBytes } = await cumulative(t, 'mp', [12, 40], 'multipart');
      assert.ok(u1.doc.parts.length >= 2, `${u1.doc.parts.length} parts`);
      // The object S3 completed is the filtered document: its size the one create was told.
      const object = await rgw.getObject(u1.doc.multipart.key);
      assert.equal(object.length, u1.doc.bytes);
      assert.doesNotMatch(object.subarray(0, 4096).toString('latin1'), /<!DOCTYPE/);
      const imports = t.double.state.s3Imports;
      assert.deepEqual(
        imports.map((i) => i.status),
        ['completed', 'completed'],
      );
      const sentItems = imports[1]!.items ?? 0;
      assert.ok(
        sentItems < p2.doc.willImport.itemsProcessed - p1.doc.willImport.itemsProcessed + 100,
        `${sentItems} items`,
      );
      assert.ok(u2.doc.bytes < secondBytes * 0.85, `${u2.doc.bytes} bytes sent`);
    } finally {
      await t.close();
    }
  });

  /** An upload of `file` interrupted (Ctrl-C) once the ledger records a stored part of a filtered document. */
  async function interrupted(t: Awaited<ReturnType<typeof setup>>, file: string): Promise<void> {
    const ledgerDir = join(t.cli.configDir, 'ledger');
    const ac = new AbortController();
    const watcher = (async () => {
      while (!ac.signal.aborted) {
        const files = (await readdir(ledgerDir).catch(() => [] as string[])).filter((n) =>
          n.endsWith('.json'),
        );
        for (const f of files) {
          const entry = JSON.parse(await readFile(join(ledgerDir, f), 'utf8').catch(() => '{}'));
          if ((entry.parts?.length ?? 0) >= 1 && entry.upload?.filter) ac.abort();
        }
        await delay(5);
      }
    })();
    const r = await t.cli.run(['upload', file, '--user', t.user, '--concurrency', '1'], {
      env,
      signal: ac.signal,
    });
    await watcher;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /multipart upload is kept/);
  }

  it('multipart: an interrupted filtered upload resumes with only the missing parts', async () => {
    const t = await setup();
    try {
      const file = join(dir, 'mp-resume.xml');
      await writeExportFile(file, { ...QUIRKS, days: 30 });
      const p = await t.predict(file);
      await interrupted(t, file);
      const resumed = await t.upload(file);
      assert.match(resumed.stderr, /Resuming: [1-9]\d* of \d+/);
      assert.equal(t.double.state.multipartUploads.length, 1, 'the same upload, not a new one');
      const kept = resumed.doc.parts.filter((x: { resumed: boolean }) => x.resumed).length;
      assert.ok(kept >= 1 && kept < resumed.doc.parts.length, `${kept} parts resumed`);
      assert.deepEqual(t.failed(), []);
      assert.deepEqual(t.stored(), p.want);
    } finally {
      await t.close();
    }
  });

  it('multipart: an unfinished filtered upload whose filter inputs changed since (another export imported) starts afresh', async () => {
    const t = await setup();
    try {
      const later = join(dir, 'mp-later.xml');
      const earlier = join(dir, 'mp-earlier.xml');
      await writeExportFile(later, { ...QUIRKS, days: 30 });
      await writeExportFile(earlier, { ...QUIRKS, days: 20 });
      const p = await t.predict(later);
      await interrupted(t, later);
      const [unfinished] = t.double.state.multipartUploads;
      // Meanwhile an earlier export of the same history is imported: what the server has is no longer what
      // the unfinished upload's document was filtered by.
      await t.upload(earlier);
      const again = await t.upload(later);
      assert.match(again.stderr, /was of another document .*starting it afresh/);
      assert.doesNotMatch(again.stderr, /Resuming/);
      assert.equal(unfinished!.aborted, true, 'the unfinished upload is aborted on the server');
      assert.notEqual(again.doc.multipart.uploadId, unfinished!.uploadId);
      assert.deepEqual(t.failed(), []);
      assert.deepEqual(t.stored(), p.want);
    } finally {
      await t.close();
    }
  });

  it('small-direct: an export under 5 MiB goes filtered to the direct route; the second cumulative export sends only the new part', async () => {
    const t = await setup();
    try {
      const { u1, u2, secondBytes } = await cumulative(t, 'sd', [5, 8], 'direct');
      assert.equal(t.double.state.directUploads[0]!.bytes.length, u1.doc.bytes);
      assert.ok(u2.doc.bytes < secondBytes * 0.6, `${u2.doc.bytes} bytes sent`);
      assert.equal(t.double.state.multipartUploads.length, 0);
    } finally {
      await t.close();
    }
  });
});
