import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type PredictedCounts,
  plainImportError,
  type SentWorkout,
  type SummaryCounts,
  stoppedAt,
  verifyBatches,
  verifySummary,
} from '../../../../src/core/upload/shared/verify.js';
import { detailPkeyViolation, pendingRollback } from '../../../../src/sandbox/backend/xml-commit.js';

const UNIQUE = detailPkeyViolation('6f1c2b9e-5a41-4c7d-9e2b-71d0a8c4e6f1');

const summary = (
  records: number,
  workouts: number,
  bySeries: Record<string, number> = {},
): SummaryCounts => ({
  records,
  workouts,
  sleepSessions: 0,
  bySeries,
});

const predicted = (p: Partial<PredictedCounts> = {}): PredictedCounts => ({
  records: 100,
  workouts: 3,
  sleep: 0,
  resent: 0,
  bySeries: { heart_rate: { predicted: 100, resent: 0 } },
  ...p,
});

describe('verifySummary: the rows a summary gained next to the prediction', () => {
  it('as predicted: ok, with the numbers of a batch verification', () => {
    const v = verifySummary(
      predicted(),
      summary(10, 1, { heart_rate: 10 }),
      summary(110, 4, { heart_rate: 110 }),
      {
        units: 1,
        failed: 0,
        settled: 'events',
      },
    );
    assert.equal(v.ok, true);
    assert.deepEqual(
      { predicted: v.predicted, imported: v.imported, units: v.units, failed: v.failed },
      { predicted: 103, imported: 103, units: 1, failed: 0 },
    );
    assert.deepEqual(v.bySeries, { heart_rate: { predicted: 100, imported: 100 } });
  });

  it('fewer records, or fewer workouts, than predicted: not ok', () => {
    const how = { units: 1, failed: 0, settled: 'stable' as const };
    assert.equal(verifySummary(predicted(), summary(0, 0), summary(99, 3), how).ok, false);
    assert.equal(verifySummary(predicted(), summary(0, 0), summary(100, 2), how).ok, false);
    // More than predicted (another client's rows meanwhile) is not a shortfall.
    assert.equal(verifySummary(predicted(), summary(0, 0), summary(150, 3), how).ok, true);
  });

  it('records sent again where the server has the type already are not expected to add rows', () => {
    const p = predicted({ resent: 20, bySeries: { heart_rate: { predicted: 100, resent: 20 } } });
    const v = verifySummary(p, summary(500, 9), summary(580, 12), {
      units: 1,
      failed: 0,
      settled: 'reached',
    });
    assert.equal(v.ok, true);
    assert.deepEqual(v.records, { predicted: 80, resent: 20, imported: 80 });
    assert.deepEqual(v.bySeries.heart_rate, { predicted: 80, imported: 0 });
  });

  it('sdk: a shortfall within what the series held before may be rows the server had; beyond it, rows lost', () => {
    const how = { units: 1, failed: 0, settled: 'events' as const, mayBeThere: true };
    const had = verifySummary(
      predicted(),
      summary(100, 3, { heart_rate: 100 }),
      summary(100, 3, { heart_rate: 100 }),
      how,
    );
    assert.equal(had.ok, true);
    assert.deepEqual(had.alreadyThere, { records: 100, workouts: 3 });
    // 100 predicted, 30 gained, 60 there before: at most 60 were there, 10 are lost.
    const lost = verifySummary(
      predicted(),
      summary(60, 3, { heart_rate: 60 }),
      summary(90, 6, { heart_rate: 90 }),
      how,
    );
    assert.equal(lost.ok, false);
    assert.deepEqual(lost.alreadyThere, { records: 60, workouts: 0 });
    // Rows of another series do not explain a shortfall in this one.
    const elsewhere = verifySummary(
      predicted(),
      summary(500, 3, { steps: 500 }),
      summary(500, 3, { steps: 500 }),
      how,
    );
    assert.equal(elsewhere.ok, false);
    // Without the sdk's re-send, the same counts are a shortfall.
    assert.equal(
      verifySummary(predicted(), summary(100, 3, { heart_rate: 100 }), summary(100, 3, { heart_rate: 100 }), {
        ...how,
        mayBeThere: false,
      }).ok,
      false,
    );
    assert.equal(verifySummary(predicted(), summary(0, 0), summary(100, 3), how).alreadyThere, undefined);
  });

  it('a failed task is not ok, whatever the counts; a series the prediction lacks is listed with what it gained', () => {
    const v = verifySummary(predicted(), summary(0, 0), summary(100, 3, { steps: 4 }), {
      units: 1,
      failed: 1,
      settled: 'events',
    });
    assert.equal(v.ok, false);
    assert.deepEqual(v.bySeries.steps, { predicted: 0, imported: 4 });
  });
});

