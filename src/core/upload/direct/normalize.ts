import { isImported, OUTCOME_KEYS } from '../../model/judge.js';
import type { WorkoutCollision } from '../../model/tally.js';
import type { ExportElement, TopLevelElement } from '../../reader/types.js';
import { type FilterSpec, select } from '../../selection/filters.js';
import { isImportedRecordType, WORKOUT_TYPE } from '../../selection/mapped-types.js';
import { isKnown, type KnownRanges, mergeRanges, noteRange } from '../shared/imported.js';
import { SampleJudge } from '../shared/sample-verdict.js';
import { WorkoutKeys, type WorkoutRef } from '../shared/workout-keys.js';
import { BoundedHashSet } from './content-hash.js';
import { TagHasher } from './raw-tag.js';
import { serializeElement } from './serialize.js';
import type { SourceWindow } from './source-window.js';

export type { WorkoutRef };

/**
 * Select + normalize: decides which samples go to the backend, in what shape, and why the rest do not.
 * The decisions are format-neutral, so the planned `sdk` method can reuse them; the XML here is the
 * duplicate key (a hash of the sample as sent) and, for Records already written as they are sent, where
 * their bytes are in the source (raw-tag.ts).
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
  | 'unreadable-date'
  /**
   * The backend would skip it (the model's reason, judge.ts OUTCOME_KEYS: invalid-date, invalid-value,
   * missing-attribute, …), or its value would fail the insert and the task with it (value-out-of-range).
   */
  | SkipReason
  /** A workout with the start, end and device model of an earlier one in the export (event_record's key). */
  | 'workout-collision'
  /** A workout the ledger says this server and user already have. */
  | 'already-imported';

/** The model's reasons the backend does not take an element it reads. */
export type SkipReason =
  | 'invalid-value'
  | 'invalid-date'
  | 'old-date-format'
  | 'missing-start-date'
  | 'unknown-sleep-stage'
  | 'missing-attribute'
  | 'invalid-statistic'
  | 'foreign-namespace'
  | 'value-out-of-range';

/**
 * A sample that will be sent, unless it duplicates an earlier one. One object is reused for every sample:
 * read it during the call that hands it over. What is sent of `element` is `shape(element)`: the
 * Record's attributes, or the Workout's attributes and WorkoutStatistics.
 */
export interface NormalizedSample {
  kind: 'record' | 'workout';
  /** HK record type, or `Workout`. */
  type: string;
  element: ExportElement;
  /** A member of a Correlation (its top-level copy, if any, is what is sent). */
  fromCorrelation: boolean;
  /** The serialized element; null when its start tag is copied from the source instead. */
  xml: string | null;
  /** For a copy: absolute source offsets of the start tag without its terminator (`/>` or `>`). */
  tagStart: number;
  tagEnd: number;
  /** For a copy: the element is `<Record …/>`, ending at `end`; otherwise children follow the tag. */
  selfClosing: boolean;
  end: number;
  /** The duplicate key: a hash of the sample as sent (raw-tag.ts). */
  hi: number;
  lo: number;
  /** A workout's key in the backend (judge.ts workoutKey) and what names it; null for a record. */
  workout: WorkoutRef | null;
}

export interface NormalizationReport {
  /**
   * Top-level Records and Workouts the filters select, by type, before duplicates are dropped: what
   * `validate` with the same filters counts (for the types the backend imports).
   */
  selected: Record<string, number>;
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
  /** Samples sent as a copy of their source bytes (the rest were serialized from decoded attributes). */
  copied: number;
  /** Samples whose iOS 8-era compact dates were rewritten into the backend's format. */
  datesRewritten: number;
  /** The first workouts left out for the key of an earlier one (both named). */
  collisions: WorkoutCollision[];
}

/**
 * Workout children the backend reads (contract §5.6: direct WorkoutStatistics only). Routes, events and
 * metadata are not needed, and routes point at location files.
 */
const WORKOUT_CHILDREN_SENT = new Set(['WorkoutStatistics']);

function bump(map: Record<string, number>, key: string, n = 1): void {
  map[key] = (map[key] ?? 0) + n;
}

/** What the backend gets of a Record or Workout. */
export function shape(el: ExportElement): ExportElement {
  // Record children (MetadataEntry, beat lists) are ignored by the backend (§5.2) and may be personal.
  const children = el.name === 'Workout' ? el.children.filter((c) => WORKOUT_CHILDREN_SENT.has(c.name)) : [];
  return { name: el.name, attrs: el.attrs, children, line: el.line, column: el.column };
}

/** Per-reason, per-type drop counts and the other tallies of selection, which merge by addition. */
/** The filters, and per type the startDates the server already has (shared/imported.ts; none with --full). */
export type DirectSelection = FilterSpec & { known?: KnownRanges };

