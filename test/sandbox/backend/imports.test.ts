import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type BackendDouble,
  type SyncStatusEvent,
  startBackendDouble,
} from '../../../src/sandbox/backend/index.js';
import { type S3Server, startS3Server } from '../../../src/sandbox/s3/server.js';
import { DEVICE, directUpload, exportXml, waitFor } from './support.js';

const CREDS = { region: 'us-east-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const FIXED_NOW = Date.UTC(2026, 7, 7, 12, 0, 0, 123);

describe('backend double before August 2026: presigned S3 endpoint (contract §2)', () => {
  let backend: BackendDouble;
  let s3: S3Server;
  let headers: Record<string, string>;
  const presign = async (body: unknown, userId = 'u-1', target = backend) => {
    const res = await fetch(`${target.url}/api/v1/users/${userId}/import/apple/xml/s3`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    // The presign checks the bucket with head_bucket (contract §2.5), so it needs an S3 that answers.
    s3 = await startS3Server({ bucket: 'exports', ...CREDS });
    backend = await startBackendDouble({
      generation: '2026-08',
      s3: { endpoint: s3.endpoint, bucket: 'exports', ...CREDS },
      now: () => FIXED_NOW,
      seed: { apiKeys: [`sk-${'a'.repeat(32)}`] },
    });
    headers = { 'x-open-wearables-api-key': `sk-${'a'.repeat(32)}` };
  });
  after(async () => {
    await backend.close();
    await s3.close();
  });

  it('answers PresignedURLResponse with a cleaned key and a signed policy', async () => {
    const { status, body } = await presign({ filename: 'my export/2024 (1).xml', max_file_size: 5000 });
    assert.equal(status, 200);
    assert.equal(body.file_key, 'u-1/raw/myexport20241.xml');
    assert.equal(body.expires_in, 300);
    assert.equal(body.max_file_size, 5000);
    assert.equal(body.bucket, 'exports');
    assert.equal(body.upload_url, `${s3.endpoint}/exports`);
    const fields = body.form_fields as Record<string, string>;
    assert.equal(fields.key, 'u-1/raw/myexport20241.xml');
    assert.equal(fields['Content-Type'], 'application/xml');
    const policy = JSON.parse(Buffer.from(fields.Policy ?? fields.policy ?? '', 'base64').toString());
    assert.ok(
      policy.conditions.some(
        (c: unknown) => JSON.stringify(c) === JSON.stringify(['content-length-range', 1, 5000]),
      ),
    );
    assert.equal(backend.state.presigns.at(-1)?.fileKey, 'u-1/raw/myexport20241.xml');
  });

  it('falls back to str(datetime.now(UTC)).xml when nothing survives cleaning', async () => {
    for (const filename of ['', '/// ()']) {
      const { body } = await presign({ filename });
      assert.equal(body.file_key, 'u-1/raw/2026-08-07 12:00:00.123000+00:00.xml');
    }
  });

  for (const [body, detail] of [
    [{ filename: 'x'.repeat(201) }, 'String should have at most 200 characters'],
    [{ expiration_seconds: 59 }, 'Input should be greater than or equal to 60'],
    [{ expiration_seconds: 3601 }, 'Input should be less than or equal to 3600'],
    [{ max_file_size: 1023 }, 'Input should be greater than or equal to 1024'],
    [{ max_file_size: 1073741825 }, 'Input should be less than or equal to 1073741824'],
    [{ max_file_size: 1.5 }, 'Input should be a valid integer, got a number with a fractional part'],
    [{ filename: 5 }, 'Input should be a valid string'],
  ] as const) {
    it(`400 "${detail}" for ${JSON.stringify(body).slice(0, 40)}`, async () => {
      assert.deepEqual(await presign(body), { status: 400, body: { detail } });
    });
  }

  it('without S3 settings answers 503 "S3 client not configured" (after auth)', async () => {
    const bare = await startBackendDouble({ seed: { apiKeys: [`sk-${'a'.repeat(32)}`] } });
    try {
      assert.deepEqual(await presign({ filename: 'a.xml' }, 'u', bare), {
        status: 503,
        body: { detail: 'S3 client not configured' },
      });
      const res = await fetch(`${bare.url}/api/v1/users/u/import/apple/xml/s3`, {
        method: 'POST',
        body: '{}',
      });
      assert.equal(res.status, 401);
    } finally {
      await bare.close();
    }
  });
});

describe('backend double: direct upload and its import task (contract §3, §5)', () => {
  let backend: BackendDouble;
  let headers: Record<string, string>;
  let userId: string;
  const events = (filename: string) =>
    (backend.state.syncEvents.get(userId) ?? []).filter((e) => e.metadata.filename === filename);
  const terminal = (filename: string) =>
    waitFor(
      () => events(filename).find((e) => e.stage === 'completed' || e.stage === 'failed'),
      `terminal event for ${filename}`,
    ) as Promise<SyncStatusEvent>;

  before(async () => {
    backend = await startBackendDouble({ directDelayMs: 1 });
    headers = { 'x-open-wearables-api-key': backend.createApiKey() };
    userId = backend.createUser({ email: 'u@example.com' }).id;
  });
  after(() => backend.close());

  it('answers 200 processing, then emits started and completed with the filename and item count', async () => {
    const xml = exportXml(
      [
        `<Record type="HKQuantityTypeIdentifierStepCount" sourceName="Watch" device="${DEVICE}" unit="count" value="42" startDate="2024-01-15 08:30:00 +0100" endDate="2024-01-15 08:31:00 +0100"/>`,
        `<Record type="HKQuantityTypeIdentifierDietaryWater" sourceName="App" unit="mL" value="200" startDate="2024-01-15 08:30:00 +0100" endDate="2024-01-15 08:30:00 +0100"/>`,
        `<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" value="oops" startDate="2024-01-15 08:30:00 +0100" endDate="2024-01-15 08:30:00 +0100"/>`,
        `<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Watch" value="HKCategoryValueSleepAnalysisAsleepDeep" startDate="2024-01-15 01:00:00 +0100" endDate="2024-01-15 02:00:00 +0100"/>`,
        `<Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="Watch" device="${DEVICE}" startDate="2024-01-15 07:00:00 +0100" endDate="2024-01-15 07:30:00 +0100">`,
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="2024-01-15 07:00:00 +0100" endDate="2024-01-15 07:30:00 +0100" average="150.5" minimum="120" maximum="171" unit="count/min"/>',
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" startDate="2024-01-15 07:00:00 +0100" endDate="2024-01-15 07:30:00 +0100" sum="300" unit="kcal"/>',
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierBasalEnergyBurned" startDate="2024-01-15 07:00:00 +0100" endDate="2024-01-15 07:30:00 +0100" sum="50" unit="kcal"/>',
        '</Workout>',
      ].join('\n'),
    );
    const res = await directUpload(backend, userId, 'batch-0001.xml', xml, headers);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; task_id: string; user_id: string };
    assert.equal(body.status, 'processing');
    assert.equal(body.user_id, userId);
    assert.match(body.task_id, /^[0-9a-f-]{36}$/);

    const done = await terminal('batch-0001.xml');
    const [started] = events('batch-0001.xml');
    assert.equal(started?.stage, 'started');
    assert.equal(started?.status, 'in_progress');
    assert.equal(started?.provider, 'apple');
    assert.equal(started?.source, 'xml_import');
    assert.match(started?.run_id ?? '', /^xml_[0-9a-f]{16}$/);
    assert.equal(started?.message, 'Importing Apple Health XML file batch-0001.xml');
    assert.equal(done.stage, 'completed');
    assert.equal(done.status, 'success');
    assert.equal(done.run_id, started?.run_id);
    assert.equal(done.items_processed, 3);

    const imported = backend.state.imported.get(userId)!;
    assert.deepEqual(Object.keys(imported.recordsByType()), ['HKQuantityTypeIdentifierStepCount']);
    assert.equal(imported.records[0]?.deviceModel, 'Watch');
    assert.equal(imported.records[0]?.value, '42');
    assert.deepEqual(
      imported.sleep.map((s) => s.stage),
      ['deep'],
    );
    assert.equal(imported.workouts[0]?.heartRateMax, 171);
    assert.equal(imported.workouts[0]?.energyBurned, 350);
    assert.equal(imported.workouts[0]?.durationSeconds, 1800);
    const upload = backend.state.directUploads.find((u) => u.taskId === body.task_id);
    assert.equal(upload?.status, 'completed');
    assert.equal(upload?.bytes.toString(), xml);
  });

  it('re-uploading the same workout fails the task at the next time-series write (§5.6)', async () => {
    const workout = `<Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="Watch" device="${DEVICE}" startDate="2024-01-15 06:00:00 +0000" endDate="2024-01-15 06:30:00 +0000"/>`;
    const record = `<Record type="HKQuantityTypeIdentifierStepCount" sourceName="Watch" device="${DEVICE}" unit="count" value="7" startDate="2024-03-01 08:30:00 +0100" endDate="2024-03-01 08:31:00 +0100"/>`;
    const before = backend.counts(userId);
    await directUpload(backend, userId, 'again.xml', exportXml(`${workout}\n${record}`), headers);
    const done = await terminal('again.xml');
    assert.equal(done.stage, 'failed');
    // The same start and end as stored (written with another offset): the same instants, the same key.
    assert.match(done.error ?? '', /^This Session's transaction has been rolled back/);
    assert.match(
      done.error ?? '',
      /UniqueViolation\) duplicate key value violates unique constraint "event_record_detail_pkey"/,
    );
    assert.match(
      done.error ?? '',
      new RegExp(`Key \\(record_id\\)=\\(${backend.imports(userId).workouts[0]?.id}\\)`),
    );
    assert.deepEqual(backend.counts(userId), before, 'nothing of the chunk was written');
  });

  it('a colliding workout with nothing written after it in the task still completes (the error is caught)', async () => {
    const workout = `<Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="Other app" device="${DEVICE}" startDate="2024-01-15 07:00:00 +0100" endDate="2024-01-15 07:30:00 +0100"/>`;
    await directUpload(backend, userId, 'only-workout.xml', exportXml(workout), headers);
    const done = await terminal('only-workout.xml');
    assert.equal(done.stage, 'completed');
    assert.equal(done.items_processed, 1);
    assert.equal(backend.imports(userId).workouts.length, 1);
  });

  it('an iOS 16 unclosed ATTLIST fails like expat: syntax error at the next declaration', async () => {
    const doctype = [
      '<!DOCTYPE HealthData [',
      '<!-- HealthKit Export Version: 12 -->',
      '<!ELEMENT HealthData (ExportDate,Me,(Record|Workout)*)>',
      '<!ATTLIST VisionPrescription',
      '  type CDATA #REQUIRED',
      '  dateIssued CDATA #REQUIRED',
      '<!ELEMENT RightEye EMPTY>',
      '>',
      ']>',
      '',
    ].join('\n');
    const xml = exportXml(
      '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="x" value="1" startDate="2024-02-01 08:00:00 +0000" endDate="2024-02-01 08:00:00 +0000"/>',
      doctype,
    );
    await directUpload(backend, userId, 'broken-dtd.xml', xml, headers);
    const done = await terminal('broken-dtd.xml');
    assert.equal(done.stage, 'failed');
    assert.equal(done.status, 'failed');
    assert.equal(done.error, 'syntax error: line 8, column 0');
    assert.equal(done.message, 'Apple Health XML import failed: broken-dtd.xml');
    assert.equal(done.metadata.filename, 'broken-dtd.xml');
  });

  it('a \\x0b character fails like expat: not well-formed (invalid token)', async () => {
    const xml = exportXml(
      '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="My\x0bApp" value="1" startDate="2024-02-01 08:00:00 +0000" endDate="2024-02-01 08:00:00 +0000"/>',
    );
    await directUpload(backend, userId, 'vt.xml', xml, headers);
    const done = await terminal('vt.xml');
    assert.equal(done.error, 'not well-formed (invalid token): line 3, column 63');
  });

  it('failNextDirectImport forces one failure with the given error', async () => {
    backend.failNextDirectImport(/^forced-/, 'boom');
    await directUpload(backend, userId, 'forced-1.xml', exportXml(''), headers);
    assert.equal((await terminal('forced-1.xml')).error, 'boom');
    await directUpload(backend, userId, 'forced-2.xml', exportXml(''), headers);
    assert.equal((await terminal('forced-2.xml')).stage, 'completed');
  });

  it('a non-UUID user id is accepted but emits no events', async () => {
    const res = await directUpload(backend, 'not-a-uuid', 'x.xml', exportXml(''), headers);
    assert.deepEqual(((await res.json()) as { user_id: string }).user_id, 'not-a-uuid');
    const upload = await waitFor(
      () => backend.state.directUploads.find((u) => u.userId === 'not-a-uuid' && u.status !== 'processing'),
      'task',
    );
    assert.equal(upload.status, 'completed');
    assert.equal(backend.state.syncEvents.get('not-a-uuid'), undefined);
  });

  it('a missing file part is 400 "Field required"; oversize is 413', async () => {
    const form = new FormData();
    form.append('other', 'x');
    const res = await fetch(`${backend.url}/api/v1/users/${userId}/import/apple/xml/direct`, {
      method: 'POST',
      body: form,
      headers,
    });
    assert.deepEqual([res.status, await res.json()], [400, { detail: 'Field required' }]);

    const small = await startBackendDouble({
      maxDirectBytes: 1024,
      seed: { apiKeys: [headers['x-open-wearables-api-key']!] },
    });
    try {
      const big = await directUpload(small, userId, 'big.xml', 'x'.repeat(4096), headers);
      assert.equal(big.status, 413);
    } finally {
      await small.close();
    }
  });
});
