// Where an export meets the backend's XML importer (contract §5, issue 14's cases): old date forms, Correlation
// members, encodings, values as exported, workouts that collide by data source — what the double stores.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type BackendDouble,
  ExportParser,
  type ParsedChunk,
  parseExport,
  type SyncStatusEvent,
  startBackendDouble,
} from '../../../src/sandbox/backend/index.js';
import { DEVICE, directUpload, exportXml, waitFor } from './support.js';

const IPHONE =
  '&lt;&lt;HKDevice: 0x1&gt;, name:iPhone, manufacturer:Apple Inc., model:iPhone, hardware:iPhone14,2, software:17.1&gt;';

function parsed(xml: string | Buffer): ParsedChunk & { items: number } {
  const all: ParsedChunk = { records: [], workouts: [], sleep: [] };
  const items = parseExport(Buffer.isBuffer(xml) ? xml : Buffer.from(xml), (c) => {
    all.records.push(...c.records);
    all.workouts.push(...c.workouts);
    all.sleep.push(...c.sleep);
  });
  return { ...all, items };
}

const step = (start: string, extra = '') =>
  `<Record type="HKQuantityTypeIdentifierStepCount" sourceName="Phone" unit="count" value="5" startDate="${start}" endDate="${start}"${extra}/>`;

