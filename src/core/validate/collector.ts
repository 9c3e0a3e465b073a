import { UPLOAD_REPAIRS, type UploadRepairs } from '../model/outcome.js';
/**
 * Builds the validate report from a tape scan (reader/tape-scanner.ts) in one pass: counts by element,
 * type, month and source, the backend-import model's verdict on every Record and Workout (model/), the
 * exact duplicates and Correlation copies (dedupe-log.ts), defects and examples. It reads names and
 * values where they lie in the bytes: a type is looked up by its bytes' hash, a source by its name's
 * and device's, a date is read from its digits, and a string is made only for what the report shows
 * (a new type, source or month, an example, the first and last dates). Memory is bounded by the
 * duplicate set (dedupe-log.ts) plus small per-type, per-month and per-source tables.
 */

import { strptimeDate } from '../model/dates.js';
import {
  ElementFields,
  F_ACTIVITY,
  F_CREATION,
  F_DEVICE,
  F_END,
  F_SOURCE_NAME,
  F_START,
  F_TYPE,
  F_VALUE,
  F_XMLNS,
  FIELD_COUNT,
  FIELD_NAMES,
  RULE_FIELDS,
} from '../model/fields.js';
import {
  appleShape,
  deviceModel,
  FAIL_VALUE_OUT_OF_RANGE,
  IMPORT_RECORD,
  IMPORT_WORKOUT,
  isSkipped,
  type JudgeOptions,
  judgeRecord,
  judgeWorkout,
  SKIP_NOT_IMPORTED,
  SKIP_UNMAPPED_TYPE,
  statisticFails,
  verdict,
  workoutKey,
} from '../model/judge.js';
import {
  KIND_QUANTITY,
  KIND_UNMAPPED,
  OTHER_TYPES,
  type RecordType,
  TypeTable,
} from '../model/record-types.js';
import { ImportTally, type TallyPartial } from '../model/tally.js';
import {
  DIGEST_FIRST,
  DIGEST_LAST,
  DIGEST_TYPE_FIRST,
  DIGEST_TYPE_LAST,
  type DigestCounts,
  type DigestFields,
  TapeDigest,
} from '../reader/content-check.js';
import { threadNames } from '../reader/names.js';
import {
  A_FLAGS,
  A_HASH_HI,
  A_HASH_LO,
  A_VALUE_AT,
  A_VALUE_END,
  ENTRY_INTS,
  FIELD_SHIFT,
  type NameKey,
  nameKey,
  T_HASH_HI,
  T_HASH_LO,
  T_HEAD,
  T_NAME_AT,
  T_NAME_HASH,
  T_NAME_LENGTH,
  type TapeElement,
  type TapeFields,
  VALUE_HAS_REFERENCE,
} from '../reader/tape.js';
import type { Defect, DefectKind } from '../reader/types.js';
import { type FilterSpec, isFilterActive, NO_FILTERS, select } from '../selection/filters.js';
import { WORKOUT_TYPE } from '../selection/mapped-types.js';
import {
  CORRELATION_CHILD,
  DedupeLog,
  Deduper,
  type DuplicateSets,
  NO_OUTCOME,
  ROW_KEY,
  rowKeyHash,
  rowOutcome,
  stepWord,
  TOP_OTHER,
  TOP_RECORD,
} from './dedupe-log.js';
import { createDeduper } from './dedupe-wasm.js';
import { normalizeDevice } from './device.js';
import { issueKindOf } from './issues.js';
import type { DefectSummary, IssueExample, IssueSummary, SourceSummary, ValidationReport } from './report.js';
import { buildReport, type ScanFacts } from './report-builder.js';

export type { ScanFacts } from './report-builder.js';

/** Examples kept per defect or issue kind: enough to find them, bounded whatever the input. */
export const MAX_EXAMPLES = 5;
/** Distinct (sourceName, device) pairs tracked; the rest are summed under "(other sources)". */
export const MAX_SOURCES = 1000;
/** Keys of source lookups remembered (several spellings of one source share its summary). */
const MAX_SOURCE_KEYS = 8192;

function bump(map: Map<string, number>, key: string, n = 1): void {
  map.set(key, (map.get(key) ?? 0) + n);
}

const FIELD_KEYS: NameKey[] = FIELD_NAMES.map(nameKey);
/**
 * The attributes the collector reads, found for it by the tape scan: the model's fields (fields.ts),
 * with the hashes of those it looks up by (type, source name and device, activity).
 */
export const TAPE_FIELDS: TapeFields = {
  names: FIELD_NAMES,
  hashed: (1 << F_TYPE) | (1 << F_SOURCE_NAME) | (1 << F_DEVICE) | (1 << F_ACTIVITY),
  device: 1 << F_DEVICE,
};
/** The fields the compiled fast path's digest reads (ScannerOptions.digest). */
export const DIGEST_FIELDS: DigestFields = {
  type: F_TYPE,
  value: F_VALUE,
  start: F_START,
  end: F_END,
  creation: F_CREATION,
  source: F_SOURCE_NAME,
  device: F_DEVICE,
  xmlns: F_XMLNS,
};
const WORKOUT_STATISTICS = nameKey('WorkoutStatistics');
const RECORD = nameKey('Record');
const STAT_TYPE = nameKey('type');
const STAT_MIN = nameKey('minimum');
const STAT_MAX = nameKey('maximum');
/** Top-level elements that are the export's header, not data: neither imported nor skipped. */
const HEADER = new Set(['ExportDate', 'Me']);

