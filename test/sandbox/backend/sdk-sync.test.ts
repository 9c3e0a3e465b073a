// `POST /sdk/users/{id}/sync` (contract §6, current page §2.5) and the SDK token route (§1.7): auth, the 202,
// what the queued task stores (unit conversions checked against values worked out here, by hand), per-record
// drops, workouts ON CONFLICT DO NOTHING, historical runs and the events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type BackendDouble,
  type SyncStatusEvent,
  startBackendDouble,
} from '../../../src/sandbox/backend/index.js';
import { bearer, DEV_EMAIL, DEV_PASSWORD, login } from './support.js';

const API_KEY = `sk-${'c'.repeat(32)}`;
const WATCH = {
  name: "Dana's Apple Watch",
  deviceModel: 'Watch',
  deviceHardwareVersion: 'Watch6,2',
  operatingSystemVersion: { majorVersion: 10, minorVersion: 1, patchVersion: 0 },
};

function rec(
  type: string,
  value: number | string,
  unit: string | null,
  at: string,
  extra: Record<string, unknown> = {},
) {
  return {
    type: `HKQuantityTypeIdentifier${type}`,
    startDate: at,
    endDate: at,
    value,
    unit,
    source: WATCH,
    ...extra,
  };
}

function envelope(data: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    provider: 'apple',
    sdkVersion: 'apple-import/0.1.0',
    syncTimestamp: '2026-12-01T10:00:00Z',
    data,
    ...extra,
  };
}

