import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExportElement } from '../../../src/core/reader/types.js';
import { isImportedRecordType, MAPPED_QUANTITY_TYPES } from '../../../src/core/selection/mapped-types.js';
import { normalizeDevice } from '../../../src/core/validate/device.js';
import { elementHash, HashSet64 } from '../../../src/core/validate/hash-set.js';
import {
  AppleDate,
  appleDateToEpoch,
  checkRecord,
  checkWorkout,
  QuantityRecordAttrs,
} from '../../../src/core/validate/schemas.js';

const base = {
  type: 'HKQuantityTypeIdentifierHeartRate',
  sourceName: 'Dana’s Apple Watch',
  startDate: '2024-02-11 07:01:58 -0800',
  endDate: '2024-02-11 07:01:58 -0800',
  value: '64',
};

describe('record rules (contract §5.3, §5.5)', () => {
  it('accepts what the backend imports and ignores what it does not map', () => {
    assert.deepEqual(checkRecord(base), []);
    assert.deepEqual(checkRecord({ ...base, value: '47.8478' }), []);
    assert.deepEqual(
      checkRecord({ ...base, type: 'HKCategoryTypeIdentifierLowHeartRateEvent', value: undefined as never }),
      [],
    );
    assert.deepEqual(
      checkRecord({
        ...base,
        type: 'HKCategoryTypeIdentifierSleepAnalysis',
        value: 'HKCategoryValueSleepAnalysisAsleepREM',
      }),
      [],
    );
  });

  it('names each problem', () => {
    const kinds = (a: Record<string, string | undefined>) =>
      checkRecord(a as Record<string, string>).map((i) => `${i.kind}:${i.attribute}`);
    assert.deepEqual(kinds({ ...base, startDate: '2024-02-11T07:01:58-08:00' }), [
      'malformed-date:startDate',
    ]);
    assert.deepEqual(kinds({ ...base, endDate: '2024-02-11 07:01:58 -08:00' }), ['malformed-date:endDate']);
    assert.deepEqual(kinds({ ...base, startDate: '2024-13-11 07:01:58 -0800' }), [
      'malformed-date:startDate',
    ]);
    assert.deepEqual(kinds({ ...base, value: '64,5' }), ['non-numeric-value:value']);
    assert.deepEqual(kinds({ ...base, value: 'NaN' }), ['non-numeric-value:value']);
    assert.deepEqual(kinds({ ...base, value: undefined }), ['missing-value:value']);
    assert.deepEqual(kinds({ ...base, sourceName: undefined }), ['missing-attribute:sourceName']);
    assert.deepEqual(
      kinds({
        ...base,
        type: 'HKCategoryTypeIdentifierSleepAnalysis',
        value: 'HKCategoryValueSleepAnalysisNap',
      }),
      ['unknown-sleep-stage:value'],
    );
    assert.deepEqual(
      checkWorkout({
        workoutActivityType: 'HKWorkoutActivityTypeRunning',
        startDate: base.startDate,
        endDate: base.endDate,
      }).map((i) => i.kind),
      ['missing-attribute'],
    );
  });

  it('the fast path agrees with the zod schemas', () => {
    for (const d of [
      '2024-02-11 07:01:58 -0800',
      '2024-02-11 24:00:00 +0000',
      '2024-02-11 07:01:58',
      '2024-2-11 07:01:58 +0100',
    ])
      assert.equal(AppleDate.safeParse(d).success, checkRecord({ ...base, startDate: d }).length === 0, d);
    for (const v of ['1', '-1.5', '.5', '1e3', '1.', 'abc', '', ' 1'])
      assert.equal(
        QuantityRecordAttrs.safeParse({ ...base, value: v }).success,
        checkRecord({ ...base, value: v }).length === 0,
        v,
      );
  });

  it('maps all 81 identifiers and sleep', () => {
    assert.equal(MAPPED_QUANTITY_TYPES.size, 81);
    assert.equal(MAPPED_QUANTITY_TYPES.get('HKQuantityTypeIdentifierBodyMass'), 'weight');
    assert.ok(isImportedRecordType('HKCategoryTypeIdentifierSleepAnalysis'));
    assert.ok(!isImportedRecordType('HKQuantityTypeIdentifierDietaryProtein'));
    assert.ok(!isImportedRecordType('HKCategoryTypeIdentifierAppleStandHour'));
  });

  it('converts dates with their offsets', () => {
    assert.equal(appleDateToEpoch('2024-01-01 00:00:00 -0800'), Date.parse('2024-01-01T08:00:00Z'));
    assert.equal(appleDateToEpoch('2024-01-01 00:00:00 +0530'), Date.parse('2023-12-31T18:30:00Z'));
  });
});

describe('normalizeDevice', () => {
  it('drops the address and creation date (format §2.4)', () => {
    assert.equal(
      normalizeDevice(
        '<<HKDevice: 0x2835c1e50>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.3, creation date:2023-09-19 06:12:44 +0000>',
      ),
      'name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.3',
    );
    assert.equal(
      normalizeDevice(
        '<<HKDevice: 0x1>, name:iPhone, creation date:2023-09-19 06:12:44 +0000, software:17.1>',
      ),
      'name:iPhone, software:17.1',
    );
    assert.equal(normalizeDevice(undefined), '');
  });
});

describe('HashSet64 and elementHash', () => {
  const el = (attrs: Record<string, string>, children: ExportElement[] = []): ExportElement => ({
    name: 'Record',
    attrs,
    children,
    line: 1,
    column: 1,
  });

  it('hashes canonical content: same bytes equal, any change differs', () => {
    const a = [...elementHash(el(base))];
    assert.deepEqual([...elementHash(el({ ...base }))], a);
    assert.notDeepEqual([...elementHash(el({ ...base, value: '65' }))], a);
    assert.notDeepEqual([...elementHash(el(base, [el({ key: 'k', value: 'v' })]))], a);
    // Attribute boundaries are part of the hash.
    assert.notDeepEqual([...elementHash(el({ a: 'bc' }))], [...elementHash(el({ ab: 'c' }))]);
  });

  it('grows, finds what it holds and stops at its bound', () => {
    const s = new HashSet64(8, 1 << 12);
    for (let i = 0; i < 2000; i++) assert.equal(s.addOrHas(i * 7919, i), false);
    for (let i = 0; i < 2000; i++) assert.equal(s.addOrHas(i * 7919, i), true);
    assert.equal(s.size, 2000);
    assert.ok(!s.saturated);
    for (let i = 2000; i < 5000; i++) s.addOrHas(i * 7919, i);
    assert.ok(s.saturated);
    assert.ok(s.bytes <= (1 << 12) * 8);
  });
});
