// The pieces of an SDK sample that are not units (test/core/units): dates, provenance, workout names and
// the id, each against what the backend (or its double) makes of it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sdkDate } from '../../../../src/core/upload/sdk/dates.js';
import { sampleId } from '../../../../src/core/upload/sdk/reader.js';
import { sourceInfo } from '../../../../src/core/upload/sdk/source.js';
import { sdkWorkoutType } from '../../../../src/core/upload/sdk/workout-types.js';
import { pydanticDatetime } from '../../../../src/sandbox/backend/sdk-schema.js';
import {
  unifiedSdkWorkoutType,
  unifiedXmlWorkoutType,
} from '../../../../src/sandbox/backend/workout-types.js';

describe('sdk dates', () => {
  it('writes RFC 3339 with the record’s own offset, and that offset as zoneOffset', () => {
    assert.deepEqual(sdkDate('2024-01-15 08:30:00 +0100'), {
      rfc3339: '2024-01-15T08:30:00+01:00',
      zoneOffset: '+01:00',
      ms: Date.UTC(2024, 0, 15, 7, 30, 0),
    });
    assert.equal(sdkDate('2024-07-01 23:59:59 -0930')?.rfc3339, '2024-07-01T23:59:59-09:30');
    // The iOS 8-era compact form, which the other methods rewrite too.
    assert.equal(sdkDate('20141018163200+0100')?.rfc3339, '2014-10-18T16:32:00+01:00');
  });

  it('is the instant pydantic reads', () => {
    for (const d of ['2024-01-15 08:30:00 +0100', '2023-03-26 02:30:00 -0700', '2024-02-29 00:00:00 +1400']) {
      const s = sdkDate(d)!;
      assert.equal(pydanticDatetime(s.rfc3339, 'startDate'), s.ms, d);
    }
  });

  it('refuses what is not an instant', () => {
    for (const d of [
      '2024-02-30 08:00:00 +0100',
      '2024-01-15 24:00:00 +0000',
      '2024-01-15T08:30:00Z',
      '',
      undefined,
    ])
      assert.equal(sdkDate(d), null, String(d));
  });
});

describe('sdk provenance', () => {
  it('names the source after the app and files it under the device model, without the address', () => {
    const device =
      '<<HKDevice: 0x2835c1e50>, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.3, creation date:2023-09-19 06:12:44 +0000>';
    assert.deepEqual(sourceInfo('Dana’s Apple Watch', '10.3', device), {
      name: 'Dana’s Apple Watch',
      version: '10.3',
      deviceName: 'Apple Watch',
      deviceManufacturer: 'Apple Inc.',
      deviceModel: 'Watch',
      productType: 'Watch6,2',
      deviceHardwareVersion: 'Watch6,2',
      deviceSoftwareVersion: '10.3',
      operatingSystemVersion: { majorVersion: 10, minorVersion: 3, patchVersion: 0 },
    });
    assert.deepEqual(sourceInfo('Health Mate', '6140201', undefined), {
      name: 'Health Mate',
      version: '6140201',
    });
  });
});

describe('sdk workout names', () => {
  it('every HealthKit activity lands in the same unified type as on the XML path', () => {
    const names =
      'Walking Running Cycling WheelchairWalkPace WheelchairRunPace HandCycling Elliptical StairClimbing Stairs JumpRope CoreTraining FunctionalStrengthTraining TraditionalStrengthTraining CrossTraining MixedCardio HighIntensityIntervalTraining StepTraining FitnessGaming PreparationAndRecovery Flexibility Cooldown Barre CardioDance SocialDance Yoga MindAndBody Pilates AmericanFootball AustralianFootball Baseball Basketball Cricket DiscSports Handball Hockey Lacrosse Rugby Soccer Softball Volleyball Badminton Pickleball Racquetball Squash TableTennis Tennis Climbing EquestrianSports Fishing Golf Hiking Hunting Play CrossCountrySkiing Curling DownhillSkiing SnowSports Snowboarding SkatingSports PaddleSports Rowing Sailing SurfingSports Swimming UnderwaterDiving WaterFitness WaterPolo WaterSports Boxing Kickboxing MartialArts TaiChi Wrestling Archery Bowling Fencing Gymnastics TrackAndField SwimBikeRun Transition Dance DanceInspiredTraining MixedMetabolicCardioTraining Other'.split(
        ' ',
      );
    const wrong = names
      .map((n) => `HKWorkoutActivityType${n}`)
      .filter((hk) => unifiedSdkWorkoutType(sdkWorkoutType(hk)) !== unifiedXmlWorkoutType(hk));
    assert.deepEqual(wrong, []);
    assert.equal(sdkWorkoutType('HKWorkoutActivityTypeSomethingNew'), 'other');
  });
});

describe('sdk ids', () => {
  it('are stable, at most 100 characters, and differ for different samples', () => {
    const a = sampleId({ type: 'HKQuantityTypeIdentifierHeartRate', hi: 0xdeadbeef, lo: 1 });
    assert.equal(a, sampleId({ type: 'HKQuantityTypeIdentifierHeartRate', hi: 0xdeadbeef, lo: 1 }));
    assert.ok(a.length <= 100, a);
    assert.notEqual(a, sampleId({ type: 'HKQuantityTypeIdentifierHeartRate', hi: 0xdeadbeef, lo: 2 }));
    assert.match(sampleId({ type: 'Workout', hi: 1, lo: 2 }), /^apple-import:w:/);
  });
});