describe('backend double: SDK sync route and task', () => {
  let backend: BackendDouble;
  let userId: string;
  let otherId: string;
  let devToken: string;

  const sync = async (
    body: unknown,
    headers: Record<string, string> = { 'x-open-wearables-api-key': API_KEY },
    user = userId,
  ) => {
    const res = await fetch(`${backend.url}/api/v1/sdk/users/${user}/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  /** Sends a batch and returns its terminal event once the task has run. */
  const batch = async (body: unknown, user = userId): Promise<SyncStatusEvent> => {
    const before = backend.state.sdkBatches.length;
    const r = await sync(body, undefined, user);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await backend.idle();
    const sent = backend.state.sdkBatches[before];
    const events = (backend.state.syncEvents.get(user) ?? []).filter(
      (e) => e.metadata.batch_id === sent?.batchId,
    );
    assert.deepEqual(
      events.map((e) => e.stage),
      ['started', events[1]?.stage === 'failed' ? 'failed' : 'completed'],
    );
    return events[1] as SyncStatusEvent;
  };

  before(async () => {
    backend = await startBackendDouble({
      seed: { apiKeys: [API_KEY], developers: [{ email: DEV_EMAIL, password: DEV_PASSWORD }] },
      directDelayMs: 1,
    });
    userId = backend.createUser({ email: 'sdk@example.com' }).id;
    otherId = backend.createUser({ email: 'other@example.com' }).id;
    devToken = (await login(backend)).access_token;
  });
  after(() => backend.close());

  it('answers 202 UploadDataResponse with zero counts; the task emits sdk events with the counts', async () => {
    const r = await sync(
      envelope({ records: [rec('HeartRate', 61, 'count/min', '2024-05-01T08:00:00+02:00')] }),
    );
    assert.deepEqual(r, {
      status: 202,
      body: {
        status_code: 202,
        response: 'Import task queued successfully',
        user_id: userId,
        dropped_count: 0,
        records_saved: 0,
        workouts_saved: 0,
        sleep_saved: 0,
      },
    });
    await backend.idle();
    const sent = backend.state.sdkBatches.at(-1);
    const events = (backend.state.syncEvents.get(userId) ?? []).filter(
      (e) => e.metadata.batch_id === sent?.batchId,
    );
    assert.deepEqual(
      events.map((e) => [e.stage, e.source, e.provider, e.run_id, e.message, e.items_processed]),
      [
        ['started', 'sdk', 'apple', sent?.batchId, 'Processing apple SDK batch', null],
        ['completed', 'sdk', 'apple', sent?.batchId, 'Apple batch saved', 1],
      ],
    );
    assert.deepEqual(events[1]?.metadata, {
      batch_id: sent?.batchId,
      records_saved: 1,
      workouts_saved: 0,
      sleep_saved: 0,
      dropped_count: 0,
    });
    const hr = backend.imports(userId).series('heart_rate')[0];
    assert.deepEqual(
      [hr?.stored, hr?.unit, hr?.source, hr?.deviceModel, hr?.softwareVersion, hr?.zoneOffset, hr?.path],
      ['61.000', 'bpm', "Dana's Apple Watch", 'Watch', '10.1.0', null, 'sdk'],
    );
  });

  it('stores what the backend computes from what it receives (contract §5.4), exactly', async () => {
    const at = (m: number) => `2024-05-02T08:${String(m).padStart(2, '0')}:00Z`;
    // [type, value sent, unit sent, series, stored]: the conversions done by hand, not by the double's code.
    const table: [string, number, string | null, string, string][] = [
      ['Height', 1.75, 'm', 'height', '175.000'],
      ['Height', 0.123456, 'm', 'height', '12.346'],
      ['WalkingStepLength', 0.7355, 'm', 'walking_step_length', '73.550'],
      ['BodyFatPercentage', 0.2155, '%', 'body_fat_percentage', '21.550'],
      ['WalkingDoubleSupportPercentage', 0.285, '%', 'walking_double_support_percentage', '28.500'],
      ['WalkingAsymmetryPercentage', 0.035, '%', 'walking_asymmetry_percentage', '3.500'],
      // 0.975 × 100 in binary floating point is 97.49999999999999; the backend's Decimal gives 97.5.
      ['AppleWalkingSteadiness', 0.975, '%', 'walking_steadiness', '97.500'],
      // mmol/L × 18.0182: 5.55 → 100.00101 → 100.001; 7.2 → 129.73104 → 129.731.
      ['BloodGlucose', 5.55, 'mmol<180.15588000005408>/L', 'blood_glucose', '100.001'],
      ['BloodGlucose', 7.2, 'mmol/L', 'blood_glucose', '129.731'],
      ['BloodGlucose', 99, 'mg/dL', 'blood_glucose', '99.000'],
      // Everything else as sent (the client must send the canonical unit), rounded to NUMERIC(10,3).
      ['BodyMass', 70.12349, 'kg', 'weight', '70.123'],
      ['BodyMass', 70.0005, 'kg', 'weight', '70.001'],
      ['OxygenSaturation', 0.97, '%', 'oxygen_saturation', '0.970'],
      ['BodyTemperature', 36.65, 'degC', 'body_temperature', '36.650'],
      ['DistanceWalkingRunning', 1234.5, 'm', 'distance_walking_running', '1234.500'],
    ];
    const records = table.map(([type, value, unit], i) => rec(type, value, unit, at(i)));
    const done = await batch(envelope({ records }));
    assert.equal(done.metadata.records_saved, table.length);
    for (const [i, [type, , , series, stored]] of table.entries()) {
      const row = backend
        .imports(userId)
        .records.find((r) => r.seriesType === series && r.recordedAt === at(i));
      assert.equal(row?.stored, stored, `${type} ${table[i]?.[1]}`);
    }
  });

  it('provider "Apple" passes the route but misses the body-fat ×100, which checks provider == "apple"', async () => {
    await batch(
      envelope(
        { records: [rec('BodyFatPercentage', 0.2, '%', '2024-05-03T08:00:00Z')] },
        { provider: 'Apple' },
      ),
    );
    const row = backend
      .imports(userId)
      .series('body_fat_percentage')
      .find((r) => r.recordedAt === '2024-05-03T08:00:00Z');
    assert.equal(row?.stored, '0.200');
  });

  it('drops and counts invalid records, keeps the rest; an invalid envelope fails the whole batch', async () => {
    const good = rec('StepCount', 10, 'count', '2024-05-04T08:00:00Z');
    const done = await batch(
      envelope({
        records: [
          good,
          { ...good, startDate: '2024-05-04 08:00:00 +0100' },
          { ...good, value: 'ten' },
          (({ unit: _unit, ...r }) => r)(good),
          { ...good, id: 7 },
        ],
        sleep: [{ stage: 'deep', startDate: '2024-05-04T01:00:00Z' }],
      }),
    );
    assert.equal(done.message, 'Apple batch saved (5 records dropped by validation)');
    assert.equal(done.metadata.dropped_count, 5);
    assert.equal(done.metadata.records_saved, 1);
    assert.deepEqual(
      backend.state.sdkBatches.at(-1)?.dropped.map((d) => `${d.collection}[${d.index}].${d.loc}: ${d.msg}`),
      [
        'records[1].startDate: Input should be a valid datetime or date, invalid character in year',
        'records[2].value: Decimal input should be an integer, float, string or Decimal object',
        'records[3].unit: Field required',
        'records[4].id: Input should be a valid string',
        'sleep[0].endDate: Field required',
      ],
    );
    const failed = await batch({ provider: 'apple', sdkVersion: '1', data: { records: [good] } });
    assert.equal(failed.stage, 'failed');
    assert.deepEqual(
      [failed.error, failed.message, failed.metadata.status_code],
      ['Validation failed: Field required', 'Apple batch failed', 400],
    );
  });

  it('workouts are inserted ON CONFLICT DO NOTHING: sending them again saves none and does not fail', async () => {
    const w = {
      id: 'w-1',
      type: 'running',
      startDate: '2024-05-05T07:00:00+02:00',
      endDate: '2024-05-05T07:45:00+02:00',
      zoneOffset: '+02:00',
      source: WATCH,
      values: [
        { type: 'duration', unit: 's', value: 2700 },
        { type: 'activeEnergyBurned', unit: 'kcal', value: 400.5 },
        { type: 'basalEnergyBurned', unit: 'kcal', value: 60 },
        { type: 'distance', unit: 'm', value: 8012.3 },
        { type: 'averageHeartRate', unit: 'count/min', value: 151.5 },
        { type: 'maxHeartRate', unit: 'count/min', value: 175 },
        { type: 'stepCount', unit: 'count', value: 7000.7 },
        { type: 'averageMETs', unit: 'kcal/hr·kg', value: 9.1 },
      ],
    };
    const first = await batch(envelope({ workouts: [w, { ...w, id: 'w-1-copy' }] }));
    assert.deepEqual([first.metadata.workouts_saved, first.metadata.records_saved], [1, 2]);
    const again = await batch(envelope({ workouts: [w] }));
    assert.equal(again.stage, 'completed');
    assert.deepEqual([again.metadata.workouts_saved, again.metadata.records_saved], [0, 1]);
    const stored = backend.imports(userId).workouts.filter((x) => x.path === 'sdk');
    assert.equal(stored.length, 1);
    const s = stored[0];
    assert.deepEqual(
      [
        s?.type,
        s?.durationSeconds,
        s?.energyBurned,
        s?.heartRateMax,
        s?.heartRateAvg,
        s?.details.distance,
        s?.details.steps_count,
        s?.externalId,
        s?.source,
      ],
      ['running', 2700, 460.5, 175, '151.5', '8012.3', '7000', 'w-1', "Dana's Apple Watch"],
    );
    assert.equal(backend.imports(userId).series('average_met')[0]?.recordedAt, w.endDate);
  });

  it('a batch that cannot be written writes nothing and fails: ids over 100 characters, values over NUMERIC(10,3)', async () => {
    const before = backend.counts(userId);
    const long = await batch(
      envelope({ records: [rec('StepCount', 1, 'count', '2024-05-06T08:00:00Z', { id: 'x'.repeat(101) })] }),
    );
    assert.equal(
      long.error,
      'Import failed: (psycopg.errors.StringDataRightTruncation) value too long for type character varying(100)',
    );
    const huge = await batch(
      envelope({
        workouts: [{ type: 'walking', startDate: '2024-05-06T09:00:00Z', endDate: '2024-05-06T09:30:00Z' }],
        records: [rec('StepCount', 10_000_000, 'count', '2024-05-06T08:01:00Z')],
      }),
    );
    assert.match(
      huge.error ?? '',
      /^Import failed: \(psycopg\.errors\.NumericValueOutOfRange\) numeric field overflow/,
    );
    assert.deepEqual(backend.counts(userId), before);
  });

  it('syncType "historical" with a syncSessionId puts every batch in the run sdk_<session>', async () => {
    const session = 'import-2026-12-01-abc';
    const body = (m: number) =>
      envelope(
        { records: [rec('StepCount', m, 'count', `2024-05-07T08:0${m}:00Z`)] },
        { syncType: 'historical', syncSessionId: session },
      );
    const a = await batch(body(1));
    const b = await batch(body(2));
    assert.deepEqual([a.run_id, b.run_id], [`sdk_${session}`, `sdk_${session}`]);
    assert.notEqual(a.metadata.batch_id, b.metadata.batch_id);
    const live = await batch(envelope({ records: [] }, { syncType: 'live', syncSessionId: session }));
    assert.equal(live.run_id, live.metadata.batch_id);
  });

  it('503 "Failed to persist payload; please retry." when injected, then accepts the retry', async () => {
    backend.failNextSdkPersist();
    assert.deepEqual(await sync(envelope({})), {
      status: 503,
      body: { detail: 'Failed to persist payload; please retry.' },
    });
    assert.equal((await sync(envelope({}))).status, 202);
  });

  it('400 for an unsupported provider; an unknown user is accepted and then skipped without events', async () => {
    assert.deepEqual(await sync(envelope({}, { provider: 'fitbit' })), {
      status: 400,
      body: { detail: 'Unsupported provider: fitbit. Supported: apple, samsung, google' },
    });
    const ghost = '00000000-0000-4000-8000-000000000001';
    assert.equal((await sync(envelope({}), undefined, ghost)).status, 202);
    await backend.idle();
    assert.equal(backend.state.sdkBatches.at(-1)?.status, 'skipped');
    assert.equal(backend.state.syncEvents.get(ghost), undefined);
  });

  it('auth: API key or SDK token, never a developer JWT; an SDK token only for its own user', async () => {
    assert.deepEqual(await sync(envelope({}), bearer(devToken)), {
      status: 401,
      body: { detail: 'Authentication required: provide SDK token or API key' },
    });
    assert.deepEqual(await sync(envelope({}), { 'x-open-wearables-api-key': 'sk-nope' }), {
      status: 401,
      body: { detail: 'Invalid or missing API key' },
    });
    const minted = await fetch(`${backend.url}/api/v1/users/${userId}/token`, {
      method: 'POST',
      headers: bearer(devToken),
    });
    assert.equal(minted.status, 200);
    const tokens = (await minted.json()) as {
      access_token: string;
      refresh_token: string;
      token_type: string;
      expires_in: number;
    };
    assert.deepEqual([tokens.token_type, tokens.expires_in], ['bearer', 3600]);
    const claims = JSON.parse(
      Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString(),
    ) as Record<string, unknown>;
    const developer = backend.state.developers.find((d) => d.email === DEV_EMAIL);
    assert.deepEqual([claims.sub, claims.scope, claims.app_id], [userId, 'sdk', `admin:${developer?.id}`]);
    assert.equal((await sync(envelope({}), bearer(tokens.access_token))).status, 202);
    assert.deepEqual(await sync(envelope({}), bearer(tokens.access_token), otherId), {
      status: 403,
      body: { detail: 'Token does not match user_id' },
    });
    // An SDK token is refused by developer routes, and refreshes into another SDK token.
    const me = await fetch(`${backend.url}/api/v1/auth/me`, { headers: bearer(tokens.access_token) });
    assert.deepEqual(
      [me.status, await me.json()],
      [401, { detail: 'SDK tokens cannot access this endpoint' }],
    );
    const refreshed = await fetch(`${backend.url}/api/v1/token/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: tokens.refresh_token }),
    });
    const next = (await refreshed.json()) as { access_token: string };
    assert.equal((await sync(envelope({}), bearer(next.access_token))).status, 202);
    const expired = backend.issueSdkToken(userId, developer?.id, -1);
    assert.equal((await sync(envelope({}), bearer(expired))).status, 401);
  });

  it('POST /users/{id}/token: 400 without credentials, 401 for app credentials it does not know, 400 for a bad id', async () => {
    const post = (path: string, init: RequestInit = {}) =>
      fetch(`${backend.url}/api/v1${path}`, { method: 'POST', ...init });
    const none = await post(`/users/${userId}/token`);
    assert.deepEqual(
      [none.status, await none.json()],
      [
        400,
        {
          detail:
            'Either app credentials (app_id, app_secret) or admin authentication (Bearer token) is required',
        },
      ],
    );
    const app = await post(`/users/${userId}/token`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ app_id: 'a', app_secret: 'b' }),
    });
    assert.deepEqual([app.status, await app.json()], [401, { detail: 'Invalid app credentials' }]);
    const bad = await post('/users/not-a-uuid/token', { headers: bearer(devToken) });
    assert.equal(bad.status, 400);
  });
});
