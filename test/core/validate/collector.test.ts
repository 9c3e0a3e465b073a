import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TopLevelElement } from '../../../src/core/reader/types.js';
import { buildFilters } from '../../../src/core/selection/filters.js';
import { type ScanFacts, ValidationCollector } from '../../../src/core/validate/collector.js';

let line = 1;
function top(
  name: string,
  attrs: Record<string, string>,
  children: TopLevelElement['children'] = [],
): TopLevelElement {
  line++;
  return { name, attrs, children, line, column: 2, startOffset: line * 100, endOffset: line * 100 + 90 };
}
const rec = (type: string, start: string, value: string, extra: Record<string, string> = {}) =>
  top('Record', { type, sourceName: 'Omron', startDate: start, endDate: start, value, ...extra });

const facts = (over: Partial<ScanFacts> = {}): ScanFacts => ({
  bytes: 1000,
  exportVersion: 14,
  locale: 'en_US',
  rootSeen: true,
  closed: true,
  wellFormed: true,
  repairable: true,
  defectCounts: {},
  illegalCharCount: 0,
  ...over,
});

describe('ValidationCollector', () => {
  it('counts, dedupes and pairs correlation copies in either order', () => {
    const c = new ValidationCollector();
    const sys = rec('HKQuantityTypeIdentifierBloodPressureSystolic', '2024-01-01 08:00:00 -0800', '120');
    const dia = rec('HKQuantityTypeIdentifierBloodPressureDiastolic', '2024-01-01 08:00:00 -0800', '80');
    c.onElement(top('ExportDate', { value: '2024-02-01 10:00:00 -0800' }));
    c.onElement(sys);
    c.onElement({ ...sys, line: 99 }); // same bytes elsewhere: an exact duplicate
    c.onElement(
      top(
        'Correlation',
        {
          type: 'HKCorrelationTypeIdentifierBloodPressure',
          sourceName: 'Omron',
          startDate: '2024-01-01 08:00:00 -0800',
          endDate: '2024-01-01 08:00:00 -0800',
        },
        [
          { ...sys, children: [] },
          { ...dia, children: [] },
        ],
      ),
    );
    c.onElement(dia); // after its correlation (shuffled order)
    c.onElement(rec('HKQuantityTypeIdentifierDietaryProtein', '2024-01-02 12:00:00 -0800', '3'));
    c.onElement(top('ActivitySummary', { dateComponents: '2024-01-01' }));
    const r = c.finish(facts(), 10);
    assert.equal(r.elements.Record, 4);
    assert.equal(r.nestedElements.Record, 2);
    assert.equal(r.duplicates.exact, 1);
    assert.equal(r.correlations.copies, 2);
    assert.equal(r.exportDate, '2024-02-01 10:00:00 -0800');
    assert.deepEqual(r.ignored.recordTypes, { HKQuantityTypeIdentifierDietaryProtein: 1 });
    assert.equal(r.ignored.elements.ActivitySummary, 1);
    assert.deepEqual(r.records.perMonth, { '2024-01': 4 });
    assert.equal(r.verdict, 'warnings');
    assert.equal(r.accepted, true);
  });

  it('reports issues with locations and sources without device addresses', () => {
    const c = new ValidationCollector();
    c.onElement(rec('HKQuantityTypeIdentifierHeartRate', '2024-01-01T08:00:00Z', '60'));
    c.onElement(
      rec('HKQuantityTypeIdentifierHeartRate', '2024-01-01 08:00:00 -0800', 'sixty', {
        device: '<<HKDevice: 0xabc>, name:Apple Watch, model:Watch>',
      }),
    );
    c.onElement(
      rec('HKQuantityTypeIdentifierHeartRate', '2024-01-01 08:05:00 -0800', '61', {
        device: '<<HKDevice: 0xdef>, name:Apple Watch, model:Watch>',
      }),
    );
    const r = c.finish(facts(), 10);
    const byKind = Object.fromEntries(r.issues.map((i) => [i.kind, i]));
    assert.equal(byKind['malformed-date']?.count, 2, 'startDate and endDate');
    assert.equal(byKind['malformed-date']?.examples[0]?.value, '2024-01-01T08:00:00Z');
    assert.equal(byKind['non-numeric-value']?.examples[0]?.line, line - 1);
    const watch = r.sources.find((s) => s.device === 'name:Apple Watch, model:Watch');
    assert.equal(watch?.records, 2);
  });

  it('fails on truncation and non-repairable defects, warns on repairable ones', () => {
    const c = new ValidationCollector();
    c.onDefect({
      kind: 'dtd-unclosed-attlist',
      message: 'unclosed ATTLIST',
      line: 158,
      column: 0,
      offset: 9000,
      repairable: true,
    });
    const ok = c.finish(facts({ defectCounts: { 'dtd-unclosed-attlist': 1 } }), 1);
    assert.equal(ok.verdict, 'warnings');
    assert.deepEqual(ok.defects[0]?.examples[0], {
      line: 158,
      column: 0,
      offset: 9000,
      message: 'unclosed ATTLIST',
    });
    const truncated = new ValidationCollector().finish(
      facts({ closed: false, defectCounts: { truncated: 1 } }),
      1,
    );
    assert.equal(truncated.accepted, false);
    const broken = new ValidationCollector();
    broken.onDefect({
      kind: 'not-well-formed',
      message: 'mismatched tag',
      line: 3,
      column: 5,
      offset: 50,
      repairable: false,
    });
    const r = broken.finish(
      facts({ wellFormed: false, repairable: false, defectCounts: { 'not-well-formed': 1 } }),
      1,
    );
    assert.equal(r.verdict, 'invalid');
    assert.match(r.reasons.join(), /mismatched tag/);
  });

  it('applies filters to the selection, not to element counts', () => {
    const c = new ValidationCollector(buildFilters({ types: 'StepCount' }));
    c.onElement(rec('HKQuantityTypeIdentifierStepCount', '2024-01-01 08:00:00 -0800', '5'));
    c.onElement(rec('HKQuantityTypeIdentifierHeartRate', '2024-01-01 08:00:00 -0800', '5'));
    const r = c.finish(facts(), 1);
    assert.equal(r.records.total, 1);
    assert.equal(r.elements.Record, 2);
    assert.equal(r.filter?.excluded, 1);
  });
});
