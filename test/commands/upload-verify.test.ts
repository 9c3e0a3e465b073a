/**
 * `upload --wait` over S3 checks what the backend stored: the user's summary before the upload and after
 * the import, next to what the model predicts of the document sent. By multipart on a current backend
 * (whose import events carry no counts) and by presigned POST on a server before August 2026 (which emits
 * no events at all), against real radosgw and the contract double: as predicted (exit 0), a cumulative
 * second export, an import that comes short (exit 1), and one that fails on a workout the server has.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, type Generation, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';
import { type Radosgw, startRadosgw } from '../helpers/radosgw.js';
import { s3SettingsOf } from '../helpers/s3-backend.js';
import type { Verification } from '../helpers/verification.js';

const API_KEY = `sk-${'ef'.repeat(16)}`;
const env = { APPLE_IMPORT_API_KEY: API_KEY };
/** recordCopies: two apps' samples of one type, device model and start, which the backend stores as one row. */
const QUIRKS = { seed: 6, compactDates: 0.1, workoutCopies: 0.6, dupExact: 0.02, recordCopies: 0.1 };
const MIB = 1024 * 1024;

describe('upload --wait (s3): what the backend stored, by the user’s summary, next to the prediction', () => {
  let rgw: Radosgw;
  let dir: string;
  before(async () => {
    rgw = await startRadosgw({ bucket: 'uploads' });
    dir = await mkdtemp(join(tmpdir(), 'upload-verify-'));
  });
  after(async () => {
    await rgw.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(generation: Generation) {
    const double = await startBackendDouble({
      generation,
      completionMode: 'client',
      partSize: 5 * MIB,
      seed: { apiKeys: [API_KEY] },
      directDelayMs: 1,
      retryDelayMs: () => 1,
      s3: s3SettingsOf(rgw),
    });
    const cli = await CliEnv.create(double.url);
    const user = double.createUser({}).id;
    const counts = () => {
      const c = double.counts(user);
      return { records: c.records, workouts: c.workouts };
    };
    /** Per file validated: its records that share a row key with an earlier one, exact copies aside. */
    const sameKey = new Map<string, number>();
    const predict = async (file: string) => {
      const v = await cli.run(['validate', file, '--json'], { env });
      assert.equal(v.code, 0, v.stderr);
      const doc = JSON.parse(v.stdout);
      const { records, workouts, sleep } = doc.willImport;
      sameKey.set(file, doc.duplicates.sameKey - doc.duplicates.exact);
      return { records, workouts, sleep } as { records: number; workouts: number; sleep: number };
    };
    /**
     * `upload --wait` (with --json unless `text`); radosgw notifies nobody, so a presigned POST's object
     * is announced to the double once it is stored, as S3's notification would (the CLI is waiting on
     * the summary meanwhile).
     */
    const upload = async (file: string, opts: { text?: boolean; extra?: string[] } = {}) => {
      const before = counts();
      const done = new AbortController();
      const notifier = notifyStored(double, done.signal);
      const args = ['upload', file, '--user', user, '--wait', '--wait-settle', '1', ...(opts.extra ?? [])];
      const u = await cli.run(opts.text ? args : [...args, '--json'], { env }).finally(() => done.abort());
      await notifier;
      await double.idle();
      const after = counts();
      const doc = opts.text ? null : JSON.parse(u.stdout);
      return {
        code: u.code,
        stderr: u.stderr,
        doc,
        v: doc?.verification as Verification,
        gained: { records: after.records - before.records, workouts: after.workouts - before.workouts },
      };
    };
    const close = async () => {
      await double.close();
      await cli.dispose();
    };
    return { double, cli, user, predict, sameKey, upload, close };
  }

  /** Until `signal`: every presigned object radosgw holds is announced to the double once. */
  async function notifyStored(double: BackendDouble, signal: AbortSignal): Promise<void> {
    const announced = new Set<string>();
    while (!signal.aborted) {
      for (const p of double.state.presigns) {
        if (announced.has(p.fileKey)) continue;
        const keys = await rgw.listKeys(p.fileKey).catch(() => [] as string[]);
        if (keys.includes(p.fileKey)) {
          announced.add(p.fileKey);
          double.notifyObjectCreated(p.fileKey);
        }
      }
      await delay(20);
    }
  }

  const transportOf: Record<Generation, string> = { current: 'multipart', '2026-08': 'post' };

  for (const generation of ['current', '2026-08'] as Generation[]) {
    const transport = transportOf[generation];
    it(`${transport}: the summary gains what was predicted (rows, two apps' samples of one key being one), for a first and a second cumulative export; exit 0`, async () => {
      const t = await setup(generation);
      try {
        const first = join(dir, `first-${generation}.xml`);
        const second = join(dir, `second-${generation}.xml`);
        await writeExportFile(first, { ...QUIRKS, days: 12 });
        await writeExportFile(second, { ...QUIRKS, days: 16 });
        const want = await t.predict(first);
        assert.ok((t.sameKey.get(first) ?? 0) > 0, 'records from two apps share a row key');

        const u1 = await t.upload(first);
        assert.equal(u1.code, 0, u1.stderr);
        assert.equal(u1.doc.transport, transport);
        assert.equal(u1.v.ok, true);
        assert.equal(u1.v.settled, generation === 'current' ? 'events' : 'reached');
        // What the model predicted of the document sent is validate's outcome, and what the double stored.
        assert.deepEqual(
          { records: u1.v.records.predicted, workouts: u1.v.workouts.predicted, sleep: u1.v.sleep.predicted },
          want,
        );
        assert.deepEqual({ records: u1.v.records.imported, workouts: u1.v.workouts.imported }, u1.gained);
        assert.deepEqual(u1.gained, { records: want.records, workouts: want.workouts });
        assert.equal(u1.v.records.resent, 0);
        assert.ok(u1.v.sleep.sessions > 0);
        assert.equal(u1.v.bySeries.heart_rate?.imported, u1.v.bySeries.heart_rate?.predicted);
        assert.doesNotMatch(u1.stderr, /has no effect/);

        // The second export repeats the first: only the new part goes, and the records at each type's
        // boundary, sent again, may add no row: they are not expected to.
        const u2 = await t.upload(second);
        assert.equal(u2.code, 0, `${u2.stderr}${JSON.stringify(u2.v)}`);
        assert.equal(u2.v.ok, true);
        assert.ok(u2.v.records.resent > 0, 'the boundary records are counted as sent again');
        assert.deepEqual({ records: u2.v.records.imported, workouts: u2.v.workouts.imported }, u2.gained);
        assert.ok(u2.v.records.imported >= u2.v.records.predicted);
        assert.ok(u2.v.workouts.predicted > 0);
      } finally {
        await t.close();
      }
    });

    it(`${transport}: an import that comes short exits 1, naming both numbers`, async () => {
      const t = await setup(generation);
      try {
        const file = join(dir, `short-${generation}.xml`);
        await writeExportFile(file, { ...QUIRKS, days: 12 });
        const want = await t.predict(file);
        t.double.loseNextRecords(25);
        const u = await t.upload(file, { text: true });
        assert.equal(u.code, 1, u.stderr);
        assert.ok(u.gained.records < want.records, `${u.gained.records} of ${want.records}`);
        const grouped = (n: number) => n.toLocaleString('en-US');
        assert.ok(
          u.stderr.includes(
            `The backend stored ${grouped(u.gained.records)} records and ${want.workouts} workouts more (the user’s summary before and after); apple-import predicted ${grouped(want.records)} records and ${want.workouts} workouts.`,
          ),
          u.stderr,
        );
        assert.ok(
          u.stderr.includes(
            `error: The backend imported ${grouped(want.records - u.gained.records)} records fewer than predicted (`,
          ),
          u.stderr,
        );
        // The series that came short, with both numbers.
        assert.match(u.stderr, /fewer than predicted \(\w+ [\d,]+ of [\d,]+/);
        assert.doesNotMatch(u.stderr, /re-run the same command/);
      } finally {
        await t.close();
      }
    });
  }

  it('multipart: a plain export goes up while it is checked, and --wait still reads the summary before the first part', async () => {
    const t = await setup('current');
    try {
      // Nothing the filter changes and nothing on the server yet: the upload starts at once (runPlainFirst).
      const file = join(dir, 'plain-first.xml');
      await writeExportFile(file, { seed: 12, days: 12 });
      const want = await t.predict(file);
      const u = await t.upload(file, { text: true });
      assert.equal(u.code, 0, u.stderr);
      assert.match(u.stderr, /elements checked while sending/);
      assert.deepEqual(u.gained, { records: want.records, workouts: want.workouts });
      assert.doesNotMatch(u.stderr, /fewer than predicted/);
      assert.ok(
        u.stderr.includes(`apple-import predicted ${want.records.toLocaleString('en-US')} records`),
        u.stderr,
      );
    } finally {
      await t.close();
    }
  });

  it('multipart: a workout the server has from elsewhere fails the import: named in plain words, recorded, and the upload again with --force succeeds', async () => {
    const t = await setup('current');
    try {
      const file = join(dir, 'elsewhere.xml');
      await writeExportFile(file, { seed: 9, days: 14 });
      const xml = await readFile(file, 'utf8');
      // Another client imported one of the export's workouts (the third) before.
      const workouts = [...xml.matchAll(/<Workout [^>]*\/>|<Workout [^>]*[^/]>[\s\S]*?<\/Workout>/g)].map(
        (m) => m[0],
      );
      assert.ok(workouts.length >= 4, `${workouts.length} workouts`);
      const other = `<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n${workouts[2]}\n</HealthData>\n`;
      await t.double.importXml(t.user, 'other-client.xml', Buffer.from(other));
      assert.equal(t.double.counts(t.user).workouts, 1);

      const u = await t.upload(file, { text: true });
      assert.equal(u.code, 1, u.stderr);
      assert.equal(u.gained.workouts, 2, 'the two workouts before it were stored');
      const activity = /workoutActivityType="HKWorkoutActivityType(\w+)"/.exec(workouts[2]!)![1]!;
      const start = /startDate="([^"]+)"/.exec(workouts[2]!)![1]!;
      assert.ok(
        u.stderr.includes(`error: the server already has workout ${activity} from ${start}`),
        u.stderr,
      );
      assert.match(
        u.stderr,
        /hint: upload it again with --force: the workouts the server now has of those sent \(3\)/,
      );
      assert.match(u.stderr, /--method direct --exclude-types Workout sends the records alone/);
      assert.doesNotMatch(u.stderr, /UniqueViolation|event_record_detail_pkey|re-run the same command|§/);

      // The same for another user, in --json: the workout and what the ledger learnt, under `verification`.
      const t2 = await setup('current');
      try {
        await t2.double.importXml(t2.user, 'other-client.xml', Buffer.from(other));
        const j = await t2.upload(file);
        assert.equal(j.code, 1, j.stderr);
        assert.equal(j.doc.imported.stage, 'failed');
        assert.equal(j.v.ok, false);
        assert.equal(j.v.failed, 1);
        assert.deepEqual(j.v.stoppedAt, { activity: `HKWorkoutActivityType${activity}`, startDate: start });
        assert.equal(j.v.learnt, 3);
        assert.deepEqual(j.v.workouts, { predicted: workouts.length, imported: 2 });
      } finally {
        await t2.close();
      }

      const again = await t.upload(file, { extra: ['--force'] });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.doc.imported.stage, 'completed');
      assert.equal(again.v.ok, true);
      assert.equal(again.v.workouts.predicted, workouts.length - 3);
      assert.equal(t.double.counts(t.user).workouts, workouts.length);
    } finally {
      await t.close();
    }
  });
});

