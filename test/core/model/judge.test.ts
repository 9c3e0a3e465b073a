/** The model's verdict on single elements (contract §5.3, §5.5, §5.6; open-wearables XMLService order of checks). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ElementFields, F_START, F_VALUE } from '../../../src/core/model/fields.js';
import {
  deviceModel,
  FAIL_VALUE_OUT_OF_RANGE,
  IMPORT_RECORD,
  IMPORT_SLEEP,
  IMPORT_WORKOUT,
  judgeRecord,
  judgeWorkout,
  OUTCOME_KEYS,
  REPAIR_DATE_FORMAT,
  SKIP_FOREIGN_NAMESPACE,
  SKIP_INVALID_DATE,
  SKIP_INVALID_STATISTIC,
  SKIP_INVALID_VALUE,
  SKIP_MISSING_ATTRIBUTE,
  SKIP_MISSING_START_DATE,
  SKIP_OLD_DATE_FORMAT,
  SKIP_UNKNOWN_SLEEP_STAGE,
  SKIP_UNMAPPED_TYPE,
  statisticFails,
  verdict,
  workoutKey,
} from '../../../src/core/model/judge.js';
import { TypeTable } from '../../../src/core/model/record-types.js';

const types = new TypeTable();
const fields = new ElementFields();
const HR = {
  type: 'HKQuantityTypeIdentifierHeartRate',
  sourceName: 'Watch',
  startDate: '2024-02-11 07:01:58 -0800',
  endDate: '2024-02-11 07:01:58 -0800',
  creationDate: '2024-02-11 07:02:10 -0800',
  value: '64',
};

function record(attrs: Record<string, string | undefined>, convertDates = false): number {
  const clean = Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined)) as Record<
    string,
    string
  >;
  fields.setAttrs(clean);
  return judgeRecord(fields, types.named(clean.type ?? '(none)'), { convertDates });
}

const WORKOUT = {
  workoutActivityType: 'HKWorkoutActivityTypeRunning',
  sourceName: 'Watch',
  startDate: '2024-02-11 18:02:40 -0800',
  endDate: '2024-02-11 18:47:02 -0800',
};

function workout(
  attrs: Record<string, string | undefined>,
  badStatistic = false,
  convertDates = false,
): number {
  fields.setAttrs(
    Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined)) as Record<string, string>,
  );
  return judgeWorkout(fields, badStatistic, { convertDates });
}

describe('judgeRecord', () => {
  it('imports mapped quantities and sleep stages; drops unmapped types', () => {
    assert.equal(record(HR), IMPORT_RECORD);
    assert.equal(verdict.startMs, Date.parse('2024-02-11T15:01:58Z'));
    assert.equal(record({ ...HR, type: 'HKQuantityTypeIdentifierDietaryProtein' }), SKIP_UNMAPPED_TYPE);
    assert.equal(
      record({ ...HR, type: 'HKCategoryTypeIdentifierLowHeartRateEvent', value: undefined }),
      SKIP_UNMAPPED_TYPE,
    );
    assert.equal(record({ ...HR, type: undefined }), SKIP_UNMAPPED_TYPE);
    const sleep = {
      ...HR,
      type: 'HKCategoryTypeIdentifierSleepAnalysis',
      value: 'HKCategoryValueSleepAnalysisAsleepREM',
    };
    assert.equal(record(sleep), IMPORT_SLEEP);
    assert.equal(record({ ...sleep, value: 'HKCategoryValueSleepAnalysisNap' }), SKIP_UNKNOWN_SLEEP_STAGE);
    // fromisoformat takes an ISO `T`, strptime does not.
    assert.equal(record({ ...sleep, startDate: '2024-02-11T07:01:58-08:00' }), IMPORT_SLEEP);
    assert.equal(record({ ...sleep, endDate: undefined }), SKIP_INVALID_DATE);
  });

  it('skips as the backend does, in its order: value, then every date, then a missing start', () => {
    assert.equal(record({ ...HR, value: 'sixty' }), SKIP_INVALID_VALUE);
    assert.equal(verdict.field, F_VALUE);
    assert.equal(record({ ...HR, value: undefined }), SKIP_INVALID_VALUE);
    assert.equal(record({ ...HR, value: ' ' }), SKIP_INVALID_VALUE);
    assert.equal(
      record({ ...HR, value: 'sixty', startDate: 'x' }),
      SKIP_INVALID_VALUE,
      'the value is read first',
    );
    assert.equal(record({ ...HR, startDate: '2024-02-11T07:01:58-08:00' }), SKIP_INVALID_DATE);
    assert.equal(verdict.field, F_START);
    assert.equal(
      record({ ...HR, creationDate: '2024-02-11' }),
      SKIP_INVALID_DATE,
      'creationDate is parsed too',
    );
    assert.equal(record({ ...HR, endDate: undefined }), IMPORT_RECORD, 'a Record needs no endDate');
    assert.equal(record({ ...HR, sourceName: undefined }), IMPORT_RECORD, 'nor a sourceName');
    assert.equal(record({ ...HR, startDate: undefined }), SKIP_MISSING_START_DATE);
    assert.equal(record({ ...HR, value: '1e9' }), FAIL_VALUE_OUT_OF_RANGE);
    assert.equal(record({ ...HR, xmlns: 'urn:x' }), SKIP_FOREIGN_NAMESPACE);
  });

  it('tells the iOS 8 compact dates, which apple-import can rewrite, from unreadable ones', () => {
    const old = {
      ...HR,
      startDate: '20141018163200+0100',
      endDate: '20141018163200+0100',
      creationDate: undefined,
    };
    assert.equal(record(old), SKIP_OLD_DATE_FORMAT);
    assert.equal(record(old, true), IMPORT_RECORD);
    assert.equal(verdict.repaired, REPAIR_DATE_FORMAT);
    assert.equal(verdict.startMs, Date.parse('2014-10-18T15:32:00Z'));
    assert.equal(record({ ...old, startDate: '20141318163200+0100' }, true), SKIP_INVALID_DATE);
  });
});

describe('judgeWorkout', () => {
  it('imports a workout with its instants; skips one without what the import needs', () => {
    assert.equal(workout(WORKOUT), IMPORT_WORKOUT);
    assert.equal(verdict.endMs - verdict.startMs, (44 * 60 + 22) * 1000);
    for (const missing of ['workoutActivityType', 'sourceName', 'startDate', 'endDate'])
      assert.equal(workout({ ...WORKOUT, [missing]: undefined }), SKIP_MISSING_ATTRIBUTE, missing);
    assert.equal(workout({ ...WORKOUT, startDate: '2024-02-11 18:02:40' }), SKIP_INVALID_DATE);
    assert.equal(workout(WORKOUT, true), SKIP_INVALID_STATISTIC);
    assert.equal(workout({ ...WORKOUT, startDate: '20240211180240-0800' }), SKIP_OLD_DATE_FORMAT);
    assert.equal(workout({ ...WORKOUT, startDate: '20240211180240-0800' }, false, true), IMPORT_WORKOUT);
  });

  it('knows which statistics fail int() and which device model files a workout', () => {
    assert.equal(statisticFails('HKQuantityTypeIdentifierHeartRate', 'NaN', '150'), true);
    assert.equal(statisticFails('HKQuantityTypeIdentifierHeartRate', '90', 'Infinity'), true);
    assert.equal(
      statisticFails('HKQuantityTypeIdentifierHeartRate', '90', 'fast'),
      false,
      'not a decimal: ignored',
    );
    assert.equal(statisticFails('HKQuantityTypeIdentifierActiveEnergyBurned', 'NaN', undefined), false);
    const device =
      '<<HKDevice: 0x2835f1b00>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.3>';
    assert.equal(deviceModel(device), 'Watch');
    assert.equal(deviceModel(undefined), null);
    assert.equal(deviceModel('Strava'), null);
    assert.notEqual(workoutKey('Watch', 1, 2), workoutKey(null, 1, 2));
  });

  it('names every outcome with a stable key', () => {
    assert.equal(new Set(OUTCOME_KEYS).size, OUTCOME_KEYS.length);
    assert.equal(OUTCOME_KEYS[SKIP_OLD_DATE_FORMAT], 'old-date-format');
  });
});
