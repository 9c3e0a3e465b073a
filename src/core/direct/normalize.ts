import type { ExportElement, TopLevelElement } from '../reader/types.js';
import { BoundedHashSet, hash64 } from './content-hash.js';
import { type FilterSpec, inDateRange, parseSampleDate, typeSelected } from './filters.js';
import { isImportedRecordType, WORKOUT_TYPE } from './imported-types.js';
import { serializeElement } from './serialize.js';

/**
 * Select + normalize: decides which samples go to the backend, in what shape, and why the rest do not.
 * Format-neutral (no XML here except the content key), so the planned `sdk` method can reuse it.
 */

export type DropReason =
  /** A Record type the backend ignores (contract §5.2). */
  | 'not-imported'
  /** Byte-identical after normalization to an earlier sample. */
  | 'duplicate'
  /** A Correlation member whose top-level copy is (or was) sent. */
  | 'correlation-copy'
  | 'filtered-type'
  | 'filtered-date'
  /** A date filter is set but startDate cannot be read. */
  | 'unreadable-date';

/** A sample that will be sent: the element as it will be serialized, and its type for counts. */
export interface NormalizedSample {
  kind: 'record' | 'workout';
  /** HK record type, or `Workout`. */
  type: string;
  element: ExportElement;
  /** The serialized element, computed once (dedupe key and batch text). */
  xml: string;
}

export interface NormalizationReport {
  /** Samples kept, by type. */
  kept: Record<string, number>;
  /** Samples not sent, by reason then type. */
  dropped: Partial<Record<DropReason, Record<string, number>>>;
  /** Top-level elements other than Record/Workout/Correlation, by name (never sent). */
  otherElements: Record<string, number>;
  /** Correlation members sent because no top-level copy had been seen. */
  correlationMembersPromoted: number;
  /** Non-zero when the duplicate window was exceeded (duplicates further apart may be missed). */
  dedupeWindowRotations: number;
}

/**
 * Workout children the backend reads (contract §5.6: direct WorkoutStatistics only). Routes, events and
 * metadata are not needed, and routes point at location files.
 */
const WORKOUT_CHILDREN_SENT = new Set(['WorkoutStatistics']);

function bump(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

function shape(el: ExportElement, kind: 'record' | 'workout'): ExportElement {
  // Record children (MetadataEntry, beat lists) are ignored by the backend (§5.2) and may be personal.
  const children = kind === 'record' ? [] : el.children.filter((c) => WORKOUT_CHILDREN_SENT.has(c.name));
  return { name: el.name, attrs: el.attrs, children, line: el.line, column: el.column };
}

export class Normalizer {
  private readonly seen = new BoundedHashSet();
  /** Hashes of Correlation members already sent as promoted samples (few: blood pressure). */
  private readonly promoted = new BoundedHashSet(1_000_000);
  readonly report: NormalizationReport = {
    kept: {},
    dropped: {},
    otherElements: {},
    correlationMembersPromoted: 0,
    dedupeWindowRotations: 0,
  };
  exportDate: string | null = null;

  constructor(private readonly filters: FilterSpec) {}

  /** The report with end-of-run figures filled in. */
  finish(): NormalizationReport {
    this.report.dedupeWindowRotations = this.seen.rotations;
    return this.report;
  }

  private drop(reason: DropReason, type: string): void {
    const byType = this.report.dropped[reason] ?? {};
    bump(byType, type);
    this.report.dropped[reason] = byType;
  }

  /** Passes zero, one or (for a Correlation) several samples to `emit`. */
  accept(el: TopLevelElement, emit: (s: NormalizedSample) => void): void {
    switch (el.name) {
      case 'Record':
        this.sample(el, 'record', false, emit);
        return;
      case 'Workout':
        this.sample(el, 'workout', false, emit);
        return;
      case 'Correlation':
        // The wrapper is not imported (§5.2); its members are, and they repeat top-level records.
        for (const child of el.children)
          if (child.name === 'Record') this.sample(child, 'record', true, emit);
        bump(this.report.otherElements, 'Correlation');
        return;
      case 'ExportDate':
        this.exportDate = el.attrs.value ?? null;
        bump(this.report.otherElements, el.name);
        return;
      default:
        bump(this.report.otherElements, el.name);
    }
  }

  private sample(
    el: ExportElement,
    kind: 'record' | 'workout',
    fromCorrelation: boolean,
    emit: (s: NormalizedSample) => void,
  ): void {
    const type = kind === 'workout' ? WORKOUT_TYPE : (el.attrs.type ?? '');
    if (kind === 'record' && !isImportedRecordType(type)) {
      // Members of food correlations land here (Dietary*): ignored by the backend either way.
      if (!fromCorrelation) this.drop('not-imported', type);
      return;
    }
    if (!typeSelected(this.filters, type)) {
      if (!fromCorrelation) this.drop('filtered-type', type);
      return;
    }
    if (this.filters.since || this.filters.until) {
      const start = parseSampleDate(el.attrs.startDate);
      if (start === null) {
        if (!fromCorrelation) this.drop('unreadable-date', type);
        return;
      }
      if (!inDateRange(this.filters, start)) {
        if (!fromCorrelation) this.drop('filtered-date', type);
        return;
      }
    }
    const element = shape(el, kind);
    const xml = serializeElement(element);
    const [hi, lo] = hash64(xml);
    if (fromCorrelation) {
      if (this.seen.has(hi, lo)) {
        this.drop('correlation-copy', type);
        return;
      }
      // No top-level copy yet (some exports keep blood pressure only inside the correlation): send this one.
      this.seen.add(hi, lo);
      this.promoted.add(hi, lo);
      this.report.correlationMembersPromoted++;
    } else if (!this.seen.add(hi, lo)) {
      this.drop(this.promoted.has(hi, lo) ? 'correlation-copy' : 'duplicate', type);
      return;
    }
    bump(this.report.kept, type);
    emit({ kind, type, element, xml });
  }
}

/** Total samples in a by-type map. */
export function total(map: Record<string, number> | undefined): number {
  let n = 0;
  for (const v of Object.values(map ?? {})) n += v;
  return n;
}