/** The report's counts by name, merged by addition. */
const COUNT_NAMES = [
  'elements',
  'nested',
  'recordTypes',
  'workoutTypes',
  'correlationTypes',
  'ignoredTypes',
  'ignoredElements',
] as const;
type CountName = (typeof COUNT_NAMES)[number];

/** A date the report may show as the first or last, kept as its bytes until then. */
interface Extreme {
  epoch: number;
  date: string;
}

/** The earliest and latest startDate of one record type. */
interface TypeDates {
  first: Extreme;
  last: Extreme;
}

/** TypeDates while collecting: the instants, and the dates' bytes. */
interface TypeDateBytes {
  firstEpoch: number;
  lastEpoch: number;
  first: Uint8Array;
  last: Uint8Array;
}

/** What a collector that saw one range of the export hands to the collector of the whole (see absorb). */
export interface CollectorPartial {
  counts: Record<CountName, [string, number][]>;
  perMonth: [number, number][];
  sources: [string, SourceSummary][];
  issues: IssueSummary[];
  defects: DefectSummary[];
  exportDate: string | null;
  correlations: number;
  records: number;
  workouts: number;
  excluded: number;
  first: Extreme | null;
  last: Extreme | null;
  /** Per record type by name: its first and last startDate. */
  typeDates: [string, TypeDates][];
  tally: TallyPartial;
  /** The range's type table, for its log's type indices. */
  types: string[];
  /** The range's duplicate steps, replayed in order by absorb. */
  log: Uint32Array;
}

export interface CollectorOptions {
  /** A collector of one range in a parallel scan: duplicate steps and workouts are logged, not decided. */
  logDuplicates?: boolean;
  /** About how many elements the export (or the range) holds: sizes the duplicate set (or the range's log). */
  expectedElements?: number;
  /** false: no digest (digestOption), every element is judged here. */
  digest?: boolean;
  /** Buffers to reuse for a range's log (RangeSpare.spare). */
  spare?: ArrayBuffer[];
  judge?: JudgeOptions;
  /** The repairs the outcome assumes (default: the upload's, UPLOAD_REPAIRS); {} models the export as it is. */
  repairs?: UploadRepairs;
}

export class ValidationCollector {
  private readonly elements = new Map<string, number>();
  private readonly nested = new Map<string, number>();
  private readonly recordTypes = new Map<string, number>();
  private readonly workoutTypes = new Map<string, number>();
  private readonly correlationTypes = new Map<string, number>();
  private readonly ignoredTypes = new Map<string, number>();
  private readonly ignoredElements = new Map<string, number>();
  /** Records per month, keyed year * 12 + month - 1. */
  private readonly perMonth = new Map<number, number>();
  private readonly sources = new Map<string, SourceSummary>();
  /** Source summaries by the hash of a sourceName and device tail (tape.ts deviceTail). */
  private readonly sourceKeys = new Map<number, SourceSummary>();
  private lastSourceKey = Number.NaN;
  private lastSource: SourceSummary | null = null;
  private readonly issues = new Map<string, IssueSummary>();
  private readonly defects = new Map<DefectKind, DefectSummary>();
  private readonly types = new TypeTable();
  readonly tally: ImportTally;
  private readonly deduper: DuplicateSets;
  private exportDate: string | null = null;
  private correlations = 0;
  private records = 0;
  private workouts = 0;
  private excluded = 0;
  private first: Extreme | null = null;
  private last: Extreme | null = null;
  /** Per record type index (this.types): the earliest and latest startDate in Apple's shape, as bytes. */
  private readonly typeDates = new Map<number, TypeDateBytes>();
  /** Bytes of the earliest and latest date so far, decoded only when the report is made. */
  private firstEpoch = Number.POSITIVE_INFINITY;
  private lastEpoch = Number.NEGATIVE_INFINITY;
  private readonly firstBytes = Buffer.alloc(25);
  private readonly lastBytes = Buffer.alloc(25);
  private readonly filterActive: boolean;
  /** The duplicate steps not yet decided: a range's all, the whole export's since the last flush. */
  private readonly log: DedupeLog;
  private readonly ranged: boolean;
  private readonly fields = new ElementFields();
  private readonly stat = new ElementFields();
  private readonly names = threadNames();
  private readonly judgeOptions: JudgeOptions;
  private readonly workoutType: RecordType;
  private readonly noType: RecordType;
  private readonly repairs: UploadRepairs;
  /**
   * The compiled fast path's digest, once attached (attachDigest): the keys registered with it (types
   * by index, sources by id, nested names by id), so that its counts can be added where they belong.
   */
  private readonly digestWanted: boolean;
  private digest: TapeDigest | null = null;
  private digestCounts: DigestCounts | null = null;
  private typeRegistered: Uint8Array | null = null;
  private readonly sourceIds = new Map<SourceSummary, number>();
  private readonly sourceList: SourceSummary[] = [];
  private readonly nestedIds = new Map<string, number>();
  private readonly nestedNames: string[] = [];
  /**
   * Ids of the device models and backend series that make up the records' row keys: hashes of their
   * names, so that the collectors of all ranges give one model or series the same id.
   */
  private readonly modelIds = new Map<string, number>();
  private readonly seriesIds = new Map<string, number>();
  /** A `device` value's tail hash (lo) to [hi, model id]: most records name one of a few devices. */
  private readonly deviceModels = new Map<number, [number, number]>();
  private readonly keyHash = new Int32Array(2);

