import { RangeOverflowError } from '../reader/range-consumer.js';
import type { Defect, DefectKind, ExportElement, ScanSummary, TopLevelElement } from '../reader/types.js';
import { type FilterSpec, isFilterActive, NO_FILTERS, select } from '../selection/filters.js';
import { isImportedRecordType, WORKOUT_TYPE } from '../selection/mapped-types.js';
import { normalizeDevice } from './device.js';
import { elementHash, HashSet64 } from './hash-set.js';
import type { DefectSummary, IssueExample, IssueSummary, SourceSummary, ValidationReport } from './report.js';
import {
  APPLE_DATE_RE,
  type AttributeIssue,
  appleDateToEpoch,
  checkRecord,
  checkWorkout,
  type IssueKind,
} from './schemas.js';

/** Examples kept per defect or issue kind: enough to find them, bounded whatever the input. */
export const MAX_EXAMPLES = 5;
/** Distinct (sourceName, device) pairs tracked; the rest are summed under "(other sources)". */
export const MAX_SOURCES = 1000;

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function toObject(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
}

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

/** Duplicate-tracking steps, in document order: what a range collector logs for the main one to replay. */
const TOP_RECORD = 1;
const TOP_OTHER = 2;
const CORRELATION_CHILD = 3;
/** 3 words per step: 48 MiB, about 4 M elements (≈ 1.7 GB of Apple XML); a range beyond is scanned again sequentially. */
const MAX_LOG_WORDS = 12 * 1024 * 1024;

/** The duplicate steps of one range, kept in order (a growable Uint32Array of [tag, hi, lo] triples). */
class DedupeLog {
  words = new Uint32Array(3 * 4096);
  length = 0;
  overflowed = false;

  push(tag: number, hi: number, lo: number): void {
    if (this.length + 3 > this.words.length) {
      if (this.words.length * 2 > MAX_LOG_WORDS) {
        this.overflowed = true;
        return;
      }
      const bigger = new Uint32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    this.words[this.length++] = tag;
    this.words[this.length++] = hi;
    this.words[this.length++] = lo;
  }
}

/** What a collector that saw one range of the export hands to the collector of the whole (see absorb). */
export interface CollectorPartial {
  counts: Record<CountName, [string, number][]>;
  sources: [string, SourceSummary][];
  issues: IssueSummary[];
  defects: DefectSummary[];
  exportDate: string | null;
  correlations: number;
  records: number;
  workouts: number;
  excluded: number;
  first: { epoch: number; date: string } | null;
  last: { epoch: number; date: string } | null;
  /** The range's duplicate steps, replayed in order by absorb. */
  log: Uint32Array;
}

const COUNT_NAMES = [
  'elements',
  'nested',
  'recordTypes',
  'perMonth',
  'workoutTypes',
  'correlationTypes',
  'ignoredTypes',
  'ignoredElements',
] as const;
type CountName = (typeof COUNT_NAMES)[number];

/**
 * Builds the validate report from the scanner's elements and defects in one pass. Per element it does a
 * hash, a few map updates and a fast attribute check; memory is bounded by the duplicate hash set (see
 * HashSet64) plus small per-type, per-month and per-source maps.
 */
export class ValidationCollector {
  private readonly elements = new Map<string, number>();
  private readonly nested = new Map<string, number>();
  private readonly recordTypes = new Map<string, number>();
  private readonly perMonth = new Map<string, number>();
  private readonly workoutTypes = new Map<string, number>();
  private readonly correlationTypes = new Map<string, number>();
  private readonly ignoredTypes = new Map<string, number>();
  private readonly ignoredElements = new Map<string, number>();
  private readonly sources = new Map<string, SourceSummary>();
  private readonly issues = new Map<IssueKind, IssueSummary>();
  private readonly defects = new Map<DefectKind, DefectSummary>();
  private readonly seen = new HashSet64();
  private readonly children = new HashSet64(1 << 10);
  private exportDate: string | null = null;
  private exactDuplicates = 0;
  private correlationCopies = 0;
  private correlations = 0;
  private records = 0;
  private workouts = 0;
  private excluded = 0;
  private first: { epoch: number; date: string } | undefined;
  private last: { epoch: number; date: string } | undefined;
  private readonly filterActive: boolean;
  /** Set for a collector of one range in a parallel scan: duplicate steps are logged, not decided. */
  private readonly log: DedupeLog | null;

