/**
 * validate's collector over small documents: counts, duplicates and Correlation copies, the
 * backend-import model's outcome (what is imported, skipped and why, what fails the task), issues with
 * their places, sources, defects and filters. Every document is read with the compiled fast path and
 * without, whole and in 7-byte chunks, and must give one report (helpers.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildFilters } from '../../../src/core/selection/filters.js';
import { collect, HEAD, rec, TAIL } from './helpers.js';

const SYS = 'HKQuantityTypeIdentifierBloodPressureSystolic';
const DIA = 'HKQuantityTypeIdentifierBloodPressureDiastolic';
const T = '2024-01-01 08:00:00 -0800';

function correlation(members: string): string {
  return ` <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" startDate="${T}" endDate="${T}">\n${members.replace(/^ /gm, '  ')} </Correlation>\n`;
}

describe('ValidationCollector', () => {
  it('counts, dedupes and pairs correlation copies in either order', () => {
    const r = collect(
      HEAD +
        ` <ExportDate value="2024-02-01 10:00:00 -0800"/>\n` +
        rec(SYS, T, '120') +
        rec(SYS, T, '120') + // the same bytes again: an exact duplicate
        correlation(rec(SYS, T, '120') + rec(DIA, T, '80')) +
        rec(DIA, T, '80') + // after its correlation (shuffled order)
        rec('HKQuantityTypeIdentifierDietaryProtein', '2024-01-02 12:00:00 -0800', '3') +
        ' <ActivitySummary dateComponents="2024-01-01"/>\n' +
        TAIL,
    );
    assert.equal(r.elements.Record, 4);
    assert.equal(r.nestedElements.Record, 2);
    assert.equal(r.duplicates.exact, 1);
    assert.equal(r.correlations.copies, 2);
    assert.equal(r.exportDate, '2024-02-01 10:00:00 -0800');
    assert.deepEqual(r.ignored.recordTypes, { HKQuantityTypeIdentifierDietaryProtein: 1 });
    assert.deepEqual(
      r.ignored.elements,
      { ActivitySummary: 1, ExportDate: 1 },
      'a Correlation is not ignored',
    );
    assert.deepEqual(r.records.perMonth, { '2024-01': 4 });
    // Two distinct samples reach the backend; the duplicate and the copies write the same rows again.
    assert.deepEqual(r.willImport, { records: 2, workouts: 0, sleep: 0, total: 2, itemsProcessed: 5 });
    assert.deepEqual(r.willSkip.byReason['unmapped-type'], {
      total: 1,
      byType: { HKQuantityTypeIdentifierDietaryProtein: 1 },
    });
    assert.deepEqual(r.willSkip.byReason['not-imported-element'], {
      total: 1,
      byType: { ActivitySummary: 1 },
    });
    assert.equal(r.verdict, 'warnings');
    assert.equal(r.accepted, true);
  });

  it('counts the members of a Correlation that have no top-level copy, as the backend imports them', () => {
    let top = '';
    for (let i = 0; i < 9; i++)
      top += rec('HKQuantityTypeIdentifierHeartRate', `2024-01-01 08:0${i}:00 -0800`, '60');
    const r = collect(HEAD + top + correlation(rec(SYS, T, '120') + rec(DIA, T, '80')) + TAIL);
    assert.equal(r.records.total, 9);
    assert.equal(r.willImport.records, 11);
    assert.equal(r.willImport.itemsProcessed, 11);
    assert.equal(r.correlations.copies, 0);
  });

  it('reports skips by reason with where they are, and sources without device addresses', () => {
    const HR = 'HKQuantityTypeIdentifierHeartRate';
    const r = collect(
      HEAD +
        rec(HR, '2024-01-01T08:00:00Z', '60') +
        rec(HR, T, 'sixty', ' device="&lt;&lt;HKDevice: 0xabc&gt;, name:Apple Watch, model:Watch&gt;"') +
        rec(
          HR,
          '2024-01-01 08:05:00 -0800',
          '61',
          ' device="&lt;&lt;HKDevice: 0xdef&gt;, name:Apple Watch, model:Watch&gt;"',
        ) +
        rec(HR, '20141018163200+0100', '62') +
        TAIL,
    );
    const byKind = Object.fromEntries(r.issues.map((i) => [i.kind, i]));
    assert.equal(byKind['malformed-date']?.count, 1);
    assert.equal(byKind['malformed-date']?.examples[0]?.value, '2024-01-01T08:00:00Z');
    assert.equal(byKind['malformed-date']?.examples[0]?.attribute, 'startDate');
    assert.deepEqual(
      {
        line: byKind['non-numeric-value']?.examples[0]?.line,
        column: byKind['non-numeric-value']?.examples[0]?.column,
      },
      { line: 4, column: 2 },
    );
    // The compact date is rewritten by the upload: imported, and counted as a repair.
    assert.equal(byKind['old-date-format'], undefined);
    assert.equal(r.willSkip.byReason['invalid-date']?.total, 1);
    assert.equal(r.willSkip.byReason['old-date-format'], undefined);
    assert.equal(r.willRepair.byKind['date-format'], 1);
    assert.equal(r.willImport.records, 2);
    const watch = r.sources.find((s) => s.device === 'name:Apple Watch, model:Watch');
    assert.equal(watch?.records, 2);
    assert.equal(r.verdict, 'warnings');
  });

  it('repairs two workouts the backend keys alike by leaving out the later, naming both', () => {
    const w = (source: string, device: string, activity: string) =>
      ` <Workout workoutActivityType="${activity}" sourceName="${source}"${device} startDate="2024-03-01 07:00:00 +0100" endDate="2024-03-01 07:30:00 +0100"/>\n`;
    const watch = ' device="&lt;&lt;HKDevice: 0x1&gt;, name:Apple Watch, model:Watch&gt;"';
    const r = collect(
      HEAD +
        w('Dana’s Apple Watch', watch, 'HKWorkoutActivityTypeRunning') +
        w('Strava', '', 'HKWorkoutActivityTypeRunning') + // another data source: no collision
        w('Strava', watch.replace('0x1', '0x2'), 'HKWorkoutActivityTypeRunning') +
        TAIL,
    );
    assert.equal(r.accepted, true);
    assert.deepEqual(r.importFails, []);
    assert.equal(r.willRepair.byKind['workout-collision'], 1);
    assert.equal(r.willImport.workouts, 2);
    assert.deepEqual(
      [r.workoutCollisions[0]?.first.sourceName, r.workoutCollisions[0]?.again.sourceName],
      ['Dana’s Apple Watch', 'Strava'],
    );
    assert.equal(r.workoutCollisions[0]?.again.line, 5);
  });

  it('fails on truncation and non-repairable defects, warns on repairable ones', () => {
    const broken = collect(`${HEAD} <Record a="1"></Recrd>\n${TAIL}`);
    assert.equal(broken.verdict, 'invalid');
    assert.equal(broken.truncated, false, 'it ends with </HealthData>');
    assert.deepEqual(broken.reasons, ['not well-formed: </Recrd> does not match <Record>']);
    const cut = collect(`${HEAD}${rec(SYS, T, '120')} <Record type="x`);
    assert.equal(cut.truncated, true);
    assert.deepEqual(cut.reasons, ['the export is truncated (no closing </HealthData>)']);
    const nothing = collect(`${HEAD} <ActivitySummary dateComponents="2024-01-01"/>\n${TAIL}`);
    assert.equal(nothing.importFails[0]?.reason, 'nothing-to-import');
    assert.equal(nothing.accepted, false);
  });

  it('refuses a root in a default namespace, where the backend sees no Record', () => {
    const r = collect(
      HEAD.replace('<HealthData locale', '<HealthData xmlns="urn:x" locale') + rec(SYS, T, '120') + TAIL,
    );
    assert.equal(r.accepted, false);
    assert.equal(r.importFails[0]?.reason, 'foreign-namespace');
    assert.match(r.reasons[0]!, /namespace "urn:x"/);
  });

  it('applies filters to the selection, not to element counts', () => {
    const r = collect(
      HEAD +
        rec('HKQuantityTypeIdentifierStepCount', T, '5') +
        rec('HKQuantityTypeIdentifierHeartRate', T, '5') +
        TAIL,
      buildFilters({ types: 'StepCount' }),
    );
    assert.equal(r.records.total, 1);
    assert.equal(r.elements.Record, 2);
    assert.equal(r.filter?.excluded, 1);
    assert.equal(r.willImport.records, 1);
  });
});

describe('what validate reports of a broken export', () => {
  it('a parse error in a whole export is its one reason; one that is also cut says both', () => {
    // iOS 8.3 wrote metadata as attributes with spaces in their names (format §2.1).
    const ios83 = `${HEAD} <Record type="HKQuantityTypeIdentifierBodyMass" Health Mate App Version="2.5" value="70"/>\n${rec(SYS, T, '120')}${TAIL}`;
    const whole = collect(ios83);
    assert.equal(whole.truncated, false);
    assert.deepEqual(whole.reasons, ['not well-formed: attribute "Health" without a value']);
    const cut = collect(ios83.slice(0, -40));
    assert.equal(cut.truncated, true);
    assert.deepEqual(cut.reasons, [
      'the export is truncated (no closing </HealthData>)',
      'not well-formed: attribute "Health" without a value',
    ]);
  });
});