export interface SelectionCounts {
  /** Per type, the startDates of the samples selected to be sent (what the imports record grows by). */
  ranges: KnownRanges;
  selected: Record<string, number>;
  dropped: Partial<Record<DropReason, Record<string, number>>>;
  otherElements: Record<string, number>;
  /** Samples whose compact dates were rewritten. */
  datesRewritten: number;
}

export function emptyCounts(): SelectionCounts {
  return { ranges: {}, selected: {}, dropped: {}, otherElements: {}, datesRewritten: 0 };
}

/** Adds `from` into `into`. */
export function addCounts(into: SelectionCounts, from: SelectionCounts): void {
  for (const [type, n] of Object.entries(from.selected)) bump(into.selected, type, n);
  for (const [reason, byType] of Object.entries(from.dropped) as [DropReason, Record<string, number>][]) {
    const target = into.dropped[reason] ?? {};
    for (const [type, n] of Object.entries(byType)) bump(target, type, n);
    into.dropped[reason] = target;
  }
  for (const [name, n] of Object.entries(from.otherElements)) bump(into.otherElements, name, n);
  into.datesRewritten += from.datesRewritten;
  mergeRanges(into.ranges, from.ranges);
}

function drop(counts: SelectionCounts, reason: DropReason, type: string): void {
  const byType = counts.dropped[reason] ?? {};
  bump(byType, type);
  counts.dropped[reason] = byType;
}

/**
 * Decides, element by element, which samples the backend gets and in what shape, with their duplicate
 * keys; what it drops is counted. Works on any stretch of the export on its own (a worker's byte range),
 * since nothing it decides depends on earlier elements; the Deduper, which does, sees samples in order.
 */
export class SampleSelector {
  readonly counts: SelectionCounts = emptyCounts();
  /** The last ExportDate seen. */
  exportDate: string | null = null;
  private readonly hasher = new TagHasher();
  private readonly out: NormalizedSample = {
    kind: 'record',
    type: '',
    element: { name: '', attrs: {}, children: [], line: 0, column: 0 },
    fromCorrelation: false,
    xml: null,
    tagStart: -1,
    tagEnd: -1,
    selfClosing: false,
    end: -1,
    hi: 0,
    lo: 0,
    workout: null,
  };
  private readonly judge = new SampleJudge();

  /** With `source`, top-level Records that are already canonical are copied rather than serialized. */
  constructor(
    private readonly filters: DirectSelection,
    private readonly source: SourceWindow | null = null,
  ) {}

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
        bump(this.counts.otherElements, 'Correlation');
        return;
      case 'ExportDate':
        this.exportDate = el.attrs.value ?? null;
        bump(this.counts.otherElements, el.name);
        return;
      default:
        bump(this.counts.otherElements, el.name);
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
      if (!fromCorrelation) drop(this.counts, 'not-imported', type);
      return;
    }
    // The backend's reading of it (the model), with compact dates read as the rewrite makes them.
    const { outcome, rewritten, attrs, startMs, workout } = this.judge.judge(el, kind, type);
    const imported = isImported(outcome);
    const selection = select(
      this.filters,
      type,
      attrs.startDate,
      kind === 'workout' ? attrs.workoutActivityType : undefined,
    );
    if (selection !== 'selected') {
      if (!fromCorrelation) drop(this.counts, selection, type);
      return;
    }
    if (!fromCorrelation) bump(this.counts.selected, type);
    if (!imported) {
      if (!fromCorrelation) drop(this.counts, OUTCOME_KEYS[outcome] as SkipReason, type);
      return;
    }
    if (kind === 'record' && isKnown(this.filters.known, type, startMs)) {
      if (!fromCorrelation) drop(this.counts, 'already-imported', type);
      return;
    }
    noteRange(this.counts.ranges, type, startMs);
    if (rewritten && !fromCorrelation) this.counts.datesRewritten++;
    const out = this.out;
    out.kind = kind;
    out.type = type;
    out.element = el;
    out.fromCorrelation = fromCorrelation;
    out.workout = workout;
    if (
      !rewritten &&
      !fromCorrelation &&
      kind === 'record' &&
      this.source !== null &&
      this.copyable(el as TopLevelElement)
    ) {
      out.xml = null;
    } else {
      const xml = serializeElement(shape(rewritten ? { ...el, attrs } : el));
      const bytes = Buffer.from(xml, 'utf8');
      // The key covers what a copy would hash: the tag without indent and `/>\n` (or `\n` after children).
      this.hasher.hash(bytes, 1, bytes.length - (bytes[bytes.length - 3] === 0x2f ? 3 : 1));
      out.xml = xml;
      out.tagStart = out.tagEnd = out.end = -1;
    }
    out.hi = this.hasher.hi;
    out.lo = this.hasher.lo;
    emit(out);
  }

  /**
   * True when the Record's start tag in the source is byte for byte what serializeElement writes (its
   * key is then in the hasher and its place in `out`); false to serialize it instead.
   */
  private copyable(el: TopLevelElement): boolean {
    const source = this.source!;
    if (!source.view(el.startOffset, el.endOffset)) return false;
    const buf = source.viewBuf;
    const base = source.viewBase;
    const a = el.startOffset - base;
    const e = el.endOffset - base;
    let tagEnd: number;
    const selfClosing = buf[e - 2] === 0x2f;
    if (selfClosing) {
      tagEnd = e - 2;
    } else {
      // Children (not sent) follow. The tag must end the line, and the next line must start with
      // blanks and '<': a '<' cannot sit in a value or between attributes, so the '>' before the
      // newline closes the tag (raw-tag.ts rejects any other '>').
      const nl = buf.indexOf(0x0a, a);
      if (nl < 0 || nl >= e || buf[nl - 1] !== 0x3e) return false;
      let q = nl + 1;
      while (q < e && (buf[q] === 0x20 || buf[q] === 0x09)) q++;
      if (q >= e || buf[q] !== 0x3c) return false;
      tagEnd = nl - 1;
    }
    let units = 1 + el.name.length;
    const attrs = el.attrs;
    for (const key in attrs) units += key.length + (attrs[key] as string).length + 4;
    if (!this.hasher.canonical(buf, a, tagEnd, units)) return false;
    const out = this.out;
    out.tagStart = el.startOffset;
    out.tagEnd = base + tagEnd;
    out.selfClosing = selfClosing;
    out.end = el.endOffset;
    return true;
  }
}