describe('backend XML importer (the double): what it keeps and what it skips', () => {
  it('skips a Record whose startDate, endDate or creationDate is not %Y-%m-%d %H:%M:%S %z (iOS 8 compact dates)', () => {
    const r = parsed(
      exportXml(
        [
          step('20141018163200+0100'),
          step('2014-10-18 16:32:00 +0100', ' creationDate="20141018163200+0100"'),
          `<Record type="HKQuantityTypeIdentifierStepCount" sourceName="P" value="1" startDate="2014-10-18 16:32:00 +0100" endDate="2014-10-18T16:32:00+01:00"/>`,
          step('2014-10-18 16:33:00 +0100', ' creationDate="2014-10-18 16:40:00 +0100"'),
          step('2014-02-30 10:00:00 +0000'),
          step('2014-10-18 16:34:00 Z'),
          `<Workout workoutActivityType="HKWorkoutActivityTypeWalking" sourceName="P" startDate="2014-10-18 16:00:00 +0100" endDate="2014-10-18 16:30:00 +0100" creationDate="20141018163200+0100"/>`,
        ].join('\n'),
      ),
    );
    assert.deepEqual(
      r.records.map((x) => x.recordedAt),
      ['2014-10-18 16:33:00 +0100', '2014-10-18 16:34:00 Z'],
    );
    assert.equal(r.workouts.length, 0);
    assert.equal(r.items, 2);
  });

  it('imports Correlation members as Records; a member repeating a top-level record is the same row', async () => {
    const bp = (type: string, value: string, at: string) =>
      `<Record type="HKQuantityTypeIdentifierBloodPressure${type}" sourceName="Omron" unit="mmHg" value="${value}" startDate="${at}" endDate="${at}"/>`;
    const at = '2024-02-01 08:00:00 +0000';
    const xml = exportXml(
      [
        bp('Systolic', '121', at),
        `<Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" startDate="${at}" endDate="${at}">`,
        bp('Systolic', '121', at),
        bp('Diastolic', '79', at),
        '<MetadataEntry key="k" value="v"/>',
        '</Correlation>',
      ].join('\n'),
    );
    assert.equal(parsed(xml).items, 3, 'every Record element is parsed, nested or not');
    const backend = await startBackendDouble({ directDelayMs: 1 });
    try {
      const user = backend.createUser({}).id;
      await directUpload(backend, user, 'bp.xml', xml, {
        'x-open-wearables-api-key': backend.createApiKey(),
      });
      await backend.idle();
      assert.deepEqual(backend.counts(user).bySeries, {
        blood_pressure_systolic: 1,
        blood_pressure_diastolic: 1,
      });
      const done = (backend.state.syncEvents.get(user) ?? []).at(-1);
      assert.equal(done?.items_processed, 3);
    } finally {
      await backend.close();
    }
  });

  it('reads UTF-16 (with a byte-order mark, either order) and UTF-8 with a BOM as the same export', () => {
    const text = exportXml(`${step('2024-01-01 10:00:00 +0000', ' device="Zoë’s iPhone"')}\n`).replace(
      'encoding="UTF-8"',
      'encoding="UTF-16"',
    );
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le);
    be.swap16();
    const utf8bom = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(text.replace('UTF-16', 'UTF-8')),
    ]);
    const expected = parsed(text.replace('UTF-16', 'UTF-8')).records;
    assert.equal(expected.length, 1);
    for (const [name, bytes] of [
      ['UTF-16LE', le],
      ['UTF-16BE', be],
      ['UTF-8 BOM', utf8bom],
    ] as const) {
      assert.deepEqual(parsed(bytes).records, expected, name);
    }
  });

  it('accepts a literal U+FFFD; refuses bytes that are not UTF-8 where expat would, whatever the chunking', () => {
    const ok = parsed(exportXml(step('2024-01-01 10:00:00 +0000', ' note="Dana\uFFFDs"')));
    assert.equal(ok.records.length, 1);
    const bad = Buffer.concat([
      Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<HealthData>\n <R a="'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"/>\n</HealthData>\n'),
    ]);
    const whole = (() => {
      try {
        parsed(bad);
        return 'parsed';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    assert.match(whole, /^not well-formed \(invalid token\): line 3, column \d+$/);
    const bytewise = (() => {
      const parser = new ExportParser(() => {});
      try {
        for (const byte of bad) parser.write(Buffer.from([byte]));
        parser.end();
        return 'parsed';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    assert.equal(bytewise, whole);
  });

  it('gives the same rows fed one byte at a time as fed whole, multi-byte characters split included', () => {
    const xml = Buffer.from(
      exportXml(
        [
          step('2024-01-01 10:00:00 +0000', ` device="${DEVICE}"`),
          `<Workout workoutActivityType="HKWorkoutActivityTypeYoga" sourceName="Zoë’s 🧘" device="${IPHONE}" startDate="2024-01-01 07:00:00 +0100" endDate="2024-01-01 07:30:00 +0100"><WorkoutStatistics type="HKQuantityTypeIdentifierActiveEnergyBurned" sum="12.5" unit="kcal"/></Workout>`,
          '<Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="W" value="HKCategoryValueSleepAnalysisAsleepREM" startDate="2024-01-01 01:00:00 +0000" endDate="2024-01-01 01:30:00 +0000"/>',
        ].join('\n'),
      ),
    );
    const chunks: ParsedChunk[] = [];
    const parser = new ExportParser((c) => chunks.push(c));
    for (const byte of xml) parser.write(Buffer.from([byte]));
    assert.equal(parser.end(), 3);
    const { items: _items, ...whole } = parsed(xml);
    assert.deepEqual(chunks, [whole]);
    assert.deepEqual(
      [
        whole.workouts[0]?.type,
        whole.workouts[0]?.sourceName,
        whole.workouts[0]?.energyBurned,
        whole.workouts[0]?.deviceModel,
      ],
      ['yoga', 'Zoë’s 🧘', 12.5, 'iPhone'],
    );
  });

  it('keeps a value as exported, whatever its unit (contract §5.4); the column rounds it to 3 places', async () => {
    const backend = await startBackendDouble({ directDelayMs: 1 });
    try {
      const user = backend.createUser({}).id;
      const key = { 'x-open-wearables-api-key': backend.createApiKey() };
      const rec = (type: string, unit: string, value: string, at: string) =>
        `<Record type="HKQuantityTypeIdentifier${type}" sourceName="S" unit="${unit}" value="${value}" startDate="${at}" endDate="${at}"/>`;
      const xml = exportXml(
        [
          rec('BodyMass', 'lb', '154.32149', '2024-01-01 08:00:00 +0000'),
          rec('DistanceWalkingRunning', 'mi', '1.5', '2024-01-01 08:00:00 +0000'),
          rec('BloodGlucose', 'mmol&lt;180.15588000005408&gt;/L', '5.5', '2024-01-01 08:00:00 +0000'),
          rec('BodyFatPercentage', '%', '0.215', '2024-01-01 08:00:00 +0000'),
          rec('BodyTemperature', 'degF', '98.6', '2024-01-01 08:00:00 +0000'),
        ].join('\n'),
      );
      await directUpload(backend, user, 'units.xml', xml, key);
      await backend.idle();
      const stored = Object.fromEntries(
        backend.imports(user).records.map((r) => [r.seriesType, [r.value, r.stored, r.unit]]),
      );
      assert.deepEqual(stored, {
        weight: ['154.32149', '154.321', 'kg'],
        distance_walking_running: ['1.5', '1.500', 'meters'],
        blood_glucose: ['5.5', '5.500', 'mg_dl'],
        body_fat_percentage: ['0.215', '0.215', 'percent'],
        body_temperature: ['98.6', '98.600', 'celsius'],
      });
      // A value the column cannot hold fails the time-series insert, and with it the task.
      await directUpload(
        backend,
        user,
        'huge.xml',
        exportXml(rec('StepCount', 'count', '12345678', '2024-01-02 08:00:00 +0000')),
        key,
      );
      await backend.idle();
      const failed = (backend.state.syncEvents.get(user) ?? []).at(-1);
      assert.equal(failed?.stage, 'failed');
      assert.match(failed?.error ?? '', /numeric field overflow/);
    } finally {
      await backend.close();
    }
  });
});

describe('backend XML import: workouts collide per data source (contract §5.6–5.7)', () => {
  let backend: BackendDouble;
  let user: string;
  let headers: Record<string, string>;
  const terminal = (filename: string) =>
    waitFor(
      () =>
        (backend.state.syncEvents.get(user) ?? []).find(
          (e) => e.metadata.filename === filename && (e.stage === 'completed' || e.stage === 'failed'),
        ),
      filename,
    ) as Promise<SyncStatusEvent>;
  const w = (source: string, device: string, start = '2024-06-01 07:00:00 +0000') =>
    `<Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="${source}" device="${device}" startDate="${start}" endDate="2024-06-01 07:45:00 +0000"/>`;

  before(async () => {
    backend = await startBackendDouble({ directDelayMs: 1 });
    user = backend.createUser({}).id;
    headers = { 'x-open-wearables-api-key': backend.createApiKey() };
  });
  after(() => backend.close());

  it('two copies with the same start and end in one export (two apps, one device model) fail the task', async () => {
    const xml = exportXml(
      [w('Apple Watch', DEVICE), w('Strava', DEVICE), step('2024-06-01 09:00:00 +0000')].join('\n'),
    );
    await directUpload(backend, user, 'copies.xml', xml, headers);
    const done = await terminal('copies.xml');
    assert.equal(done.stage, 'failed');
    assert.match(
      done.error ?? '',
      /UniqueViolation\) duplicate key value violates unique constraint "event_record_detail_pkey"/,
    );
    assert.equal(backend.counts(user).workouts, 1, 'the first copy was committed on its own');
    assert.equal(backend.counts(user).records, 0, "the chunk's records were not");
  });

  it('the same times on another device model are another data source: both are kept', async () => {
    const xml = exportXml(
      [
        w('Apple Watch', DEVICE, '2024-06-01 06:00:00 +0000'),
        w('Health', IPHONE, '2024-06-01 06:00:00 +0000'),
      ].join('\n'),
    );
    await directUpload(backend, user, 'models.xml', xml, headers);
    assert.equal((await terminal('models.xml')).stage, 'completed');
    assert.deepEqual(
      backend
        .imports(user)
        .workouts.filter((x) => x.start === '2024-06-01 06:00:00 +0000')
        .map((x) => x.deviceModel),
      ['Watch', 'iPhone'],
    );
  });
});