  constructor(
    private readonly filter: FilterSpec = NO_FILTERS,
    opts: { logDuplicates?: boolean } = {},
  ) {
    this.filterActive = isFilterActive(filter);
    this.log = opts.logDuplicates ? new DedupeLog() : null;
  }

  /** This range collector's findings, for absorb() in the main thread. */
  toPartial(): CollectorPartial {
    if (this.log?.overflowed) throw new RangeOverflowError('duplicate log outgrew its bound');
    const counts = {} as Record<CountName, [string, number][]>;
    for (const name of COUNT_NAMES) counts[name] = [...this[name]];
    return {
      counts,
      sources: [...this.sources],
      issues: [...this.issues.values()],
      defects: [...this.defects.values()],
      exportDate: this.exportDate,
      correlations: this.correlations,
      records: this.records,
      workouts: this.workouts,
      excluded: this.excluded,
      first: this.first ?? null,
      last: this.last ?? null,
      log: this.log ? this.log.words.slice(0, this.log.length) : new Uint32Array(0),
    };
  }

  /**
   * Adds the findings of the next range of the export, as if its elements had come through onElement
   * here: counts add up, examples keep the first few in document order (lines shifted by `lineShift`),
   * and the duplicate steps are replayed against this collector's sets.
   */
  absorb(p: CollectorPartial, lineShift: number): void {
    for (const name of COUNT_NAMES) {
      const map = this[name];
      for (const [k, n] of p.counts[name]) map.set(k, (map.get(k) ?? 0) + n);
    }
    for (const [key, s] of p.sources) {
      const mine = this.sources.get(key) ?? this.sourceSlot(key, s.sourceName, s.device);
      mine.records += s.records;
      mine.workouts += s.workouts;
    }
    for (const s of p.issues) {
      const mine = this.issues.get(s.kind) ?? { kind: s.kind, count: 0, examples: [] };
      this.issues.set(s.kind, mine);
      mine.count += s.count;
      for (const ex of s.examples)
        if (mine.examples.length < MAX_EXAMPLES) mine.examples.push({ ...ex, line: ex.line + lineShift });
    }
    for (const s of p.defects) {
      const mine = this.defects.get(s.kind) ?? {
        kind: s.kind,
        count: 0,
        repairable: s.repairable,
        examples: [],
      };
      this.defects.set(s.kind, mine);
      mine.count += s.count;
      for (const ex of s.examples)
        if (mine.examples.length < MAX_EXAMPLES) mine.examples.push({ ...ex, line: ex.line + lineShift });
    }
    if (p.exportDate !== null) this.exportDate = p.exportDate;
    this.correlations += p.correlations;
    this.records += p.records;
    this.workouts += p.workouts;
    this.excluded += p.excluded;
    if (p.first && (this.first === undefined || p.first.epoch < this.first.epoch)) this.first = p.first;
    if (p.last && (this.last === undefined || p.last.epoch > this.last.epoch)) this.last = p.last;
    const log = p.log;
    for (let i = 0; i + 2 < log.length; i += 3) this.decideDuplicate(log[i]!, log[i + 1]!, log[i + 2]!);
  }

  onElement(el: TopLevelElement): void {
    bump(this.elements, el.name);
    if (el.children.length > 0) this.countNested(el.children);
    switch (el.name) {
      case 'Record':
        this.onRecord(el);
        return;
      case 'Workout':
        this.onWorkout(el);
        return;
      case 'Correlation':
        this.onCorrelation(el);
        return;
      case 'ExportDate':
        this.exportDate = el.attrs.value ?? null;
        bump(this.ignoredElements, el.name);
        return;
      default:
        // Everything else is ignored by the backend (contract §5.2: IGNORED_ELEMENTS and unknown elements).
        bump(this.ignoredElements, el.name);
    }
  }

  onDefect(d: Defect): void {
    let s = this.defects.get(d.kind);
    if (!s) {
      s = { kind: d.kind, count: 0, repairable: d.repairable, examples: [] };
      this.defects.set(d.kind, s);
    }
    s.count++;
    if (s.examples.length < MAX_EXAMPLES)
      s.examples.push({ line: d.line, column: d.column, offset: d.offset, message: d.message });
  }

  private countNested(children: ExportElement[]): void {
    for (const c of children) {
      bump(this.nested, c.name);
      if (c.children.length > 0) this.countNested(c.children);
    }
  }

  /** Counts this top-level Record, Workout or Correlation as an exact duplicate or a correlation copy, if it is one. */
  private checkDuplicate(el: ExportElement): void {
    const h = elementHash(el);
    this.duplicateStep(el.name === 'Record' ? TOP_RECORD : TOP_OTHER, h[0]!, h[1]!);
  }

