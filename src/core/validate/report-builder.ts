/**
 * The validate report from what the collector counted and the scan's facts: the backend-import
 * model's outcome first (what it imports, skips, what apple-import repairs, whether the task fails),
 * then the counts, sources, defects and the verdict with its reasons and warnings.
 */

import { count } from '../../io/text.js';
import { summarizeImport, UPLOAD_REPAIRS, type UploadRepairs } from '../model/outcome.js';
import type { ImportTally } from '../model/tally.js';
import type { DefectKind, ScanSummary } from '../reader/types.js';
import type { FilterSpec } from '../selection/filters.js';
import type { DefectSummary, IssueSummary, SourceSummary, ValidationReport } from './report.js';

/** The scan facts the report needs; a subset of the reader's ScanSummary. */
export type ScanFacts = Pick<
  ScanSummary,
  | 'bytes'
  | 'exportVersion'
  | 'locale'
  | 'rootSeen'
  | 'closed'
  | 'wellFormed'
  | 'repairable'
  | 'defectCounts'
  | 'illegalCharCount'
>;

/** What the collector counted. */
export interface Collected {
  elements: Map<string, number>;
  nested: Map<string, number>;
  recordTypes: Map<string, number>;
  perMonth: Map<string, number>;
  workoutTypes: Map<string, number>;
  correlationTypes: Map<string, number>;
  ignoredTypes: Map<string, number>;
  ignoredElements: Map<string, number>;
  sources: SourceSummary[];
  issues: IssueSummary[];
  defects: Map<DefectKind, DefectSummary>;
  exportDate: string | null;
  correlations: number;
  records: number;
  workouts: number;
  excluded: number;
  first: string | null;
  last: string | null;
  /** Per record type: the first and last startDate (types without one in Apple's shape have none). */
  datesByType: Map<string, { first: string; last: string }>;
  exactDuplicates: number;
  correlationCopies: number;
  sameKeyRecords: number;
  tracked: number;
  saturated: boolean;
  tally: ImportTally;
  filter: FilterSpec | null;
}

function toObject(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

export function buildReport(
  c: Collected,
  scan: ScanFacts,
  durationMs: number,
  repairs: UploadRepairs = UPLOAD_REPAIRS,
): ValidationReport {
  const defects: DefectSummary[] = [];
  for (const [kind, n] of Object.entries(scan.defectCounts) as [DefectKind, number][]) {
    const seen = c.defects.get(kind);
    const count = kind === 'illegal-character' ? Math.max(n, scan.illegalCharCount) : n;
    defects.push(seen ? { ...seen, count } : { kind, count, repairable: true, examples: [] });
  }
  for (const [kind, s] of c.defects) if (!(kind in scan.defectCounts)) defects.push(s);

  const outcome = summarizeImport(
    c.tally,
    {
      rootSeen: scan.rootSeen,
      repairable: scan.repairable,
      illegalCharCount: scan.illegalCharCount,
      defects: defects.map((d) => ({
        kind: d.kind,
        count: d.count,
        repairable: d.repairable,
        message: d.examples[0]?.message,
      })),
    },
    repairs,
  );
  // Truncated only when the end of the input came inside the root: a parse that failed earlier is
  // reported for that failure (and the scanner tells truncation after it from the last bytes).
  const truncated = (scan.defectCounts.truncated ?? 0) > 0;
  const reasons = outcome.fails.map((f) => f.message);

  const warnings: string[] = [];
  for (const d of defects) {
    if (!d.repairable) continue;
    warnings.push(
      d.kind === 'illegal-character'
        ? `${count(d.count, 'illegal control character')}; the backend's parser rejects ${d.count === 1 ? 'it' : 'them'} (apple-import strips ${d.count === 1 ? 'it' : 'them'})`
        : `${describeDefect(d.kind)} (the backend's parser rejects it; apple-import repairs it)`,
    );
  }
  for (const s of c.issues) warnings.push(`${count(s.count, 'element')} with ${s.kind.replace(/-/g, ' ')}`);
  if (c.exactDuplicates > 0) warnings.push(count(c.exactDuplicates, 'exact duplicate element'));

  const ignoredRecords = [...c.ignoredTypes.values()].reduce((a, b) => a + b, 0);
  const ignoredElements = [...c.ignoredElements.values()].reduce((a, b) => a + b, 0);
  const seconds = durationMs / 1000;
  return {
    verdict: reasons.length > 0 ? 'invalid' : warnings.length > 0 ? 'warnings' : 'valid',
    accepted: reasons.length === 0,
    reasons,
    warnings,
    willImport: outcome.willImport,
    willSkip: outcome.willSkip,
    willRepair: outcome.willRepair,
    importFails: outcome.fails,
    workoutCollisions: outcome.collisions,
    exportVersion: scan.exportVersion,
    locale: scan.locale,
    exportDate: c.exportDate,
    wellFormed: scan.wellFormed,
    repairable: scan.repairable,
    truncated,
    bytes: scan.bytes,
    durationMs: Math.round(durationMs),
    throughputMiBps: seconds > 0 ? Math.round((scan.bytes / 1048576 / seconds) * 10) / 10 : null,
    elements: toObject(c.elements),
    nestedElements: toObject(c.nested),
    records: {
      total: c.records,
      byType: toObject(c.recordTypes),
      perMonth: Object.fromEntries([...c.perMonth].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
      firstStartDate: c.first,
      lastStartDate: c.last,
      datesByType: Object.fromEntries([...c.datesByType].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
    },
    workouts: { total: c.workouts, byActivityType: toObject(c.workoutTypes) },
    correlations: {
      total: c.correlations,
      byType: toObject(c.correlationTypes),
      copies: c.correlationCopies,
    },
    sources: c.sources.sort((a, b) => b.records + b.workouts - (a.records + a.workouts)),
    ignored: {
      total: ignoredRecords + ignoredElements,
      recordTypes: toObject(c.ignoredTypes),
      elements: toObject(c.ignoredElements),
    },
    duplicates: {
      exact: c.exactDuplicates,
      sameKey: c.sameKeyRecords,
      tracked: c.tracked,
      saturated: c.saturated,
    },
    issues: c.issues,
    defects,
    illegalCharacters: scan.illegalCharCount,
    filter: c.filter
      ? {
          since: c.filter.given.since ?? null,
          until: c.filter.given.until ?? null,
          types: c.filter.given.types ?? null,
          excludeTypes: c.filter.given.excludeTypes ?? null,
          excluded: c.excluded,
        }
      : null,
  };
}

function describeDefect(kind: DefectKind): string {
  switch (kind) {
    case 'dtd-unclosed-attlist':
      return 'broken DTD: an ATTLIST is never closed (the iOS 16 export defect)';
    case 'dtd-missing-gt':
      return "broken DTD: the internal subset's last '>' is missing";
    case 'dtd-extra-gt':
      return "broken DTD: an extra '>' before ']>'";
    case 'dtd-malformed':
      return 'malformed DTD';
    case 'dtd-entity-declared':
      return 'the DTD declares entities';
    case 'dtd-external-reference':
      return 'the DTD references an external file';
    default:
      return kind;
  }
}
