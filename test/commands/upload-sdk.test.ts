// `upload --method sdk` end to end, through the real main() against the contract double (its SDK route
// validates per record, applies the SDK path's conversions, inserts workouts ON CONFLICT DO NOTHING, and
// can refuse a payload with the 503 of current backends): what arrives, re-runs, filters, Ctrl-C and
// resume, --dry-run --out, retries and the credential the route takes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { parseSyncRequest } from '../../src/sandbox/backend/sdk-schema.js';
import type { ImportedRecord } from '../../src/sandbox/backend/state.js';
import { CliEnv } from '../helpers/cli-env.js';
import { fastClock } from '../helpers/fake-clock.js';
import type { Verification } from '../helpers/verification.js';

const API_KEY = `sk-${'e7'.repeat(16)}`;
const VERSION = (
  JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const env = { APPLE_IMPORT_API_KEY: API_KEY };

interface SdkDoc {
  status: string;
  auth: string | null;
  records: number;
  syncSessionId: string;
  recordsByType: Record<string, number>;
  batches: {
    seq: number;
    state: string;
    records: number;
    workoutsSaved: number | null;
    droppedCount: number | null;
  }[];
  sent: number;
  skipped: number;
  failed: number;
  out?: { path: string; layout: string };
  verification?: Verification;
}

/** What the server holds for a user, as comparable text (ids, values, provenance, zone offsets). */
function snapshot(double: BackendDouble, userId: string) {
  const i = double.imports(userId);
  const rec = (r: ImportedRecord) =>
    `${r.type ?? 'workout statistic'}|${r.seriesType}|${r.recordedAt}|${r.stored}|${r.externalId}|${r.source}|${r.deviceModel}|${r.zoneOffset}`;
  return {
    records: i.records.map(rec).sort(),
    workouts: i.workouts
      .map(
        (w) => `${w.type}|${w.start}|${w.end}|${w.externalId}|${w.energyBurned}|${JSON.stringify(w.details)}`,
      )
      .sort(),
    sleep: i.sleep.map((s) => `${s.stage}|${s.start}|${s.end}|${s.source}`).sort(),
  };
}

/** A proxy in front of the double that records every SDK sync body and can act when one arrives. */
async function startProxy(upstream: string, onSync: (n: number) => void = () => {}) {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    res.on('error', () => {});
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && /\/sdk\/users\/[^/]+\/sync$/.test(req.url ?? '')) {
        bodies.push(body);
        onSync(bodies.length);
      }
      const up = httpRequest(
        `${upstream}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** sha256 of a sync body's `data`: the samples it carries, whatever the envelope. */
const dataDigest = (body: Buffer) =>
  createHash('sha256')
    .update(JSON.stringify((JSON.parse(body.toString('utf8')) as { data: unknown }).data))
    .digest('hex');

describe('upload --method sdk', () => {
  const sdkArgs = (user: string) => ['upload', file, '--user', user, '--method', 'sdk'];
  let double: BackendDouble;
  let cli: CliEnv;
  let dir: string;
  let file: string;

  before(async () => {
    double = await startBackendDouble({
      seed: { apiKeys: [API_KEY], developers: [{ email: 'dev@example.com', password: 'a password here' }] },
      directDelayMs: 1,
    });
    cli = await CliEnv.create(double.url);
    dir = await mkdtemp(join(tmpdir(), 'sdk-test-'));
    file = join(dir, 'export.xml');
    await writeExportFile(file, { days: 6, seed: 7, dupExact: 0.02 });
  });
  after(async () => {
    await double.close();
    await cli.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends every selected sample once, and a re-run (--force, --full) changes nothing on the server', async () => {
    const user = double.createUser({ email: 'rerun@example.com' });
    const args = [...sdkArgs(user.id), '--wait', '--json', '--batch-records', '3000'];
    const first = await cli.run(args, { env });
    assert.equal(first.code, 0, first.stderr);
    const doc = JSON.parse(first.stdout) as SdkDoc;
    assert.equal(doc.status, 'uploaded');
    assert.equal(doc.auth, 'api-key');
    assert.ok(doc.batches.length >= 3, `${doc.batches.length} batches`);
    assert.ok(
      doc.batches.every((b) => b.state === 'completed' && b.droppedCount === 0),
      'all imported, none dropped',
    );
    assert.ok(
      doc.recordsByType.Workout! > 0 && doc.recordsByType.HKCategoryTypeIdentifierSleepAnalysis! > 0,
      'workouts and sleep sent',
    );
    const batches = double.state.sdkBatches.filter((b) => b.userId === user.id);
    assert.equal(batches.length, doc.batches.length);
    // One historical session for the whole import (current page §2.5).
    assert.deepEqual([...new Set(batches.map((b) => b.runId))], [`sdk_${doc.syncSessionId}`]);
    const before = snapshot(double, user.id);
    assert.equal(before.workouts.length, doc.recordsByType.Workout);
    const samples = before.records.filter((r) => !r.startsWith('workout statistic|'));
    assert.ok(samples.length > 0, 'records stored');
    assert.deepEqual(
      samples.filter((r) => !r.includes('|apple-import:r:')),
      [],
      'every sample keeps its id',
    );
    assert.ok(
      before.records.every((r) => /\|[+-]\d\d:\d\d$/.test(r)),
      'every point keeps its zone offset',
    );

    const again = await cli.run(args, { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as SdkDoc).status, 'already-uploaded');
    assert.equal(double.state.sdkBatches.filter((b) => b.userId === user.id).length, batches.length);

    // The ledger of what the server has (shared by every method): --force sends only each type's
    // boundary, --full every record again, and neither a workout the server has.
    const forced = await cli.run([...args, '--force'], { env });
    assert.equal(forced.code, 0, forced.stderr);
    const f = JSON.parse(forced.stdout) as SdkDoc & {
      dropped: Record<string, { byType: Record<string, number> }>;
    };
    assert.ok(f.sent >= 1 && f.records < doc.records / 10, `${f.records} samples sent`);
    assert.equal(f.dropped['already-imported']?.byType.Workout, doc.recordsByType.Workout);
    const full = await cli.run([...args, '--force', '--full'], { env });
    assert.equal(full.code, 0, full.stderr);
    const u = JSON.parse(full.stdout) as SdkDoc;
    assert.equal(u.recordsByType.Workout, undefined, 'no workout the server has is sent');
    assert.equal(u.records, doc.records - doc.recordsByType.Workout!);
    // Records sent again are the same rows, and nothing fails (§6.3).
    assert.ok(
      u.batches.every((b) => b.state === 'completed' && b.workoutsSaved === 0),
      JSON.stringify(u.batches),
    );
    assert.deepEqual(snapshot(double, user.id), before, 'the same rows, values and ids');
    // Every record was sent again where the ledger says the server has it: none is expected new.
    const v = u.verification!;
    assert.equal(v.ok, true);
    assert.equal(v.records.predicted, 0);
    assert.ok(v.records.resent > 0);
    assert.deepEqual([v.imported, v.predicted], [0, 0]);
  });

  it('the same export sent again from another machine (no ledger): workouts included, nothing fails and nothing changes', async () => {
    const user = double.createUser({ email: 'elsewhere@example.com' });
    const args = [...sdkArgs(user.id), '--wait', '--json', '--batch-records', '3000'];
    const first = await cli.run(args, { env });
    assert.equal(first.code, 0, first.stderr);
    const before = snapshot(double, user.id);
    const doc = JSON.parse(first.stdout) as SdkDoc;
    const other = await CliEnv.create(double.url);
    let third: CliEnv | undefined;
    try {
      const again = await other.run(args, { env });
      assert.equal(again.code, 0, again.stderr);
      const d = JSON.parse(again.stdout) as SdkDoc;
      assert.equal(d.status, 'uploaded');
      // The whole export again, its workouts too: the route inserts them ON CONFLICT DO NOTHING (§6.3).
      assert.deepEqual(d.recordsByType, doc.recordsByType);
      assert.ok(d.recordsByType.Workout! > 0);
      assert.ok(
        d.batches.every((b) => b.state === 'completed' && b.workoutsSaved === 0 && b.droppedCount === 0),
        JSON.stringify(d.batches),
      );
      assert.deepEqual(snapshot(double, user.id), before, 'the same rows, values and ids');
      // This machine's ledger knows of no earlier upload: nothing gained is within what the user had.
      const v = d.verification!;
      assert.equal(v.ok, true);
      assert.equal(v.imported, 0);
      assert.deepEqual(v.alreadyThere, { records: v.records.predicted, workouts: v.workouts.predicted });
      const human = await (third = await CliEnv.create(double.url)).run(
        args.filter((a) => a !== '--json'),
        { env },
      );
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stderr, /not gained may be rows the server had already/);
    } finally {
      await other.dispose();
      await third?.dispose();
    }
  });

  it('--wait: the rows the summary gained are those the batches were expected to store, exit 0', async () => {
    const user = double.createUser({ email: 'verified@example.com' });
    const r = await cli.run([...sdkArgs(user.id), '--wait', '--json', '--batch-records', '2000'], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as SdkDoc;
    const v = doc.verification!;
    const i = double.imports(user.id);
    assert.equal(v.ok, true);
    assert.equal(v.units, doc.batches.length);
    assert.equal(v.failed, 0);
    // The workouts' values stored as series (weather, METs, …) are among the rows expected.
    assert.ok(i.records.some((x) => x.type === null));
    assert.deepEqual(
      [v.records.predicted, v.workouts.predicted, v.sleep.predicted],
      [i.records.length, i.workouts.length, i.sleep.length],
    );
    assert.deepEqual([v.records.imported, v.workouts.imported], [i.records.length, i.workouts.length]);
    assert.equal(v.imported, v.predicted);
    for (const [series, n] of Object.entries(v.bySeries)) assert.equal(n.imported, n.predicted, series);
  });

  it('--wait: a backend that stores fewer rows than the batches hold is a failure, both numbers printed, exit 1', async () => {
    const user = double.createUser({ email: 'short@example.com' });
    double.loseNextRecords(7);
    const r = await cli.run([...sdkArgs(user.id), '--wait', '--batch-records', '2000'], { env });
    assert.equal(r.code, 1, r.stderr);
    const m =
      /The backend stored ([\d,]+) records? and ([\d,]+) workouts? more \(the user’s summary before and after\); apple-import predicted ([\d,]+) records? and ([\d,]+) workouts?\./.exec(
        r.stderr,
      );
    assert.ok(m, r.stderr);
    const n = (k: number) => Number(m[k]!.replace(/,/g, ''));
    assert.equal(n(3) - n(1), 7);
    assert.equal(n(2), n(4));
    assert.match(r.stderr, /^error: The backend imported 7 records fewer than predicted \(/m);
    assert.doesNotMatch(r.stderr, /re-run the same command/);
  });

  it('--wait: once the ledger says what the server has, a shortfall on a later export is a failure, not "already there"', async () => {
    const user = double.createUser({ email: 'later@example.com' });
    const first = await cli.run([...sdkArgs(user.id), '--wait'], { env });
    assert.equal(first.code, 0, first.stderr);
    // A later cumulative export: the server has the first part (the ledger says so), the rest is new.
    const later = join(dir, 'later.xml');
    await writeExportFile(later, { days: 9, seed: 7, dupExact: 0.02 });
    double.loseNextRecords(5);
    const r = await cli.run(['upload', later, '--user', user.id, '--method', 'sdk', '--wait'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^error: The backend imported 5 records fewer than predicted \(/m);
    assert.doesNotMatch(r.stderr, /may be rows the server had already/);
  });

  it('tells apps and devices apart, and keeps each record in the unit of its series', async () => {
    const user = double.createUser({ email: 'provenance@example.com' });
    const r = await cli.run([...sdkArgs(user.id), '--wait', '--json'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const i = double.imports(user.id);
    const sources = new Set(i.records.map((x) => `${x.source}|${x.deviceModel}`));
    assert.ok(sources.size >= 2, [...sources].join(', '));
    const spo2 = i.records.filter((x) => x.seriesType === 'oxygen_saturation').map((x) => Number(x.stored));
    assert.ok(
      spo2.length > 0 && spo2.every((v) => v > 80 && v <= 100),
      `SpO2 in percent: ${spo2.slice(0, 3)}`,
    );
    const steps = i.records
      .filter((x) => x.seriesType === 'walking_step_length')
      .map((x) => Number(x.stored));
    assert.ok(
      steps.length > 0 && steps.every((v) => v > 30 && v < 120),
      `step length in cm: ${steps.slice(0, 3)}`,
    );
    const running = i.workouts.find((w) => w.details.distance !== undefined);
    assert.ok(running && Number(running.details.distance) > 100, 'workout distance in metres');
  });

  it('applies the filters, as the other methods do', async () => {
    const user = double.createUser({ email: 'filters@example.com' });
    const r = await cli.run(
      [...sdkArgs(user.id), '--wait', '--json', '--types', 'HeartRate', '--since', '2024-01-04'],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    const i = double.imports(user.id);
    assert.ok(i.records.length > 0, 'heart rates stored');
    assert.deepEqual([...new Set(i.records.map((x) => x.type))], ['HKQuantityTypeIdentifierHeartRate']);
    assert.ok(
      i.records.every((x) => x.recordedAt >= '2024-01-04'),
      'none before --since',
    );
    assert.equal(i.workouts.length + i.sleep.length, 0);
  });

  it('--dry-run --out writes what would be sent, in batches that pass the route schema, and sends nothing', async () => {
    const user = double.createUser({ email: 'dry@example.com' });
    const before = double.state.sdkBatches.length;
    const folder = join(dir, 'batches/');
    const r = await cli.run(
      [...sdkArgs(user.id), '--dry-run', '--out', folder, '--json', '--batch-records', '4000'],
      { env },
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as SdkDoc;
    assert.equal(doc.status, 'dry-run');
    assert.equal(double.state.sdkBatches.length, before, 'nothing sent');
    const names = (await readdir(folder)).sort();
    assert.equal(names.length, doc.batches.length);
    let samples = 0;
    for (const name of names) {
      const body = JSON.parse(await readFile(join(folder, name), 'utf8')) as Record<string, unknown>;
      const { request, dropped } = parseSyncRequest(body);
      assert.deepEqual(dropped, [], name);
      assert.equal(request.provider, 'apple');
      // The envelope of every batch: this tool and version, one historical session for the import.
      assert.deepEqual(
        [body.sdkVersion, body.syncType, body.syncSessionId],
        [`apple-import/${VERSION}`, 'historical', doc.syncSessionId],
      );
      assert.ok(!Number.isNaN(Date.parse(String(body.syncTimestamp))), String(body.syncTimestamp));
      samples += request.records.length + request.sleep.length + request.workouts.length;
    }
    assert.equal(samples, doc.records);

    const lines = join(dir, 'batches.jsonl');
    const again = await cli.run(
      [...sdkArgs(user.id), '--dry-run', '--out', lines, '--batch-records', '4000'],
      { env },
    );
    assert.equal(again.code, 0, again.stderr);
    const bodies = (await readFile(lines, 'utf8')).trim().split('\n');
    assert.equal(bodies.length, names.length);
    // The samples and their ids are the same on every run; only the envelope's timestamp and session change.
    for (const [k, line] of bodies.entries()) {
      const fromFolder = await readFile(join(folder, names[k]!));
      assert.equal(dataDigest(Buffer.from(line)), dataDigest(fromFolder));
    }
  });

  it('every batch is within --batch-bytes and --batch-records, whichever comes first', async () => {
    const user = double.createUser({ email: 'bounds@example.com' });
    for (const [bytes, records] of [
      [64 * 1024, 50_000],
      [4 * 1024 * 1024, 700],
    ] as const) {
      const folder = join(dir, `bounds-${bytes}-${records}/`);
      const r = await cli.run(
        [
          ...sdkArgs(user.id),
          '--dry-run',
          '--json',
          '--out',
          folder,
          '--batch-bytes',
          String(bytes),
          '--batch-records',
          String(records),
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout) as SdkDoc;
      const names = await readdir(folder);
      assert.ok(names.length >= 3, `${names.length} batches`);
      let full = 0;
      for (const name of names) {
        const raw = await readFile(join(folder, name));
        const body = JSON.parse(raw.toString('utf8')) as { data: Record<string, unknown[]> };
        const items = Object.values(body.data).reduce((n, list) => n + list.length, 0);
        assert.ok(raw.length <= bytes, `${name}: ${raw.length} bytes`);
        assert.ok(items <= records, `${name}: ${items} samples`);
        // Cut by the bound that binds: all but the last batch come close to it.
        if (bytes < 1024 * 1024 ? raw.length > bytes * 0.9 : items === records) full++;
      }
      assert.ok(full >= names.length - 1, `${full} of ${names.length} batches filled to the bound`);
      assert.equal(names.length, doc.batches.length);
    }
  });

  it('--out needs --dry-run, and --method direct or sdk', async () => {
    const user = double.createUser({ email: 'out-usage@example.com' });
    const r = await cli.run([...sdkArgs(user.id), '--out', join(dir, 'x.jsonl')], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--out .*--dry-run/);
    const s3 = await cli.run(['upload', file, '--user', user.id, '--dry-run', '--out', join(dir, 'x')], {
      env,
    });
    assert.equal(s3.code, 2);
    assert.match(s3.stderr, /--method direct or sdk/);
  });

  it('Ctrl-C lets the batch in flight finish, and the next run sends only what is left, nothing twice', async () => {
    const user = double.createUser({ email: 'resume@example.com' });
    const interrupt = new AbortController();
    const proxy = await startProxy(double.url, (n) => {
      if (n === 2) interrupt.abort(new Error('Interrupted'));
    });
    try {
      const args = [...sdkArgs(user.id), '--json', '--batch-records', '2500'];
      const opts = { env: { ...env, APPLE_IMPORT_SERVER: proxy.url } };
      const first = await cli.run(args, { ...opts, signal: interrupt.signal });
      assert.equal(first.code, 130, first.stderr);
      assert.equal(proxy.bodies.length, 2);
      const second = await cli.run(args, opts);
      assert.equal(second.code, 0, second.stderr);
      const doc = JSON.parse(second.stdout) as SdkDoc;
      assert.equal(doc.skipped, 2, 'the batch in flight at Ctrl-C was recorded');
      assert.equal(proxy.bodies.length, doc.batches.length);
      const digests = proxy.bodies.map(dataDigest);
      assert.equal(new Set(digests).size, digests.length, 'no batch sent twice');
      const sessions = new Set(
        proxy.bodies.map((b) => (JSON.parse(b.toString()) as { syncSessionId: string }).syncSessionId),
      );
      assert.equal(sessions.size, 1, 'the resumed run continues the same sync session');
      await double.idle();
      const full = await cli.run([...sdkArgs(user.id), '--dry-run', '--json', '--batch-records', '2500'], {
        env,
      });
      assert.equal((JSON.parse(full.stdout) as SdkDoc).batches.length, doc.batches.length);
    } finally {
      await proxy.close();
    }
  });

  it('retries the 503 "Failed to persist payload; please retry.", 429 and a lost connection with the one retry policy', async () => {
    const user = double.createUser({ email: 'retry@example.com' });
    const route = { method: 'POST', path: /\/sdk\/users\/[^/]+\/sync$/ };
    double.failNextSdkPersist(2);
    double.faults.next(1, { status: 429, headers: { 'retry-after': '3' } }, route);
    double.faults.drop(1, route);
    const clock = fastClock();
    const r = await cli.run([...sdkArgs(user.id), '--wait', '--json'], { env, clock });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((r.stderr.match(/Failed to persist payload; please retry\.; retrying in/g) ?? []).length, 2);
    assert.equal((r.stderr.match(/; retrying in/g) ?? []).length, 4, r.stderr);
    assert.ok(clock.sleeps.includes(3000), `the server's Retry-After is waited for: ${clock.sleeps}`);
    const doc = JSON.parse(r.stdout) as SdkDoc;
    const batches = double.state.sdkBatches.filter((b) => b.userId === user.id);
    // Each batch accepted once, however many attempts it took.
    assert.equal(batches.length, doc.batches.length);
    assert.ok(batches.every((b) => b.status === 'completed'));
  });

  it('a minted SDK token is minted again when it is about to expire, and when the route refuses it', async () => {
    const mints = (d: BackendDouble, userId: string) =>
      [...d.state.refreshTokens.values()].filter((t) => t.kind === 'sdk' && t.userId === userId).length;
    // Tokens that live 30 s, under the minute before expiry at which a token is replaced: every batch
    // needs a new one.
    const shortLived = await startBackendDouble({
      seed: { developers: [{ email: 'dev@example.com', password: 'a password here' }] },
      accessTokenTtlSeconds: 30,
      directDelayMs: 1,
    });
    let skew = 0;
    const skewed = await startBackendDouble({
      seed: { developers: [{ email: 'dev@example.com', password: 'a password here' }] },
      now: () => Date.now() + skew,
      directDelayMs: 1,
    });
    const proxy = await startProxy(skewed.url, (n) => {
      // Two hours pass on the server before the second batch arrives: the token minted for the first
      // has expired there, though not by the client's clock.
      if (n === 2) skew = 2 * 3600_000;
    });
    try {
      const a = shortLived.createUser({ email: 'short-lived@example.com' });
      const developerA = shortLived.issueAccessToken(shortLived.state.developers[0]!.id, 86_400);
      const first = await cli.run(
        ['upload', file, '--user', a.id, '--method', 'sdk', '--json', '--batch-records', '3000'],
        { env: { APPLE_IMPORT_SERVER: shortLived.url, APPLE_IMPORT_TOKEN: developerA } },
      );
      assert.equal(first.code, 0, first.stderr);
      const doc = JSON.parse(first.stdout) as SdkDoc;
      assert.equal(doc.auth, 'minted');
      assert.ok(doc.sent >= 3, `${doc.sent} batches`);
      assert.equal(mints(shortLived, a.id), doc.sent, 'one token per batch');

      const b = skewed.createUser({ email: 'expired@example.com' });
      const developerB = skewed.issueAccessToken(skewed.state.developers[0]!.id, 86_400);
      const second = await cli.run(
        ['upload', file, '--user', b.id, '--method', 'sdk', '--json', '--batch-records', '3000'],
        { env: { APPLE_IMPORT_SERVER: proxy.url, APPLE_IMPORT_TOKEN: developerB } },
      );
      assert.equal(second.code, 0, second.stderr);
      const sent = (JSON.parse(second.stdout) as SdkDoc).sent;
      // The second batch was refused once (401) and sent again with a new token.
      assert.equal(proxy.bodies.length, sent + 1);
      assert.equal(mints(skewed, b.id), 2);
      assert.equal(skewed.state.sdkBatches.filter((x) => x.userId === b.id).length, sent);
    } finally {
      await proxy.close();
      await shortLived.close();
      await skewed.close();
    }
  });

  it('mints an SDK token from a developer login (the route refuses a developer JWT) and never prints it', async () => {
    const user = double.createUser({ email: 'minted@example.com' });
    const developer = double.state.developers[0]!;
    const token = double.issueAccessToken(developer.id);
    const r = await cli.run([...sdkArgs(user.id), '--json', '--types', 'HeartRate'], {
      env: { APPLE_IMPORT_TOKEN: token },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as SdkDoc).auth, 'minted');
    assert.ok(
      double.state.sdkBatches.some((b) => b.userId === user.id),
      'sent',
    );
    assert.doesNotMatch(r.stdout + r.stderr, /eyJ[\w-]+\.[\w-]+\./, 'no token in the output');

    const sdkToken = double.issueSdkToken(user.id);
    const given = await cli.run([...sdkArgs(user.id), '--json', '--types', 'StepCount'], {
      env: { APPLE_IMPORT_TOKEN: sdkToken },
    });
    assert.equal(given.code, 0, given.stderr);
    assert.equal((JSON.parse(given.stdout) as SdkDoc).auth, 'sdk-token');

    const other = double.createUser({ email: 'other@example.com' });
    const wrong = await cli.run([...sdkArgs(other.id), '--types', 'StepCount'], {
      env: { APPLE_IMPORT_TOKEN: sdkToken },
    });
    assert.notEqual(wrong.code, 0);
    assert.equal(wrong.code, 4);
    assert.ok(
      wrong.stderr.includes(`The SDK token given is for user ${user.id}, not ${other.id}`),
      wrong.stderr,
    );
  });
});