  private duplicateStep(tag: number, hi: number, lo: number): void {
    if (this.log) this.log.push(tag, hi, lo);
    else this.decideDuplicate(tag, hi, lo);
  }

  private decideDuplicate(tag: number, hi: number, lo: number): void {
    if (tag === CORRELATION_CHILD) {
      if (this.seen.has(hi, lo)) this.correlationCopies++;
      else this.children.addOrHas(hi, lo);
      return;
    }
    if (this.seen.addOrHas(hi, lo)) {
      this.exactDuplicates++;
      return;
    }
    // A Correlation child seen earlier (shuffled order): this top-level Record is its copy.
    if (tag === TOP_RECORD && this.children.has(hi, lo)) this.correlationCopies++;
  }

  private onRecord(el: TopLevelElement): void {
    this.checkDuplicate(el);
    const a = el.attrs;
    const problems = checkRecord(a);
    if (problems.length > 0) this.addIssues(problems, el, a.type);
    const type = a.type;
    const start = a.startDate;
    if (this.filterActive && select(this.filter, type ?? '', start) !== 'selected') {
      this.excluded++;
      return;
    }
    this.records++;
    if (type !== undefined) {
      bump(this.recordTypes, type);
      if (!isImportedRecordType(type)) bump(this.ignoredTypes, type);
    }
    if (start !== undefined && APPLE_DATE_RE.test(start)) {
      bump(this.perMonth, start.slice(0, 7));
      this.trackDate(start);
    }
    this.addSource(a.sourceName, a.device, false);
  }

  private onWorkout(el: TopLevelElement): void {
    this.checkDuplicate(el);
    const a = el.attrs;
    const problems = checkWorkout(a);
    if (problems.length > 0) this.addIssues(problems, el, a.workoutActivityType);
    if (
      this.filterActive &&
      select(this.filter, WORKOUT_TYPE, a.startDate, a.workoutActivityType) !== 'selected'
    ) {
      this.excluded++;
      return;
    }
    this.workouts++;
    bump(this.workoutTypes, a.workoutActivityType ?? '(none)');
    if (a.startDate !== undefined && APPLE_DATE_RE.test(a.startDate)) this.trackDate(a.startDate);
    this.addSource(a.sourceName, a.device, true);
  }

  private onCorrelation(el: TopLevelElement): void {
    this.checkDuplicate(el);
    this.correlations++;
    bump(this.correlationTypes, el.attrs.type ?? '(none)');
    // The wrapper is ignored; its Records still reach the backend (contract §5.2).
    bump(this.ignoredElements, 'Correlation');
    for (const child of el.children) {
      if (child.name !== 'Record') continue;
      const h = elementHash(child);
      this.duplicateStep(CORRELATION_CHILD, h[0]!, h[1]!);
    }
  }

  private trackDate(date: string): void {
    const epoch = appleDateToEpoch(date);
    if (this.first === undefined || epoch < this.first.epoch) this.first = { epoch, date };
    if (this.last === undefined || epoch > this.last.epoch) this.last = { epoch, date };
  }

  private addSource(name: string | undefined, device: string | undefined, workout: boolean): void {
    const sourceName = name ?? '(none)';
    const dev = normalizeDevice(device);
    const key = `${sourceName}\u0000${dev}`;
    const s = this.sources.get(key) ?? this.sourceSlot(key, sourceName, dev);
    if (workout) s.workouts++;
    else s.records++;
  }

  /** A new source's summary, or the shared "(other sources)" one once MAX_SOURCES are tracked. */
  private sourceSlot(key: string, sourceName: string, device: string): SourceSummary {
    let s: SourceSummary | undefined;
    if (this.sources.size >= MAX_SOURCES) {
      s = this.sources.get('\u0000(other)');
      if (!s) {
        s = { sourceName: '(other sources)', device: '', records: 0, workouts: 0 };
        this.sources.set('\u0000(other)', s);
      }
    } else {
      s = { sourceName, device, records: 0, workouts: 0 };
      this.sources.set(key, s);
    }
    return s;
  }

