import type { ImportOutcome } from '../model/outcome.js';
import type { DefectKind } from '../reader/types.js';
import type { IssueKind } from './issues.js';

export interface DefectSummary {
  kind: DefectKind;
  count: number;
  repairable: boolean;
  /** The first few occurrences. */
  examples: { line: number; column: number; offset: number; message: string }[];
}

export interface IssueExample {
  line: number;
  column: number;
  element: string;
  type?: string;
  attribute: string;
  value?: string;
}

/** Elements the backend will skip or fail on for a defect of their own (contract §5.3, §5.5, §5.6). */
export interface IssueSummary {
  kind: IssueKind;
  count: number;
  examples: IssueExample[];
}

export interface SourceSummary {
  sourceName: string;
  /** The device string without its `0x…` address and creation date. */
  device: string;
  records: number;
  workouts: number;
}

/** What `validate --json` prints and `--report` writes. */
export interface ValidationReport {
  input?: { path: string; kind: string; entryName: string | null; size: number };
  /** invalid: the backend would reject it; warnings: accepted, with repairable defects or skipped elements. */
  verdict: 'valid' | 'warnings' | 'invalid';
  accepted: boolean;
  reasons: string[];
  warnings: string[];
  /** What the backend stores of this export uploaded with apple-import (model/outcome.ts). */
  willImport: ImportOutcome['willImport'];
  /** What it does not import, by reason and type: counted once per distinct element. */
  willSkip: ImportOutcome['willSkip'];
  /** What apple-import repairs first, by kind. */
  willRepair: ImportOutcome['willRepair'];
  /** Why the backend's import task would fail or import nothing (the reasons, with stable keys). */
  importFails: ImportOutcome['fails'];
  /** The first workouts that collide with an earlier one in the backend (their task fails). */
  workoutCollisions: ImportOutcome['collisions'];
  exportVersion: number | null;
  locale: string | null;
  exportDate: string | null;
  wellFormed: boolean;
  repairable: boolean;
  truncated: boolean;
  bytes: number;
  durationMs: number;
  throughputMiBps: number | null;
  /** How the file was read: threads working on `ranges` byte ranges at once (1 and 1: sequentially). */
  reader?: { threads: number; ranges: number };
  /** Top-level elements by name (the whole file, unfiltered). */
  elements: Record<string, number>;
  /** Descendants of top-level elements by name. */
  nestedElements: Record<string, number>;
  /** Top-level Records selected by the filter. */
  records: {
    total: number;
    byType: Record<string, number>;
    perMonth: Record<string, number>;
    firstStartDate: string | null;
    lastStartDate: string | null;
    /** Per type in byType whose Records have a startDate in Apple's shape: the earliest and latest. */
    datesByType: Record<string, { first: string; last: string }>;
  };
  workouts: { total: number; byActivityType: Record<string, number> };
  /** `copies`: top-level Records that repeat a Correlation child (format §1.6). */
  correlations: { total: number; byType: Record<string, number>; copies: number };
  sources: SourceSummary[];
  /**
   * What the backend drops: unmapped Record types (top-level) and the elements it never reads (contract
   * §5.2); a Correlation is not among them, since its Records are imported.
   */
  ignored: { total: number; recordTypes: Record<string, number>; elements: Record<string, number> };
  /**
   * `tracked`: distinct hashes held; `saturated`: the bounded set filled up and stopped recording.
   * `sameKey`: records the backend would import whose row key (type's series, device model, start) an
   * earlier one has, exact duplicates and Correlation copies among them: each overwrites that row, so
   * willImport counts rows, not these.
   */
  duplicates: { exact: number; sameKey: number; tracked: number; saturated: boolean };
  issues: IssueSummary[];
  defects: DefectSummary[];
  illegalCharacters: number;
  filter: {
    since: string | null;
    until: string | null;
    types: string[] | null;
    excludeTypes: string[] | null;
    excluded: number;
  } | null;
}
