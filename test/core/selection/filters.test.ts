import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFilters, select } from '../../../src/core/selection/filters.js';
import { SLEEP_TYPE, WORKOUT_TYPE } from '../../../src/core/selection/mapped-types.js';
import { AppError } from '../../../src/errors.js';

const HR = 'HKQuantityTypeIdentifierHeartRate';

function usageError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof AppError && e.exitCode === 2 && message.test(e.message));
}

describe('the filter grammar', () => {
  it('resolves aliases, short names, identifiers, Workout and workout activities', () => {
    const f = buildFilters({
      types: 'heart_rate, SleepAnalysis,StepCount,Workout,HKWorkoutActivityTypeRunning',
    });
    assert.deepEqual([...(f.types ?? [])].sort(), [
      'HKCategoryTypeIdentifierSleepAnalysis',
      HR,
      'HKQuantityTypeIdentifierStepCount',
      'HKWorkoutActivityTypeRunning',
      WORKOUT_TYPE,
    ]);
    // A HealthKit type the backend ignores is accepted in full: validate counts it.
    assert.ok(
      buildFilters({ types: 'HKQuantityTypeIdentifierDietaryWater' }).types?.has(
        'HKQuantityTypeIdentifierDietaryWater',
      ),
    );
    assert.deepEqual(buildFilters({ types: 'heart_rate', since: ' 2024-01-01' }).given, {
      since: '2024-01-01',
      types: ['heart_rate'],
    });
  });

  it('refuses what it cannot read as a usage error', () => {
    usageError(() => buildFilters({ types: 'hart_rate' }), /^--types: unknown type 'hart_rate'\.$/);
    usageError(() => buildFilters({ excludeTypes: 'HeartRat' }), /^--exclude-types: unknown type/);
    usageError(() => buildFilters({ types: ' , ' }), /no types given/);
    usageError(
      () => buildFilters({ since: '2024-02-30' }),
      /^--since: cannot read '2024-02-30' as a date\.$/,
    );
    usageError(() => buildFilters({ until: '01/02/2024' }), /^--until: cannot read/);
    usageError(() => buildFilters({ since: '2024-03-01T25:00:00' }), /cannot read/);
    usageError(() => buildFilters({ since: '2024-03-02', until: '2024-03-01' }), /after --until/);
  });

  it('a bare date is the day as the sample wrote it, wherever it was recorded', () => {
    const f = buildFilters({ since: '2024-02-01', until: '2024-02-01' });
    assert.equal(select(f, HR, '2024-01-31 23:59:59 +1400'), 'filtered-date');
    assert.equal(select(f, HR, '2024-02-01 00:00:00 -1200'), 'selected');
    assert.equal(select(f, HR, '2024-02-01 23:59:59 +0000'), 'selected');
    assert.equal(select(f, HR, '2024-02-02 00:00:00 +0000'), 'filtered-date');
    assert.equal(select(f, HR, undefined), 'unreadable-date');
  });

  it('a timestamp with an offset is an instant', () => {
    const f = buildFilters({ since: '2024-03-01T08:00:00+01:00' });
    assert.equal(select(f, HR, '2024-03-01 07:59:59 +0000'), 'selected');
    assert.equal(select(f, HR, '2024-03-01 07:59:59 +0100'), 'filtered-date');
    assert.equal(select(f, HR, '2024-03-01 08:00:00 +0100'), 'selected');
  });

  it('workouts go by Workout or by their activity; exclusions win', () => {
    const running = buildFilters({ types: 'HKWorkoutActivityTypeRunning' });
    assert.equal(select(running, WORKOUT_TYPE, undefined, 'HKWorkoutActivityTypeRunning'), 'selected');
    assert.equal(select(running, WORKOUT_TYPE, undefined, 'HKWorkoutActivityTypeCycling'), 'filtered-type');
    const noWalks = buildFilters({ types: 'workouts,sleep', excludeTypes: 'HKWorkoutActivityTypeWalking' });
    assert.equal(select(noWalks, WORKOUT_TYPE, undefined, 'HKWorkoutActivityTypeWalking'), 'filtered-type');
    assert.equal(select(noWalks, WORKOUT_TYPE, undefined, 'HKWorkoutActivityTypeRunning'), 'selected');
    assert.equal(select(noWalks, SLEEP_TYPE, undefined), 'selected');
    assert.equal(select(noWalks, HR, undefined), 'filtered-type');
  });
});
