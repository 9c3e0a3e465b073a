import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isImportedRecordType, MAPPED_QUANTITY_TYPES } from '../../../src/core/selection/mapped-types.js';
import { normalizeDevice } from '../../../src/core/validate/device.js';
import { GrowingHashSet, HashSet32 } from '../../../src/core/validate/hash-set.js';

describe('the backend’s type map (contract §5.3)', () => {
  it('maps all 81 identifiers and sleep', () => {
    assert.equal(MAPPED_QUANTITY_TYPES.size, 81);
    assert.equal(MAPPED_QUANTITY_TYPES.get('HKQuantityTypeIdentifierBodyMass'), 'weight');
    assert.ok(isImportedRecordType('HKCategoryTypeIdentifierSleepAnalysis'));
    assert.ok(!isImportedRecordType('HKQuantityTypeIdentifierDietaryProtein'));
    assert.ok(!isImportedRecordType('HKCategoryTypeIdentifierAppleStandHour'));
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

describe('HashSet32', () => {
  it('finds what it holds, tells hashes apart by both halves, and stops at 85 %', () => {
    const s = new HashSet32(1 << 12);
    for (let i = 0; i < 3000; i++) assert.equal(s.addOrHas(Math.imul(i, 7919), i), false);
    for (let i = 0; i < 3000; i++) assert.equal(s.addOrHas(Math.imul(i, 7919), i), true);
    assert.equal(s.has(Math.imul(5, 7919), 6), false, 'same home, other low half');
    assert.equal(s.size, 3000);
    assert.ok(!s.saturated);
    for (let i = 3000; i < 5000; i++) s.addOrHas(Math.imul(i, 7919), i);
    assert.ok(s.saturated);
    assert.equal(s.size, Math.floor(4096 * 0.85));
    assert.equal(s.bytes, 4096 * 4);
  });
});

describe('GrowingHashSet', () => {
  it('adds a table when the last fills, finds hashes in every table, and stops at its bound', () => {
    const s = new GrowingHashSet(1 << 16, 1 << 18);
    const n = 150_000;
    for (let i = 0; i < n; i++) assert.equal(s.addOrHas(Math.imul(i, 0x9e3779b1), i + 1), false);
    assert.equal(s.bytes, ((1 << 16) + (1 << 17)) * 4, 'two tables');
    for (let i = 0; i < n; i++) assert.equal(s.addOrHas(Math.imul(i, 0x9e3779b1), i + 1), true);
    assert.equal(s.size, n);
    assert.ok(!s.saturated);
    for (let i = n; i < 400_000; i++) s.addOrHas(Math.imul(i, 0x9e3779b1), i + 1);
    assert.ok(s.saturated);
    assert.ok(s.bytes <= (1 << 18) * 4, `${s.bytes} within the bound`);
    assert.ok(s.has(Math.imul(7, 0x9e3779b1), 8));
  });
});