  private addIssues(problems: AttributeIssue[], el: TopLevelElement, type: string | undefined): void {
    for (const p of problems) {
      let s = this.issues.get(p.kind);
      if (!s) {
        s = { kind: p.kind, count: 0, examples: [] };
        this.issues.set(p.kind, s);
      }
      s.count++;
      if (s.examples.length < MAX_EXAMPLES) {
        const ex: IssueExample = {
          line: el.line,
          column: el.column,
          element: el.name,
          attribute: p.attribute,
        };
        if (type !== undefined) ex.type = type;
        if (p.value !== undefined) ex.value = p.value.slice(0, 80);
        s.examples.push(ex);
      }
    }
  }

  /** The report once the scan has ended. */
  finish(scan: ScanFacts, durationMs: number): ValidationReport {
    const defects: DefectSummary[] = [];
    for (const [kind, n] of Object.entries(scan.defectCounts) as [DefectKind, number][]) {
      const seen = this.defects.get(kind);
      const count = kind === 'illegal-character' ? Math.max(n, scan.illegalCharCount) : n;
      defects.push(seen ? { ...seen, count } : { kind, count, repairable: true, examples: [] });
    }
    for (const [kind, s] of this.defects) if (!(kind in scan.defectCounts)) defects.push(s);

    const truncated = (scan.defectCounts.truncated ?? 0) > 0 || (scan.rootSeen && !scan.closed);
    const reasons: string[] = [];
    if (!scan.rootSeen) reasons.push('no <HealthData> root element: not an Apple Health export');
    if (truncated) reasons.push('the export is truncated (no closing </HealthData>)');
    const fatal = defects.filter((d) => !d.repairable && d.kind !== 'truncated');
    for (const d of fatal) reasons.push(`not well-formed: ${d.examples[0]?.message ?? d.kind}`);
    if (reasons.length === 0 && !scan.repairable) reasons.push('not well-formed beyond repair');

    const warnings: string[] = [];
    for (const d of defects) {
      if (!d.repairable) continue;
      warnings.push(
        d.kind === 'illegal-character'
          ? `${d.count} illegal control character(s); the backend's parser rejects them (apple-import strips them)`
          : `${describeDefect(d.kind)} (the backend's parser rejects it; apple-import repairs it)`,
      );
    }
    for (const s of this.issues.values())
      warnings.push(`${s.count} element(s) with ${s.kind.replace(/-/g, ' ')}`);
    if (this.exactDuplicates > 0) warnings.push(`${this.exactDuplicates} exact duplicate element(s)`);

    const ignoredRecords = [...this.ignoredTypes.values()].reduce((a, b) => a + b, 0);
    const ignoredElements = [...this.ignoredElements.values()].reduce((a, b) => a + b, 0);
    const seconds = durationMs / 1000;
    return {
      verdict: reasons.length > 0 ? 'invalid' : warnings.length > 0 ? 'warnings' : 'valid',
      accepted: reasons.length === 0,
      reasons,
      warnings,
      exportVersion: scan.exportVersion,
      locale: scan.locale,
      exportDate: this.exportDate,
      wellFormed: scan.wellFormed,
      repairable: scan.repairable,
      truncated,
      bytes: scan.bytes,
      durationMs: Math.round(durationMs),
      throughputMiBps: seconds > 0 ? Math.round((scan.bytes / 1048576 / seconds) * 10) / 10 : null,
      elements: toObject(this.elements),
      nestedElements: toObject(this.nested),
      records: {
        total: this.records,
        byType: toObject(this.recordTypes),
        perMonth: Object.fromEntries([...this.perMonth].sort((a, b) => (a[0] < b[0] ? -1 : 1))),
        firstStartDate: this.first?.date ?? null,
        lastStartDate: this.last?.date ?? null,
      },
      workouts: { total: this.workouts, byActivityType: toObject(this.workoutTypes) },
      correlations: {
        total: this.correlations,
        byType: toObject(this.correlationTypes),
        copies: this.correlationCopies,
      },
      sources: [...this.sources.values()].sort((a, b) => b.records + b.workouts - (a.records + a.workouts)),
      ignored: {
        total: ignoredRecords + ignoredElements,
        recordTypes: toObject(this.ignoredTypes),
        elements: toObject(this.ignoredElements),
      },
      duplicates: { exact: this.exactDuplicates, tracked: this.seen.size, saturated: this.seen.saturated },
      issues: [...this.issues.values()],
      defects,
      illegalCharacters: scan.illegalCharCount,
      filter: this.filterActive
        ? {
            since: this.filter.given.since ?? null,
            until: this.filter.given.until ?? null,
            types: this.filter.given.types ?? null,
            excludeTypes: this.filter.given.excludeTypes ?? null,
            excluded: this.excluded,
          }
        : null,
    };
  }
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