  constructor(
    private readonly filter: FilterSpec = NO_FILTERS,
    opts: CollectorOptions = {},
  ) {
    this.filterActive = isFilterActive(filter);
    this.ranged = opts.logDuplicates === true;
    // A range's log holds all of its steps; the whole export's is decided every FLUSH_WORDS.
    // A record logs two steps: its element's and its row key's.
    this.log = new DedupeLog(this.ranged ? 2 * (opts.expectedElements ?? 0) : FLUSH_WORDS / 3, opts.spare);
    this.tally = new ImportTally(this.types, { deferWorkouts: opts.logDuplicates === true });
    // A range's collector only logs its steps: its sets are never made (nor the compiled module loaded).
    this.deduper = opts.logDuplicates ? new Deduper(0) : createDeduper(opts.expectedElements ?? 0);
    this.repairs = opts.repairs ?? UPLOAD_REPAIRS;
    this.judgeOptions = opts.judge ?? { convertDates: this.repairs.dates === true };
    this.digestWanted = opts.digest !== false;
    this.workoutType = this.types.named('Workout');
    this.noType = this.types.named('(none)');
  }

  /**
   * ScannerOptions.digest for a scan feeding this collector: the compiled fast path counts the plain
   * top-level Records by the keys this collector registers, and onDigested gets their place in file
   * order. None with a filter, which needs each element's dates and type here.
   */
  digestOption(): { fields: DigestFields; attach(d: TapeDigest): void } | undefined {
    if (this.filterActive || !this.digestWanted) return undefined;
    return { fields: DIGEST_FIELDS, attach: (d) => this.attachDigest(d) };
  }

  private attachDigest(d: TapeDigest): void {
    this.digest = d;
    this.digestCounts = TapeDigest.counts();
    this.typeRegistered = new Uint8Array(this.digestCounts.types.length);
  }

  /**
   * A top-level Record the digest judged and counted (ScannerHandlers.onDigested): what is left is its
   * duplicate step, in file order, and the first and last dates when it holds one.
   */
  onDigested(
    el: TapeElement,
    type: number,
    outcome: number,
    extremes: number,
    dateAt: number,
    epoch: number,
  ): void {
    const ints = el.ints;
    const t = el.at;
    this.log.push(stepWord(TOP_RECORD, outcome, type), ints[t + T_HASH_HI]!, ints[t + T_HASH_LO]!);
    if (outcome === IMPORT_RECORD) this.digestedRowKey(el, t, type, epoch);
    if (!this.ranged && this.log.length >= FLUSH_WORDS) this.flush();
    if (extremes !== 0) {
      this.extreme(el.bytes, dateAt, epoch, extremes);
      if (extremes & (DIGEST_TYPE_FIRST | DIGEST_TYPE_LAST))
        this.typeExtreme(type, el.bytes, dateAt, epoch, extremes);
    }
  }

  /**
   * The row key of a Record the digest judged imported: its dates are in the backend's format, and
   * `epoch` is its startDate's instant when the digest read it (always, for a record it imports).
   */
  private digestedRowKey(el: TapeElement, t: number, type: number, epoch: number): void {
    const ints = el.ints;
    const base = el.valueBase;
    let ms = epoch;
    if (Number.isNaN(ms)) {
      const s = el.attr(t, START_KEY);
      if (s < 0) return;
      ms = strptimeDate(el.bytes, base + ints[s + A_VALUE_AT]!, base + ints[s + A_VALUE_END]!);
    }
    const d = el.attr(t, DEVICE_KEY);
    const model =
      d < 0
        ? idOf(this.modelIds, '')
        : this.modelId(ints[d + A_HASH_LO]!, ints[d + A_HASH_HI]!, () => el.text(d));
    this.rowKey(IMPORT_RECORD, this.types.list[type]!, ms, model);
  }

  /** The id of the device model of a `device` value with this tail hash (text: the value, decoded). */
  private modelId(lo: number, hi: number, text: () => string | undefined): number {
    const known = this.deviceModels.get(lo);
    if (known !== undefined && known[0] === hi) return known[1];
    const id = idOf(this.modelIds, deviceModel(text()) ?? '');
    // Unhashed values (0, 0) are read every time; the cache stays small whatever the export.
    if ((lo !== 0 || hi !== 0) && this.deviceModels.size < MAX_DEVICE_KEYS)
      this.deviceModels.set(lo, [hi, id]);
    return id;
  }

  private modelOf(f: ElementFields): number {
    if (!f.has(F_DEVICE)) return idOf(this.modelIds, '');
    return this.modelId(f.hashLo[F_DEVICE]!, f.hashHi[F_DEVICE]!, () => f.text(F_DEVICE));
  }

  /**
   * Logs the row key of a record imported as a time-series row (data source, series, recorded_at;
   * contract §5.8): a later record with an earlier one's key overwrites its row and adds none.
   */
  private rowKey(outcome: number, type: RecordType, ms: number, model: number): void {
    if (!rowOutcome(outcome) || type.series === null || Number.isNaN(ms)) return;
    const series = idOf(this.seriesIds, type.series);
    rowKeyHash(model, series, ms, this.keyHash);
    this.log.push(stepWord(ROW_KEY, outcome, type.index), this.keyHash[0]!, this.keyHash[1]!);
  }

