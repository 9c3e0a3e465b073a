// `GET /users/{id}/summaries/data` (contract §4.5): the counts a client compares before and after an import
// on a path whose events carry none.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BackendDouble, startBackendDouble } from '../../../src/sandbox/backend/index.js';
import { DEVICE, directUpload, exportXml } from './support.js';

describe('backend double: /summaries/data', () => {
  let backend: BackendDouble;
  let user: string;
  let key: Record<string, string>;
  const summary = async (query = '', id = user) => {
    const res = await fetch(`${backend.url}/api/v1/users/${id}/summaries/data${query}`, { headers: key });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    backend = await startBackendDouble({ directDelayMs: 1 });
    user = backend.createUser({}).id;
    key = { 'x-open-wearables-api-key': backend.createApiKey() };
    const at = (d: string) => `2024-07-0${d} 08:00:00 +0000`;
    const xml = exportXml(
      [
        `<Record type="HKQuantityTypeIdentifierStepCount" sourceName="W" device="${DEVICE}" value="10" startDate="${at('1')}" endDate="${at('1')}"/>`,
        `<Record type="HKQuantityTypeIdentifierStepCount" sourceName="W" device="${DEVICE}" value="11" startDate="${at('2')}" endDate="${at('2')}"/>`,
        `<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" device="${DEVICE}" value="60" startDate="${at('3')}" endDate="${at('3')}"/>`,
        `<Workout workoutActivityType="HKWorkoutActivityTypeTraditionalStrengthTraining" sourceName="W" startDate="${at('2')}" endDate="2024-07-02 09:00:00 +0000"/>`,
        '<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="W" value="HKCategoryValueSleepAnalysisAsleepCore" startDate="2024-07-01 23:00:00 +0000" endDate="2024-07-02 01:00:00 +0000"/>',
        '<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="W" value="HKCategoryValueSleepAnalysisAsleepDeep" startDate="2024-07-02 01:00:00 +0000" endDate="2024-07-02 02:00:00 +0000"/>',
        '<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="W" value="HKCategoryValueSleepAnalysisAsleepCore" startDate="2024-07-02 22:00:00 +0000" endDate="2024-07-02 23:00:00 +0000"/>',
      ].join('\n'),
    );
    await directUpload(backend, user, 'summary.xml', xml, key);
    await backend.idle();
  });
  after(() => backend.close());

  it('counts by series type, workout type and provider; sleep as sessions (samples ≤ 120 min apart joined)', async () => {
    const { status, body } = await summary();
    assert.equal(status, 200);
    assert.deepEqual(body, {
      user_id: user,
      total_data_points: 3,
      total_workouts: 1,
      total_sleep_events: 2,
      series_type_counts: { steps: 2, heart_rate: 1 },
      workout_type_counts: { strength_training: 1 },
      by_provider: [
        {
          provider: 'apple',
          data_points: 3,
          series_counts: { steps: 2, heart_rate: 1 },
          workout_count: 1,
          sleep_count: 2,
        },
      ],
      has_womens_health_data: false,
    });
    assert.deepEqual(backend.counts(user), {
      records: 3,
      workouts: 1,
      sleep: 3,
      sleepSessions: 2,
      bySeries: { steps: 2, heart_rate: 1 },
    });
  });

  it('scopes to start_date / end_date; a bad date is 400 with the backend text', async () => {
    const { body } = await summary('?start_date=2024-07-02T00:00:00Z&end_date=2024-07-02T23:59:59Z');
    assert.deepEqual([body.total_data_points, body.total_workouts, body.total_sleep_events], [1, 1, 1]);
    assert.deepEqual(await summary('?start_date=yesterday'), {
      status: 400,
      body: { detail: "Invalid datetime format: 'yesterday'. Expected ISO 8601 format or Unix timestamp." },
    });
  });

  it('a user with nothing yet has zero counts; a malformed id is 400', async () => {
    const empty = backend.createUser({}).id;
    const { body } = await summary('', empty);
    assert.deepEqual([body.total_data_points, body.by_provider], [0, []]);
    assert.equal((await summary('', 'nope')).status, 400);
  });
});