describe('upload --wait (s3) when the summary cannot be read', () => {
  it('goes on unverified, with one warning saying so', async () => {
    const rgw = await startRadosgw({ bucket: 'uploads' });
    const double = await startBackendDouble({
      seed: { apiKeys: [API_KEY] },
      directDelayMs: 1,
      s3: s3SettingsOf(rgw),
    });
    const cli = await CliEnv.create(double.url);
    const dir = await mkdtemp(join(tmpdir(), 'unverified-'));
    try {
      const file = join(dir, 'small.xml');
      await writeExportFile(file, { seed: 4, days: 3 });
      const user = double.createUser({}).id;
      double.faults.next(1, { status: 404, body: { detail: 'Not Found' } }, { path: /summaries\/data$/ });
      const u = await cli.run(['upload', file, '--user', user, '--wait', '--json'], { env });
      assert.equal(u.code, 0, u.stderr);
      const doc = JSON.parse(u.stdout);
      assert.equal(doc.imported.stage, 'completed');
      assert.equal(doc.verification, undefined);
      assert.match(
        u.stderr,
        /warning: The user’s summary could not be read \(.*\): what the backend stores is not compared with the prediction\./,
      );
    } finally {
      await double.close();
      await cli.dispose();
      await rgw.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the summary double loses records on request', () => {
  it('loseNextRecords: a direct import stores that many fewer, its task completing', async () => {
    const double = await startBackendDouble({ seed: { apiKeys: [API_KEY] }, directDelayMs: 1 });
    const dir = await mkdtemp(join(tmpdir(), 'lose-'));
    try {
      const file = join(dir, 'e.xml');
      const T = (m: number) => `2024-02-01 08:${String(m).padStart(2, '0')}:00 +0100`;
      const rec = (m: number) =>
        `<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" unit="count/min" startDate="${T(m)}" endDate="${T(m)}" value="6${m % 10}"/>`;
      await writeFile(
        file,
        `<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n${[1, 2, 3, 4, 5].map(rec).join('\n')}\n</HealthData>\n`,
      );
      const a = double.createUser({}).id;
      const b = double.createUser({}).id;
      double.loseNextRecords(2);
      await double.importXml(a, 'a.xml', await readFile(file));
      await double.importXml(b, 'b.xml', await readFile(file));
      assert.equal(double.counts(a).records, 3);
      assert.equal(double.counts(b).records, 5, 'only the next records are lost');
    } finally {
      await double.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