  /** Adds what the digest counted since the last time. */
  private takeDigest(): void {
    const d = this.digest;
    const c = this.digestCounts;
    if (d === null || c === null) return;
    d.take(c);
    if (c.records === 0) return;
    bump(this.elements, 'Record', c.records);
    this.records += c.records;
    const list = this.types.list;
    for (let i = 0; i < list.length && i < c.types.length; i++) {
      const n = c.types[i]!;
      if (n === 0) continue;
      const type = list[i]!;
      bump(this.recordTypes, type.name, n);
      if (type.kind === KIND_UNMAPPED) bump(this.ignoredTypes, type.name, n);
      this.tally.addMany(type.kind === KIND_QUANTITY ? IMPORT_RECORD : SKIP_UNMAPPED_TYPE, i, n);
    }
    for (let id = 0; id < this.sourceList.length; id++) this.sourceList[id]!.records += c.sources[id]!;
    for (let id = 0; id < this.nestedNames.length; id++) {
      const n = c.nested[id]!;
      if (n > 0) bump(this.nested, this.nestedNames[id]!, n);
    }
    for (let i = 0; i < c.months.length; i++) {
      const n = c.months[i]!;
      if (n === 0) continue;
      const key = c.monthBase + i;
      this.perMonth.set(key, (this.perMonth.get(key) ?? 0) + n);
    }
  }