/**
 * The duplicate set's table, in 64-bit slots (4 MiB), filled to MAX_LOAD before a new generation starts
 * (content-hash.ts): with the previous generation kept, memory is at most two tables whatever the
 * export's size, and duplicates are found exactly when fewer than about 314 000 samples apart (Apple
 * writes copies next to each other, grouped by type). Copies further apart may both be sent.
 */
const DEDUPE_SLOTS = 1 << 19;
const MAX_LOAD = 0.6;

/**
 * Drops exact duplicates and Correlation copies. Sees every sample in file order, since which of two
 * copies is sent (the first) depends on it; keeps 8 bytes per key.
 */
export class Deduper {
  private readonly seen: BoundedHashSet;
  /** Hashes of Correlation members already sent as promoted samples (few: blood pressure). */
  private readonly promoted = new BoundedHashSet(1_000_000);
  readonly kept: Record<string, number> = {};
  readonly counts: SelectionCounts = emptyCounts();
  correlationMembersPromoted = 0;
  copied = 0;

  /**
   * `expectedSamples` sizes the duplicate set up front (growing it rehashes every key); `workouts`
   * knows the workouts already sent (the ledger's keys).
   */
  constructor(
    expectedSamples = 0,
    readonly workouts: WorkoutKeys = new WorkoutKeys(),
  ) {
    let capacity = 1 << 16;
    while (capacity < expectedSamples / 0.6 && capacity < DEDUPE_SLOTS) capacity *= 2;
    this.seen = new BoundedHashSet(Math.floor(DEDUPE_SLOTS * MAX_LOAD), capacity);
  }

  /**
   * True when the sample is to be sent (and counts it); false when it was counted as dropped. A
   * workout (`workout`) is also checked against the keys of the earlier ones (workout-keys.ts).
   */
  admit(
    fromCorrelation: boolean,
    hi: number,
    lo: number,
    type: string,
    copied: boolean,
    workout: WorkoutRef | null = null,
  ): boolean {
    if (fromCorrelation) {
      if (this.seen.has(hi, lo)) {
        drop(this.counts, 'correlation-copy', type);
        return false;
      }
      // No top-level copy yet (some exports keep blood pressure only inside the correlation): send this one.
      this.seen.add(hi, lo);
      this.promoted.add(hi, lo);
      this.correlationMembersPromoted++;
    } else if (!this.seen.add(hi, lo)) {
      drop(this.counts, this.promoted.has(hi, lo) ? 'correlation-copy' : 'duplicate', type);
      return false;
    }
    if (workout !== null) {
      const admission = this.workouts.admit(workout);
      if (admission !== 'new') {
        drop(this.counts, admission, type);
        return false;
      }
    }
    bump(this.kept, type);
    if (copied) this.copied++;
    return true;
  }

  /** The run's report, from this and the selection counts of every part of the export. */
  report(selection: SelectionCounts): NormalizationReport {
    const counts = emptyCounts();
    addCounts(counts, selection);
    addCounts(counts, this.counts);
    return {
      selected: counts.selected,
      kept: this.kept,
      dropped: counts.dropped,
      otherElements: counts.otherElements,
      correlationMembersPromoted: this.correlationMembersPromoted,
      dedupeWindowRotations: this.seen.rotations,
      copied: this.copied,
      datesRewritten: counts.datesRewritten,
      collisions: this.workouts.collisions,
    };
  }
}

/** Total samples in a by-type map. */
export function total(map: Record<string, number> | undefined): number {
  let n = 0;
  for (const v of Object.values(map ?? {})) n += v;
  return n;
}