describe('stoppedAt: the workout an S3 import failed on', () => {
  const sent: SentWorkout[] = [0, 1, 2, 3].map((i) => ({
    key: `k${i}`,
    activity: 'HKWorkoutActivityTypeRunning',
    startDate: `2024-01-0${i + 1} 07:00:00 +0100`,
  }));

  it('is the one after those the summary gained, for a unique-key error only', () => {
    assert.equal(stoppedAt(UNIQUE, sent, 2)?.key, 'k2');
    assert.equal(stoppedAt(pendingRollback(UNIQUE), sent, 0)?.key, 'k0');
    assert.equal(stoppedAt('object is too large', sent, 2), null);
    assert.equal(stoppedAt(UNIQUE, sent, 4), null, 'beyond what was sent, it cannot be told');
    assert.equal(stoppedAt(null, sent, 1), null);
  });
});

describe('plainImportError: backend errors in plain words, with advice that can succeed', () => {
  it('s3, the workout known and learnt: names it and advises an upload with --force, or the records alone', () => {
    const e = plainImportError(UNIQUE, 'the import', {
      method: 's3',
      workout: { key: 'k', activity: 'HKWorkoutActivityTypeRunning', startDate: '2024-01-05 07:00:00 +0100' },
      learnt: 3,
    });
    assert.match(e.message, /^the server already has workout Running from 2024-01-05 07:00:00 \+0100 /);
    assert.equal(e.retryable, false);
    assert.match(
      e.hint ?? '',
      /^upload it again with --force: the workouts the server now has of those sent \(3\)/,
    );
    assert.match(e.hint ?? '', /--method direct --exclude-types Workout/);
  });

  it('s3, the workout unknown: only the advice that does not depend on the ledger', () => {
    const e = plainImportError(UNIQUE, 'the import', { method: 's3' });
    assert.match(e.message, /one of the workouts sent \(imported before/);
    assert.doesNotMatch(e.hint ?? '', /--force/);
    assert.match(e.hint ?? '', /^--method direct --exclude-types Workout/);
  });

  it('direct: the filter flags of its own method', () => {
    const e = plainImportError(pendingRollback(UNIQUE), 'batch 3');
    assert.equal(e.retryable, false);
    assert.match(e.hint ?? '', /^send the rest with --exclude-types Workout/);
  });

  it('never advises sending the same again for an error that would recur, nor quotes the server’s text', () => {
    for (const method of ['s3', 'direct'] as const)
      for (const error of [UNIQUE, 'NumericValueOutOfRange: numeric field overflow']) {
        const e = plainImportError(error, 'the import', { method });
        assert.equal(e.retryable, false);
        assert.doesNotMatch(`${e.message} ${e.hint}`, /re-run the same command|UniqueViolation|§/);
      }
    assert.match(
      plainImportError('NumericValueOutOfRange', 'the import', { method: 's3' }).hint ?? '',
      /--method direct --exclude-types/,
    );
    // An error apple-import does not know may pass on another attempt.
    assert.equal(plainImportError('connection reset', 'batch 1').retryable, true);
  });
});

describe('verifyBatches (direct)', () => {
  it('compares the batches followed, not those an earlier run sent', () => {
    const batch = (state: string, records: number, itemsProcessed: number | null) =>
      ({ state, records, itemsProcessed }) as Parameters<typeof verifyBatches>[0][number];
    const v = verifyBatches([
      batch('completed', 10, 10),
      batch('skipped', 5, null),
      batch('completed', 7, 6),
    ]);
    assert.deepEqual(v, { predicted: 17, imported: 16, units: 2, failed: 0, ok: false });
  });
});