  onTape(el: TapeElement): void {
    const top = el.at;
    bump(this.elements, el.name);
    const first = el.next(top);
    if (first < el.end) this.countNested(el, first);
    switch (el.name) {
      case 'Record':
        this.onRecord(el, top);
        return;
      case 'Workout':
        this.onWorkout(el, top);
        return;
      case 'Correlation':
        this.onCorrelation(el, top);
        return;
      case 'ExportDate': {
        const a = el.attr(top, VALUE_KEY);
        this.exportDate = a < 0 ? null : el.text(a);
        bump(this.ignoredElements, el.name);
        return;
      }
      default:
        // Everything else is ignored by the backend (contract §5.2: IGNORED_ELEMENTS and unknown elements).
        bump(this.ignoredElements, el.name);
        if (!HEADER.has(el.name) && !this.filterActive)
          this.tally.add(SKIP_NOT_IMPORTED, this.types.named(el.name).index);
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

  /** Counts the nested elements from tag entry `t` on; judges the Records and Workouts among them not in a Correlation. */
  private countNested(el: TapeElement, t: number): void {
    const ints = el.ints;
    const correlation = el.name === 'Correlation';
    for (; t < el.end; t = el.next(t)) {
      const at = el.valueBase + ints[t + T_NAME_AT]!;
      const name = this.names.get(el.bytes, at, at + ints[t + T_NAME_LENGTH]!, ints[t + T_NAME_HASH]!);
      bump(this.nested, name);
      if (this.digest !== null && !this.nestedIds.has(name))
        this.registerNested(name, ints[t + T_NAME_HASH]!);
      // The backend reads every Record and Workout end event, wherever it sits (contract §5.2).
      if (correlation && (ints[t + T_HEAD]! & 0xff) === 1) continue;
      if (name === 'Record') this.nestedRecord(el, t);
      else if (name === 'Workout') this.nestedWorkout(el, t);
    }
  }

  /** Lets the digest count a nested element name (never Record or Workout, which the model judges). */
  private registerNested(name: string, hash: number): void {
    const id = this.nestedNames.length;
    const counted = name !== 'Record' && name !== 'Workout' && this.digest!.nested(name, hash, id);
    this.nestedIds.set(name, counted ? id : -1);
    if (counted) this.nestedNames.push(name);
  }

  /** Fills this.fields (or `into`) from the attributes of tag entry `t` (found by the scan: TAPE_FIELDS). */
  private fill(el: TapeElement, t: number, into: ElementFields = this.fields): ElementFields {
    const ints = el.ints;
    const base = el.valueBase;
    into.clear();
    into.bytes = el.bytes;
    const n = ints[t + T_HEAD]! >>> 8;
    for (let a = t + ENTRY_INTS, k = 0; k < n; k++, a += ENTRY_INTS) {
      const flags = ints[a + A_FLAGS]!;
      if (flags < 1 << FIELD_SHIFT) continue;
      into.set(
        (flags >>> FIELD_SHIFT) - 1,
        base + ints[a + A_VALUE_AT]!,
        base + ints[a + A_VALUE_END]!,
        ints[a + A_HASH_LO]!,
        ints[a + A_HASH_HI]!,
        (flags & VALUE_HAS_REFERENCE) !== 0,
      );
    }
    // The rules read bytes, which must then be the text: decode the few values with references they read.
    if (into.refs & RULE_FIELDS) this.decodeFields(into);
    return into;
  }

  private decodeFields(into: ElementFields): void {
    const text: Record<string, string> = {};
    const hashes: [number, number, number][] = [];
    for (let f = 0; f < FIELD_COUNT; f++) {
      if (!into.has(f)) continue;
      text[FIELD_NAMES[f]!] = into.text(f)!;
      hashes.push([f, into.hashLo[f]!, into.hashHi[f]!]);
    }
    into.setAttrs(text);
    // Keys stay those of the raw bytes, which is how every other occurrence is looked up.
    for (const [f, lo, hi] of hashes) {
      into.hashLo[f] = lo;
      into.hashHi[f] = hi;
    }
  }

  /** The record type named by the fields' `type`. */
  private typeOf(el: TapeElement, t: number, f: ElementFields): RecordType {
    if (!f.has(F_TYPE)) return this.noType;
    const lo = f.hashLo[F_TYPE]!;
    const hi = f.hashHi[F_TYPE]!;
    const type = this.types.find(lo, hi) ?? this.types.add(lo, hi, el.text(el.attr(t, TYPE_KEY)));
    const registered = this.typeRegistered;
    if (registered !== null && registered[type.index] === 0 && (f.refs & (1 << F_TYPE)) === 0)
      this.registerType(type, lo, hi);
    return type;
  }

  /** Lets the digest count the plain Records of `type` (quantities imported, unmapped ones skipped; sleep is judged here). */
  private registerType(type: RecordType, lo: number, hi: number): void {
    this.typeRegistered![type.index] = 1;
    if (type.name === OTHER_TYPES || type.index >= this.typeRegistered!.length) return;
    if (type.kind === KIND_QUANTITY) this.digest!.type(lo, hi, type.index, IMPORT_RECORD);
    else if (type.kind === KIND_UNMAPPED) this.digest!.type(lo, hi, type.index, SKIP_UNMAPPED_TYPE);
  }

  private step(tag: number, el: TapeElement, t: number, outcome: number, type: number): void {
    const ints = el.ints;
    const hi = ints[t + T_HASH_HI]!;
    const lo = ints[t + T_HASH_LO]!;
    this.log.push(stepWord(tag, outcome, type), hi, lo);
    if (!this.ranged && this.log.length >= FLUSH_WORDS) this.flush();
  }

  /** Decides the steps logged so far (the collector of the whole export). */
  private flush(): void {
    this.deduper.replay(this.log.words, this.log.length, this.tally, null);
    this.log.length = 0;
  }

  private onRecord(el: TapeElement, t: number): void {
    const f = this.fill(el, t);
    const type = this.typeOf(el, t, f);
    const outcome = judgeRecord(f, type, this.judgeOptions);
    if (outcome > SKIP_UNMAPPED_TYPE) this.addIssue(outcome, el, t, f, type);
    if (this.filterActive && !this.selected(f, type.name === '(none)' ? undefined : type.name, false)) {
      this.excluded++;
      this.step(TOP_RECORD, el, t, NO_OUTCOME, 0);
      return;
    }
    this.tally.add(outcome, type.index, verdict.repaired);
    this.rowKey(outcome, type, verdict.startMs, this.modelOf(f));
    this.step(TOP_RECORD, el, t, outcome, type.index);
    this.records++;
    if (type !== this.noType) {
      bump(this.recordTypes, type.name);
      if (type.kind === KIND_UNMAPPED) bump(this.ignoredTypes, type.name);
    }
    this.dated(f, true, type === this.noType ? -1 : type.index);
    this.addSource(f, false);
  }

  private onWorkout(el: TapeElement, t: number): void {
    const f = this.fill(el, t);
    const outcome = judgeWorkout(f, this.badStatistic(el, t), this.judgeOptions);
    const activity = f.has(F_ACTIVITY) ? el.text(el.attr(t, FIELD_KEYS[F_ACTIVITY]!)) : undefined;
    if (outcome !== IMPORT_WORKOUT) this.addIssue(outcome, el, t, f, this.workoutType, activity);
    if (this.filterActive && !this.selected(f, activity, true)) {
      this.excluded++;
      this.step(TOP_OTHER, el, t, NO_OUTCOME, 0);
      return;
    }
    this.countWorkout(el, t, f, outcome, activity);
    this.step(TOP_OTHER, el, t, outcome, this.workoutType.index);
    this.workouts++;
    bump(this.workoutTypes, activity ?? '(none)');
    this.dated(f, false);
    this.addSource(f, true);
  }

  /** The model's count of a workout, with its key when imported (judge.ts verdict still holds its instants). */
  private countWorkout(
    el: TapeElement,
    t: number,
    f: ElementFields,
    outcome: number,
    activity: string | undefined,
  ): void {
    this.tally.add(outcome, this.workoutType.index, verdict.repaired);
    if (outcome !== IMPORT_WORKOUT) return;
    const key = workoutKey(deviceModel(f.text(F_DEVICE)), verdict.startMs, verdict.endMs);
    el.position();
    const line = t === el.at ? el.line : 0;
    this.tally.workout(key, {
      activity: activity ?? '(none)',
      sourceName: f.text(F_SOURCE_NAME) ?? '(none)',
      startDate: f.text(F_START) ?? '',
      line,
      column: t === el.at ? el.column : 0,
    });
  }

  /** Whether a direct WorkoutStatistics child of tag entry `t` makes the backend skip the workout. */
  private badStatistic(el: TapeElement, t: number): boolean {
    const ints = el.ints;
    const depth = (ints[t + T_HEAD]! & 0xff) + 1;
    for (let c = el.next(t); c < el.end; c = el.next(c)) {
      const d = ints[c + T_HEAD]! & 0xff;
      if (d < depth) break;
      if (d !== depth || !el.named(c, WORKOUT_STATISTICS)) continue;
      const text = (key: NameKey) => {
        const a = el.attr(c, key);
        return a < 0 ? undefined : el.text(a);
      };
      if (statisticFails(text(STAT_TYPE), text(STAT_MIN), text(STAT_MAX))) return true;
    }
    return false;
  }

  private onCorrelation(el: TapeElement, t: number): void {
    const ints = el.ints;
    this.step(TOP_OTHER, el, t, NO_OUTCOME, 0);
    this.correlations++;
    const typeAt = el.attr(t, TYPE_KEY);
    bump(this.correlationTypes, typeAt < 0 ? '(none)' : el.text(typeAt));
    // The wrapper is not imported (contract §5.2); its Records are, once each with their top-level copies.
    for (let c = el.next(t); c < el.end; c = el.next(c)) {
      if ((ints[c + T_HEAD]! & 0xff) !== 1 || !el.named(c, RECORD)) continue;
      const f = this.fill(el, c);
      const type = this.typeOf(el, c, f);
      const outcome = judgeRecord(f, type, this.judgeOptions);
      if (this.filterActive && !this.selected(f, type.name === '(none)' ? undefined : type.name, false)) {
        this.step(CORRELATION_CHILD, el, c, NO_OUTCOME, 0);
        continue;
      }
      this.tally.add(outcome, type.index, verdict.repaired);
      this.rowKey(outcome, type, verdict.startMs, this.modelOf(f));
      this.step(CORRELATION_CHILD, el, c, outcome, type.index);
    }
  }

  /** A Record nested elsewhere than in a Correlation: the backend imports it too (tracked by its row key only). */
  private nestedRecord(el: TapeElement, t: number): void {
    const f = this.fill(el, t);
    const type = this.typeOf(el, t, f);
    const outcome = judgeRecord(f, type, this.judgeOptions);
    if (this.filterActive && !this.selected(f, type.name === '(none)' ? undefined : type.name, false)) return;
    this.tally.add(outcome, type.index, verdict.repaired);
    this.rowKey(outcome, type, verdict.startMs, this.modelOf(f));
    if (!this.ranged && this.log.length >= FLUSH_WORDS) this.flush();
  }

  private nestedWorkout(el: TapeElement, t: number): void {
    const f = this.fill(el, t);
    const outcome = judgeWorkout(f, this.badStatistic(el, t), this.judgeOptions);
    const activity = f.has(F_ACTIVITY) ? el.text(el.attr(t, FIELD_KEYS[F_ACTIVITY]!)) : undefined;
    if (this.filterActive && !this.selected(f, activity, true)) return;
    this.countWorkout(el, t, f, outcome, activity);
  }

  private selected(f: ElementFields, type: string | undefined, workout: boolean): boolean {
    const start = f.text(F_START);
    return (
      (workout ? select(this.filter, WORKOUT_TYPE, start, type) : select(this.filter, type ?? '', start)) ===
      'selected'
    );
  }

  /** Months and first and last dates (of the export, and of record type `type` unless -1), from startDate in Apple's shape. */
  private dated(f: ElementFields, month: boolean, type = -1): void {
    const epoch = appleShape(f);
    if (Number.isNaN(epoch)) return;
    const a = f.start[F_START]!;
    const bytes = f.bytes;
    if (month) {
      const y =
        (bytes[a]! - 48) * 1000 + (bytes[a + 1]! - 48) * 100 + (bytes[a + 2]! - 48) * 10 + bytes[a + 3]! - 48;
      const m = (bytes[a + 5]! - 48) * 10 + bytes[a + 6]! - 48;
      const key = y * 12 + m - 1;
      this.perMonth.set(key, (this.perMonth.get(key) ?? 0) + 1);
    }
    this.extreme(bytes, a, epoch, DIGEST_FIRST | DIGEST_LAST);
    if (type >= 0) this.typeExtreme(type, bytes, a, epoch, DIGEST_TYPE_FIRST | DIGEST_TYPE_LAST);
  }

  /**
   * startDate bytes[a, a + 25) of a record of type index `type`, with instant `epoch`, as a candidate for
   * that type's first (and/or) last date. The earliest instant wins, and of equal ones the first in the
   * file, as for the export's own first and last; the winner's bytes are kept, made a string only for
   * the report (datesByType).
   */
  private typeExtreme(type: number, bytes: Uint8Array, a: number, epoch: number, which: number): void {
    let d = this.typeDates.get(type);
    if (d === undefined) {
      d = { firstEpoch: epoch, lastEpoch: epoch, first: new Uint8Array(25), last: new Uint8Array(25) };
      this.typeDates.set(type, d);
      copy25(bytes, a, d.first);
      copy25(bytes, a, d.last);
      return;
    }
    if (which & DIGEST_TYPE_FIRST && epoch < d.firstEpoch) {
      d.firstEpoch = epoch;
      copy25(bytes, a, d.first);
    }
    if (which & DIGEST_TYPE_LAST && epoch > d.lastEpoch) {
      d.lastEpoch = epoch;
      copy25(bytes, a, d.last);
    }
  }

  /** Adds another collector's first and last dates of a type (by name), later in the file than this one's. */
  private takeTypeDates(name: string, t: TypeDates): void {
    const index = this.types.named(name).index;
    const first = Buffer.from(t.first.date, 'latin1');
    const last = Buffer.from(t.last.date, 'latin1');
    const d = this.typeDates.get(index);
    if (d === undefined) {
      this.typeDates.set(index, { firstEpoch: t.first.epoch, lastEpoch: t.last.epoch, first, last });
      return;
    }
    if (t.first.epoch < d.firstEpoch) {
      d.firstEpoch = t.first.epoch;
      d.first = first;
    }
    if (t.last.epoch > d.lastEpoch) {
      d.lastEpoch = t.last.epoch;
      d.last = last;
    }
  }

  /** The first and last dates by record type name, as the report shows them. */
  private datesByType(): [string, TypeDates][] {
    const list = this.types.list;
    return [...this.typeDates].map(([index, d]): [string, TypeDates] => [
      list[index]!.name,
      {
        first: { epoch: d.firstEpoch, date: Buffer.from(d.first).toString('latin1') },
        last: { epoch: d.lastEpoch, date: Buffer.from(d.last).toString('latin1') },
      },
    ]);
  }

  /** startDate bytes[a, a + 25) with instant `epoch` as a candidate for the first (and/or) last date. */
  private extreme(bytes: Uint8Array, a: number, epoch: number, which: number): void {
    if (which & DIGEST_FIRST && epoch < this.firstEpoch) {
      this.firstEpoch = epoch;
      for (let i = 0; i < 25; i++) this.firstBytes[i] = bytes[a + i]!;
    }
    if (which & DIGEST_LAST && epoch > this.lastEpoch) {
      this.lastEpoch = epoch;
      for (let i = 0; i < 25; i++) this.lastBytes[i] = bytes[a + i]!;
    }
  }

  /** The first and last dates seen here, as the report shows them. */
  private extremes(): void {
    if (this.firstEpoch !== Number.POSITIVE_INFINITY)
      this.take({ epoch: this.firstEpoch, date: this.firstBytes.toString('latin1') });
    if (this.lastEpoch !== Number.NEGATIVE_INFINITY)
      this.take({ epoch: this.lastEpoch, date: this.lastBytes.toString('latin1') });
    this.firstEpoch = Number.POSITIVE_INFINITY;
    this.lastEpoch = Number.NEGATIVE_INFINITY;
  }

  private take(e: Extreme): void {
    if (this.first === null || e.epoch < this.first.epoch) this.first = e;
    if (this.last === null || e.epoch > this.last.epoch) this.last = e;
  }

  private addSource(f: ElementFields, workout: boolean): void {
    const key = f.has(F_SOURCE_NAME) || f.has(F_DEVICE) ? sourceHash(f) : 0;
    let s: SourceSummary | undefined;
    if (key === this.lastSourceKey) s = this.lastSource!;
    else {
      s = this.sourceKeys.get(key);
      if (s === undefined) {
        s = this.sourceOf(f);
        if (this.sourceKeys.size < MAX_SOURCE_KEYS) {
          this.sourceKeys.set(key, s);
          if (this.digest !== null) this.registerSource(f, s);
        }
      }
      this.lastSourceKey = key;
      this.lastSource = s;
    }
    if (workout) s.workouts++;
    else s.records++;
  }

  /** Lets the digest count the plain Records of the fields' source (name and device hashes) into `s`. */
  private registerSource(f: ElementFields, s: SourceSummary): void {
    let id = this.sourceIds.get(s);
    if (id === undefined) {
      id = this.sourceList.length;
      this.sourceIds.set(s, id);
      this.sourceList.push(s);
    }
    const name = f.has(F_SOURCE_NAME);
    const device = f.has(F_DEVICE);
    this.digest!.source(
      name ? f.hashLo[F_SOURCE_NAME]! : 0,
      name ? f.hashHi[F_SOURCE_NAME]! : 0,
      device ? f.hashLo[F_DEVICE]! : 0,
      device ? f.hashHi[F_DEVICE]! : 0,
      (name ? 1 : 0) | (device ? 2 : 0),
      id,
    );
  }

  /** The summary of the fields' source, by its decoded name and normalised device. */
  private sourceOf(f: ElementFields): SourceSummary {
    const sourceName = f.text(F_SOURCE_NAME) ?? '(none)';
    const device = normalizeDevice(f.text(F_DEVICE));
    const key = `${sourceName}\u0000${device}`;
    return this.sources.get(key) ?? this.sourceSlot(key, sourceName, device);
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

  /** An element the backend skips (or fails on) for a defect of its own: an issue with an example. */
  private addIssue(
    outcome: number,
    el: TapeElement,
    t: number,
    f: ElementFields,
    type: RecordType,
    typeName: string | undefined = type === this.noType ? undefined : type.name,
  ): void {
    if (!isSkipped(outcome) && outcome !== FAIL_VALUE_OUT_OF_RANGE) return;
    const field = verdict.field;
    const kind = issueKindOf(outcome, field >= 0 && f.has(field));
    let s = this.issues.get(kind);
    if (!s) {
      s = { kind, count: 0, examples: [] };
      this.issues.set(kind, s);
    }
    s.count++;
    if (s.examples.length >= MAX_EXAMPLES) return;
    el.position();
    const ex: IssueExample = {
      line: el.line,
      column: el.column,
      element:
        t === el.at
          ? el.name
          : this.names.get(
              el.bytes,
              el.valueBase + el.ints[t + T_NAME_AT]!,
              el.valueBase + el.ints[t + T_NAME_AT]! + el.ints[t + T_NAME_LENGTH]!,
              el.ints[t + T_NAME_HASH]!,
            ),
      attribute: field >= 0 ? FIELD_NAMES[field]! : '',
    };
    if (typeName !== undefined) ex.type = typeName;
    const value = field >= 0 ? f.text(field) : undefined;
    if (value !== undefined) ex.value = value.slice(0, 80);
    s.examples.push(ex);
  }

  /** This range collector's findings, for absorb() in the main thread. */
  toPartial(): CollectorPartial {
    this.takeDigest();
    this.extremes();
    const counts = {} as Record<CountName, [string, number][]>;
    for (const name of COUNT_NAMES) counts[name] = [...this[name]];
    return {
      counts,
      perMonth: [...this.perMonth],
      sources: [...this.sources],
      issues: [...this.issues.values()],
      defects: [...this.defects.values()],
      exportDate: this.exportDate,
      correlations: this.correlations,
      records: this.records,
      workouts: this.workouts,
      excluded: this.excluded,
      first: this.first,
      last: this.last,
      typeDates: this.datesByType(),
      tally: this.tally.toPartial(),
      types: this.types.list.map((t) => t.name),
      log: this.log.take(),
    };
  }

  /**
   * Adds the findings of the next range of the export, as if its elements had come through onTape
   * here: counts add up, examples keep the first few in document order (lines shifted by `lineShift`),
   * and the duplicate steps and workouts are replayed against this collector's sets. Returns the
   * buffer of the range's log, done with, for the next range to reuse (ParallelScanOptions.onRange).
   */
  absorb(p: CollectorPartial, lineShift: number): ArrayBuffer[] {
    for (const name of COUNT_NAMES) {
      const map = this[name];
      for (const [k, n] of p.counts[name]) bump(map, k, n);
    }
    for (const [k, n] of p.perMonth) this.perMonth.set(k, (this.perMonth.get(k) ?? 0) + n);
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
    if (p.first) this.take(p.first);
    if (p.last) this.take(p.last);
    for (const [name, d] of p.typeDates) this.takeTypeDates(name, d);
    const types = Int32Array.from(p.types, (name) => this.types.named(name).index);
    for (const w of p.tally.workouts) w[1].line += lineShift;
    this.tally.absorb(p.tally);
    this.flush();
    return [this.deduper.replay(p.log, p.log.length, this.tally, types, true) as ArrayBuffer];
  }

  /** The report once the scan has ended. */
  finish(scan: ScanFacts, durationMs: number): ValidationReport {
    this.takeDigest();
    this.flush();
    this.extremes();
    const months = new Map<string, number>();
    for (const [k, n] of this.perMonth) {
      const y = Math.floor(k / 12);
      months.set(`${String(y).padStart(4, '0')}-${String((k % 12) + 1).padStart(2, '0')}`, n);
    }
    return buildReport(
      {
        elements: this.elements,
        nested: this.nested,
        recordTypes: this.recordTypes,
        perMonth: months,
        workoutTypes: this.workoutTypes,
        correlationTypes: this.correlationTypes,
        ignoredTypes: this.ignoredTypes,
        ignoredElements: this.ignoredElements,
        sources: [...this.sources.values()],
        issues: [...this.issues.values()],
        defects: this.defects,
        exportDate: this.exportDate,
        correlations: this.correlations,
        records: this.records,
        workouts: this.workouts,
        excluded: this.excluded,
        first: this.first?.date ?? null,
        last: this.last?.date ?? null,
        datesByType: new Map(
          this.datesByType().map(([name, d]) => [name, { first: d.first.date, last: d.last.date }]),
        ),
        exactDuplicates: this.deduper.exactDuplicates,
        correlationCopies: this.deduper.correlationCopies,
        sameKeyRecords: this.deduper.sameKeyRecords,
        tracked: this.deduper.tracked,
        saturated: this.deduper.saturated,
        tally: this.tally,
        filter: this.filterActive ? this.filter : null,
      },
      scan,
      durationMs,
      this.repairs,
    );
  }
}

const VALUE_KEY = nameKey('value');
/** Steps the collector of the whole export logs before deciding them (Deduper.replay), 64 Ki of them. */
const FLUSH_WORDS = 3 * 65536;
const TYPE_KEY = FIELD_KEYS[F_TYPE]!;
const START_KEY = FIELD_KEYS[F_START]!;
const DEVICE_KEY = FIELD_KEYS[F_DEVICE]!;
/** Device values whose model is remembered by their hash. */
const MAX_DEVICE_KEYS = 4096;

function copy25(bytes: Uint8Array, a: number, into: Uint8Array): void {
  for (let i = 0; i < 25; i++) into[i] = bytes[a + i]!;
}

/** A name's id in a row key (its string hash), remembered in `ids`. */
function idOf(ids: Map<string, number>, name: string): number {
  let id = ids.get(name);
  if (id === undefined) {
    id = 0x2545f491;
    for (let i = 0; i < name.length; i++) id = Math.imul(id ^ name.charCodeAt(i), 0x01000193);
    ids.set(name, id);
  }
  return id;
}

/** A number for a source's name and device tail, from their tape hashes (a 53-bit key: collisions are out of reach). */
function sourceHash(f: ElementFields): number {
  const a = f.has(F_SOURCE_NAME) ? f.hashLo[F_SOURCE_NAME]! : 0x1234567;
  const b = f.has(F_SOURCE_NAME) ? f.hashHi[F_SOURCE_NAME]! : 0x7654321;
  const c = f.has(F_DEVICE) ? f.hashLo[F_DEVICE]! : 0x2468ace;
  const d = f.has(F_DEVICE) ? f.hashHi[F_DEVICE]! : 0x1357bdf;
  const x = (Math.imul(a ^ (c << 7), 0x9e3779b1) ^ d) >>> 0;
  const y = (Math.imul(b ^ (d >>> 3), 0x85ebca77) ^ c) & 0x1fffff;
  return x * 0x200000 + y;
}
