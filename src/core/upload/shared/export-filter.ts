/**
 * The export as the backend should get it when it cannot take the file as it is: a byte stream of the
 * export in which top-level Records and Workouts are edited where the backend-import model says so
 * (sample-verdict.ts), everything else byte for byte.
 * - compact dates (`20141018163200+0100`) of a Record or Workout are rewritten into the backend's format;
 * - a workout with the key of an earlier one in the export, or of one the server has, is left out;
 * - with known ranges (imported.ts, the ledger's computed `--since`), a Record the server has is left out.
 * The DOCTYPE is dropped and illegal characters are repaired as in the plain repaired stream (repair.ts,
 * padded, so its length is that of the filter's output).
 *
 * The S3 method must announce the document's exact size before sending it, so the filter runs twice
 * with the same decisions: once to measure (measureFiltered: the size, what it changes, and what the
 * ledger will record), once to send (filteredStream). When the first pass changes nothing, the plain
 * repaired stream is sent instead. Memory: the chunks since the end of the last top-level element.
 */
import { createHash } from 'node:crypto';
import type { ExportSource } from '../../../adapters/export-source.js';
import { AppError } from '../../../errors.js';
import { count } from '../../../io/text.js';
import { backendDate, isCompactDate, strptimeDate } from '../../model/dates.js';
import { IMPORT_RECORD, IMPORT_SLEEP, IMPORT_WORKOUT } from '../../model/judge.js';
import { KIND_UNMAPPED, kindOf } from '../../model/record-types.js';
import type { WorkoutCollision } from '../../model/tally.js';
import { type RepairPlan, repairBytes } from '../../reader/repair.js';
import { createScanner, ExportScanner, type ScanResult } from '../../reader/scanner.js';
import {
  A_FLAGS,
  A_HASH_LO,
  A_VALUE_AT,
  A_VALUE_END,
  ENTRY_INTS,
  FIELD_SHIFT,
  T_HEAD,
  type TapeElement,
  type TapeFields,
  VALUE_HAS_REFERENCE,
} from '../../reader/tape.js';
import type { TopLevelElement } from '../../reader/types.js';
import { WORKOUT_TYPE } from '../../selection/mapped-types.js';
import { isKnown, type KnownRanges, noteRange } from './imported.js';
import { SampleJudge } from './sample-verdict.js';
import { WorkoutKeys } from './workout-keys.js';

/** What the filter decides by: what the server already has. */
export interface FilterInputs {
  /** Per record type, startDates the server has (none with --full). */
  known?: KnownRanges;
  /** Keys of the workouts the server has. */
  importedWorkouts: ReadonlySet<string>;
}

/**
 * Whether `bytes` holds `x` at `a` (the caller compared the lengths). A loop, not Buffer.compare, whose
 * argument checks cost more than the comparison on names this short; from the end, where type names
 * sharing the `HK…TypeIdentifier` prefix differ.
 */
function sameBytes(x: Buffer, bytes: Buffer, a: number): boolean {
  for (let i = x.length - 1; i >= 0; i--) if (x[i] !== bytes[a + i]) return false;
  return true;
}

/** What a pass of the filter did. */
export interface FilterStats {
  /** Bytes of the document (before the padded repair of illegal characters, which keeps the length). */
  bytes: number;
  /** Elements whose dates were rewritten. */
  datesRewritten: number;
  /** Workouts left out for the key of an earlier one, and the first few named. */
  collisions: number;
  collisionExamples: WorkoutCollision[];
  /** Records and workouts left out because the server has them. */
  alreadyImported: { records: number; workouts: number };
  /** What the ledger records once the document is sent: the workouts' keys, the types' ranges. */
  sent: { workouts: string[]; ranges: KnownRanges };
}

/**
 * What the filter decided by, as a digest: a multipart upload of the filtered document records it, and
 * is resumed only while the ledger still gives the same inputs (the same export then gives the same bytes).
 */
export function filterDigest(inputs: FilterInputs): string {
  const known = Object.entries(inputs.known ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([type, r]) => [type, r.first, r.last]);
  const workouts = [...inputs.importedWorkouts].sort();
  return createHash('sha256').update(JSON.stringify({ known, workouts })).digest('hex');
}

/** A filter whose first pass changed something: sent instead of the plain repaired stream. */
export interface ExportFilterPlan {
  inputs: FilterInputs;
  stats: FilterStats;
}

/** The repair plan of an upload, with the filter its document goes through (when it needs one). */
export type FilteredRepair = RepairPlan & { filter?: ExportFilterPlan | null };

/** Whether a pass changed anything (else the plain repaired stream is the same document). */
export function filterChanges(stats: FilterStats): boolean {
  return (
    stats.datesRewritten > 0 ||
    stats.collisions > 0 ||
    stats.alreadyImported.records > 0 ||
    stats.alreadyImported.workouts > 0
  );
}

const QUOTE = 0x22;
const APOS = 0x27;

/** One edit of an element: drop it, or replace attribute values at absolute offsets. */
type Edit = { drop: true } | { drop: false; values: [number, number, string][] };

/**
 * One pass of the filter over the export's chunks, in order: push() each chunk, then feed the scanner's
 * top-level spans to top(), and drain() what is decided. A caller with its own scanner (a worker that
 * checks and measures in one read, s3/measure-worker.ts) drives it directly.
 */
export class FilterPass {
  readonly stats: FilterStats = {
    bytes: 0,
    datesRewritten: 0,
    collisions: 0,
    collisionExamples: [],
    alreadyImported: { records: 0, workouts: 0 },
    sent: { workouts: [], ranges: {} },
  };
  private readonly judge = new SampleJudge();
  private readonly keys: WorkoutKeys;
  private chunks: Buffer[] = [];
  private starts: number[] = [];
  private total = 0;
  /** Absolute offset of the first source byte not yet handed on. */
  private emitted = 0;
  private readonly out: Buffer[] = [];
  /** The piece being extended: [runFrom, runTo) of chunk `run`. */
  private run: Buffer | null = null;
  private runFrom = 0;
  private runTo = 0;

  private readonly spans = new Int32Array(2 * 4);
  /** The Record tape() last saw: its start in the export, its bytes (valid until top()), and their shift. */
  private taped = -1;
  /** The tape's hash of that Record's type value, and the types seen by their hash. */
  private typeHash: number | null = null;
  private readonly types = new Map<number, TypeSeen>();
  private tapeBytes: Buffer | null = null;
  private tapeShift = 0;
  private lastType: Buffer = Buffer.alloc(0);
  private lastTypeName = '';

  /** `countOnly`: the first pass, which only measures (the same decisions, no bytes handed on). */
  constructor(
    private readonly inputs: FilterInputs,
    private readonly doctype: RepairPlan['doctype'],
    private readonly countOnly = false,
  ) {
    this.keys = new WorkoutKeys(inputs.importedWorkouts);
  }

  /** The chunk's bytes go in; what is decided comes out. */
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.starts.push(this.total);
    this.total += chunk.length;
  }

  /** A top-level element's name and span, in file order, once the scanner has read all of it. */
  top(name: string, start: number, end: number): void {
    if (name === 'Record') {
      const edit = this.recordEdit(start, end);
      if (edit !== undefined) {
        this.apply(start, end, edit);
        return;
      }
    }
    if (name === 'Record' || name === 'Workout') {
      const el = this.decode(start, end);
      if (el !== null) {
        this.element(el);
        return;
      }
    }
    this.apply(start, end, null);
  }

  /**
   * A Record decided from its start tag's bytes: its compact dates rewritten, or left out when the
   * server has it; undefined when the tag holds a reference (decoded whole instead). A Record the
   * backend would skip anyway may be rewritten or left out too: its import is the same either way.
   */
  private recordEdit(start: number, end: number): Edit | null | undefined {
    let bytes: Buffer;
    let base = start;
    let hash: number | null = null;
    const spans = this.spans;
    if (this.taped === start && this.tapeBytes !== null) {
      // The compiled fast path found the attributes already (tape()).
      bytes = this.tapeBytes;
      base = this.tapeShift;
      hash = this.typeHash;
    } else {
      bytes = this.bytesOf(start, end);
      if (!readTag(bytes, spans)) return undefined;
    }
    this.tapeBytes = null;
    let values: [number, number, string][] | null = null;
    let startMs = Number.NaN;
    for (let k = 1; k < READ.length; k++) {
      const a = spans[2 * k]!;
      if (a < 0) continue;
      const b = spans[2 * k + 1]!;
      // Only a value shaped like a compact date (digits first, 15–21 bytes) is read as text.
      const rewritten = isCompactDate(bytes, a, b) ? backendDate(bytes.toString('latin1', a, b)) : null;
      if (rewritten !== null) (values ??= []).push([base + a, base + b, rewritten]);
      if (k === 1) {
        if (rewritten === null) startMs = strptimeDate(bytes, a, b);
        else {
          const r = Buffer.from(rewritten, 'latin1');
          startMs = strptimeDate(r, 0, r.length);
        }
      }
    }
    if (!Number.isNaN(startMs) && spans[2 * A_TYPE]! >= 0) {
      const { name: type, mapped } = this.typeOf(bytes, spans[2 * A_TYPE]!, spans[2 * A_TYPE + 1]!, hash);
      if (mapped) {
        if (isKnown(this.inputs.known, type, startMs)) {
          this.stats.alreadyImported.records++;
          return { drop: true };
        }
        noteRange(this.stats.sent.ranges, type, startMs);
      }
    }
    if (values === null) return null;
    this.stats.datesRewritten++;
    // In the tag's order (Apple writes creationDate before startDate).
    return { drop: false, values: values.sort((x, y) => x[0] - y[0]) };
  }

  /**
   * A top-level element's tape, just before top() is called for it (a tape scan, TAPE_FIELDS): for a
   * Record, where the values the decision reads lie, so that recordEdit need not read the tag again.
   * A value holding a reference leaves the Record to readTag (and so to the full decode).
   */
  tape(el: TapeElement): void {
    this.tapeBytes = null;
    this.typeHash = null;
    if (el.name !== 'Record') return;
    const ints = el.ints;
    const spans = this.spans;
    spans.fill(-1);
    const n = ints[el.at + T_HEAD]! >>> 8;
    for (let a = el.at + ENTRY_INTS, k = 0; k < n; k++, a += ENTRY_INTS) {
      const flags = ints[a + A_FLAGS]!;
      const id = (flags >>> FIELD_SHIFT) - 1;
      if (id < 0) continue;
      if (flags & VALUE_HAS_REFERENCE) return;
      if (id === A_TYPE) this.typeHash = ints[a + A_HASH_LO]!;
      spans[2 * id] = el.valueBase + ints[a + A_VALUE_AT]!;
      spans[2 * id + 1] = el.valueBase + ints[a + A_VALUE_END]!;
    }
    this.taped = el.startOffset();
    this.tapeBytes = el.bytes;
    // An index into el.bytes plus this is an offset in the export.
    this.tapeShift = el.offsetBase - el.valueBase;
  }

  /**
   * A type's name and whether the backend maps it: by the hash of its bytes when the tape has one (every
   * type seen is remembered), else by the last type seen (exports repeat one type in runs).
   */
  private typeOf(bytes: Buffer, a: number, b: number, hash: number | null): TypeSeen {
    if (hash === null) {
      const name = this.typeName(bytes, a, b);
      return { bytes: this.lastType, name, mapped: kindOf(name) !== KIND_UNMAPPED };
    }
    const seen = this.types.get(hash);
    if (seen !== undefined && seen.bytes.length === b - a && sameBytes(seen.bytes, bytes, a)) return seen;
    const name = bytes.toString('utf8', a, b);
    const fresh = { bytes: Buffer.from(bytes.subarray(a, b)), name, mapped: kindOf(name) !== KIND_UNMAPPED };
    // A hash two types share keeps the later one; the bytes are compared every time.
    if (this.types.size < MAX_TYPES_SEEN) this.types.set(hash, fresh);
    return fresh;
  }

  private typeName(bytes: Buffer, a: number, b: number): string {
    const last = this.lastType;
    if (last.length === b - a && sameBytes(last, bytes, a)) return this.lastTypeName;
    this.lastType = Buffer.from(bytes.subarray(a, b));
    this.lastTypeName = bytes.toString('utf8', a, b);
    return this.lastTypeName;
  }

  /** The element [start, end) decoded by the full reader, with its offsets in the export; null if it cannot be. */
  private decode(start: number, end: number): TopLevelElement | null {
    let found: TopLevelElement | null = null;
    const scanner = new ExportScanner({
      onElement: (el) => {
        found ??= el;
      },
    });
    scanner.write(ROOT_OPEN);
    scanner.write(this.bytesOf(start, end));
    scanner.write(ROOT_CLOSE);
    scanner.end();
    if (found === null) return null;
    const el = found as TopLevelElement;
    const shift = start - ROOT_OPEN.length;
    // Lines are counted in the element alone: none is named rather than a wrong one.
    return {
      ...el,
      startOffset: el.startOffset + shift,
      endOffset: el.endOffset + shift,
      line: 0,
      column: 0,
    };
  }

  private apply(start: number, end: number, edit: Edit | null): void {
    this.raw(this.emitted, start);
    if (edit === null) this.raw(start, end);
    else if (!edit.drop) {
      let at = start;
      for (const [a, b, text] of edit.values) {
        this.raw(at, a);
        this.literal(text);
        at = b;
      }
      this.raw(at, end);
    }
    this.emitted = end;
  }

  /** A top-level element, in file order, once the scanner has read all of it. */
  element(el: TopLevelElement): void {
    this.apply(el.startOffset, el.endOffset, this.decide(el));
  }

  /** Where the first chunk the pass still holds starts: the bytes of earlier chunks may be reused. */
  heldFrom(): number {
    return this.starts[0] ?? this.total;
  }

  /** Everything up to `upTo` not handed on yet goes as it is; returns what is ready. */
  drain(upTo: number): Buffer[] {
    if (upTo > this.emitted) {
      this.raw(this.emitted, upTo);
      this.emitted = upTo;
    }
    let n = 0;
    while (n < this.chunks.length && this.starts[n]! + this.chunks[n]!.length <= this.emitted) n++;
    if (n > 0) {
      this.chunks.splice(0, n);
      this.starts.splice(0, n);
    }
    this.endRun();
    return this.out.splice(0);
  }

  /** Bytes [from, to) of the source as they are, less the DOCTYPE. */
  private raw(from: number, to: number): void {
    const d = this.doctype;
    if (d !== null && d.start < to && d.end > from) {
      this.raw(from, d.start);
      this.raw(d.end, to);
      return;
    }
    for (let k = 0; k < this.chunks.length && from < to; k++) {
      const s = this.starts[k]!;
      const c = this.chunks[k]!;
      if (s + c.length <= from) continue;
      const a = from - s;
      const b = Math.min(to - s, c.length);
      this.stats.bytes += b - a;
      if (!this.countOnly) {
        // Runs of one chunk go on as one piece: most of an export is kept as it is.
        if (this.run === c && this.runTo === a) this.runTo = b;
        else {
          this.endRun();
          this.run = c;
          this.runFrom = a;
          this.runTo = b;
        }
      }
      from = s + b;
    }
  }

  private endRun(): void {
    if (this.run !== null && this.runTo > this.runFrom)
      this.out.push(this.run.subarray(this.runFrom, this.runTo));
    this.run = null;
  }

  private literal(text: string): void {
    const b = Buffer.from(text, 'utf8');
    this.stats.bytes += b.length;
    if (this.countOnly) return;
    this.endRun();
    this.out.push(b);
  }

  /** null: the element goes as it is. */
  private decide(el: TopLevelElement): Edit | null {
    if (el.name !== 'Record' && el.name !== 'Workout') return null;
    const kind = el.name === 'Workout' ? 'workout' : 'record';
    const type = kind === 'workout' ? WORKOUT_TYPE : (el.attrs.type ?? '');
    const v = this.judge.judge(el, kind, type);
    const stats = this.stats;
    if (v.outcome === IMPORT_WORKOUT && v.workout !== null) {
      const admission = this.keys.admit(v.workout);
      if (admission === 'already-imported') {
        stats.alreadyImported.workouts++;
        return { drop: true };
      }
      if (admission === 'workout-collision') {
        stats.collisions++;
        if (stats.collisionExamples.length < this.keys.collisions.length)
          stats.collisionExamples.push(this.keys.collisions[stats.collisionExamples.length]!);
        return { drop: true };
      }
      stats.sent.workouts.push(v.workout.key);
      noteRange(stats.sent.ranges, WORKOUT_TYPE, v.startMs);
    } else if (v.outcome === IMPORT_RECORD || v.outcome === IMPORT_SLEEP) {
      if (isKnown(this.inputs.known, type, v.startMs)) {
        stats.alreadyImported.records++;
        return { drop: true };
      }
      noteRange(stats.sent.ranges, type, v.startMs);
    }
    if (!v.rewritten) return null;
    const values = this.dateSpans(el, v.attrs);
    if (values.length === 0) return null;
    stats.datesRewritten++;
    return { drop: false, values };
  }

  /**
   * Where the start tag holds the rewritten dates' values: [start, end) of each value between its
   * quotes, with the text that replaces it. A compact date has no reference to decode, so its bytes
   * are its text.
   */
  private dateSpans(
    el: TopLevelElement,
    attrs: Readonly<Record<string, string>>,
  ): [number, number, string][] {
    const spans: [number, number, string][] = [];
    const tag = this.tagBytes(el.startOffset, el.endOffset);
    for (const name of DATE_NAMES) {
      const before = el.attrs[name];
      const after = attrs[name];
      if (before === undefined || after === undefined || before === after) continue;
      const at = findAttr(tag.bytes, name, before);
      if (at < 0) continue;
      spans.push([tag.base + at, tag.base + at + before.length, after]);
    }
    return spans.sort((a, b) => a[0] - b[0]);
  }

  /** The element's start tag, as bytes, and the absolute offset of its first byte. */
  private tagBytes(start: number, end: number): { bytes: Buffer; base: number } {
    const bytes = this.bytesOf(start, end);
    // The start tag ends at the first '>' outside quotes.
    let quote = 0;
    let tagEnd = bytes.length;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (quote !== 0) {
        if (c === quote) quote = 0;
      } else if (c === QUOTE || c === APOS) quote = c;
      else if (c === 0x3e) {
        tagEnd = i + 1;
        break;
      }
    }
    return { bytes: bytes.subarray(0, tagEnd), base: start };
  }

  /** Source bytes [start, end), which the window holds (a copy only when they span chunks). */
  private bytesOf(start: number, end: number): Buffer {
    const parts: Buffer[] = [];
    let from = start;
    for (let k = 0; k < this.chunks.length && from < end; k++) {
      const s = this.starts[k]!;
      const c = this.chunks[k]!;
      if (s + c.length <= from) continue;
      const b = Math.min(end - s, c.length);
      parts.push(c.subarray(from - s, b));
      from = s + b;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

const DATE_NAMES = ['startDate', 'endDate', 'creationDate'];
const ROOT_OPEN = Buffer.from('<HealthData>');
const ROOT_CLOSE = Buffer.from('</HealthData>');

/** The attributes a Record's decision reads, by index in `spans`: type, startDate, endDate, creationDate. */
const READ_NAMES = ['type', ...DATE_NAMES];
const READ = READ_NAMES.map((n) => Buffer.from(n, 'latin1'));
/** A tape scan finds READ's attributes, with their ids as their index in `spans`, and hashes the type's value. */
export const TAPE_FIELDS: TapeFields = { names: READ_NAMES, hashed: 1, device: 0 };
/** Types remembered by their hash; an export has a few dozen, a hostile one is not let grow this. */
const MAX_TYPES_SEEN = 4096;

interface TypeSeen {
  bytes: Buffer;
  name: string;
  mapped: boolean;
}
const A_TYPE = 0;

function isName(tag: Buffer, a: number, b: number, name: Buffer): boolean {
  if (b - a !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (tag[a + i] !== name[i]) return false;
  return true;
}

/**
 * Reads a start tag (`<Name a="v" …>` or `/>`) in tag[0, n): per READ attribute, [start, end) of its
 * value in spans (-1 when absent); returns false when one of those values holds a reference, or the tag
 * cannot be read this simply (the element is then decoded whole). Other values (a device's
 * `&lt;…&gt;`) are only skipped.
 */
function readTag(tag: Buffer, spans: Int32Array): boolean {
  spans.fill(-1);
  const n = tag.length;
  let i = 1;
  while (i < n && !isSpace(tag[i]!) && tag[i] !== 0x3e && tag[i] !== 0x2f) i++;
  for (;;) {
    while (i < n && isSpace(tag[i]!)) i++;
    if (i >= n) return false;
    if (tag[i] === 0x3e || tag[i] === 0x2f) return true;
    const nameStart = i;
    while (i < n && tag[i] !== 0x3d && !isSpace(tag[i]!)) i++;
    const nameEnd = i;
    while (i < n && isSpace(tag[i]!)) i++;
    if (tag[i] !== 0x3d) return false;
    i++;
    while (i < n && isSpace(tag[i]!)) i++;
    const q = tag[i];
    if (q !== QUOTE && q !== APOS) return false;
    const a = ++i;
    let ref = false;
    while (i < n && tag[i] !== q) {
      if (tag[i] === 0x26) ref = true;
      i++;
    }
    if (i >= n) return false;
    for (let k = 0; k < READ.length; k++) {
      if (!isName(tag, nameStart, nameEnd, READ[k]!)) continue;
      if (ref) return false;
      spans[2 * k] = a;
      spans[2 * k + 1] = i;
    }
    i++;
  }
}

/** Offset in `tag` of the value of attribute `name` when it is exactly `value`; -1 otherwise. */
function findAttr(tag: Buffer, name: string, value: string): number {
  for (const q of ['"', "'"]) {
    for (const eq of ['=', ' = ', '= ', ' =']) {
      const needle = `${name}${eq}${q}${value}${q}`;
      let at = tag.indexOf(needle, 0, 'latin1');
      while (at > 0 && !isSpace(tag[at - 1]!)) at = tag.indexOf(needle, at + 1, 'latin1');
      if (at > 0) return at + name.length + eq.length + 1;
    }
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** The filter over the source's chunks: the document's bytes (DOCTYPE dropped, illegal characters not yet). */
async function* filtered(
  chunks: AsyncIterable<Buffer>,
  pass: FilterPass,
  onDone?: (stats: FilterStats) => void,
  /** The pass checks the export too: it stops at the first unrepairable defect and hands over the scan. */
  onScanned?: (scan: ScanResult) => void,
): AsyncGenerator<Buffer> {
  let broken = false;
  // Element spans and Records' attribute values from the compiled fast path (a tape scan); only
  // Workouts (and the odd Record) are decoded whole.
  const scanner = createScanner(
    {
      onTape: (el) => pass.tape(el),
      onTopLevel: (name, start, end) => pass.top(name, start, end),
      ...(onScanned
        ? {
            onDefect: (d: { repairable: boolean }) => {
              if (!d.repairable) broken = true;
            },
          }
        : {}),
    },
    {},
    undefined,
    { checkOnly: true, tape: true, tapeFields: TAPE_FIELDS },
  );
  let read = 0;
  for await (const chunk of chunks) {
    pass.push(chunk);
    scanner.write(chunk);
    read += chunk.length;
    if (broken) break;
    yield* pass.drain(0);
  }
  if (broken) {
    onScanned?.(scanner.result());
    return;
  }
  scanner.end();
  onScanned?.(scanner.result());
  yield* pass.drain(read);
  onDone?.(pass.stats);
}

/**
 * The first pass: what the filtered document would be (its size, what it changes, what the ledger
 * records), without keeping any of it, and the check of the whole export in the same read (the scan,
 * which the caller refuses an unrepairable export by; the stats of a broken one are partial).
 */
export async function measureFiltered(
  source: ExportSource,
  repair: RepairPlan,
  inputs: FilterInputs,
  opts: { signal?: AbortSignal; onProgress?(bytes: number): void } = {},
): Promise<{ stats: FilterStats; scan: ScanResult }> {
  const pass = new FilterPass(inputs, repair.doctype, true);
  let read = 0;
  let scan: ScanResult | undefined;
  async function* tapped(): AsyncGenerator<Buffer> {
    for await (const chunk of source.open(opts.signal ? { signal: opts.signal } : {})) {
      read += chunk.length;
      opts.onProgress?.(read);
      yield chunk;
    }
  }
  for await (const _ of filtered(tapped(), pass, undefined, (s) => {
    scan = s;
  })) {
    // Only the count matters here.
  }
  if (scan === undefined) throw new Error('the filter pass ended without a scan');
  return { stats: pass.stats, scan };
}

/**
 * The repaired bytes to send: through the filter when the plan has one (the second pass, which must
 * come to the size the first measured), else the plain padded repair (repair.ts). The one place the
 * S3 method's document is made.
 */
export function repairedStream(
  chunks: AsyncIterable<Buffer>,
  repair: FilteredRepair,
  opts: { cleanBefore?: () => number } = {},
): AsyncGenerator<Buffer> {
  const filter = repair.filter;
  if (!filter) return repairBytes(chunks, repair, 0, { padDropped: true, ...opts });
  const pass = new FilterPass(filter.inputs, repair.doctype);
  return repairBytes(
    filtered(chunks, pass, (stats) => {
      if (stats.bytes !== filter.stats.bytes) throw new FilterMismatch(filter.stats.bytes, stats.bytes);
    }),
    { doctype: null },
    0,
    { padDropped: true },
  );
}

/** The second pass came to another size than the first: the export changed in between. */
export class FilterMismatch extends AppError {
  constructor(planned: number, actual: number) {
    super(
      'INPUT_CHANGED',
      `The export changed while it was being uploaded: the document to send came to ${actual} bytes, not the ${planned} measured before.`,
      { hint: 'Nothing was stored. Upload again once the file is complete and no longer being written.' },
    );
  }
}

/**
 * The first pass for an upload of the whole document: the filter when it changes something, else null
 * (the plain repaired stream is then the same document).
 */
export async function planFilter(
  source: ExportSource,
  repair: RepairPlan,
  inputs: FilterInputs,
  opts: { signal?: AbortSignal; onProgress?(bytes: number): void } = {},
): Promise<{ filter: ExportFilterPlan | null; stats: FilterStats; scan: ScanResult }> {
  const { stats, scan } = await measureFiltered(source, repair, inputs, opts);
  return { filter: filterChanges(stats) ? { inputs, stats } : null, stats, scan };
}

/** A single-part plan whose document goes through `filter`: its size is the filter's. */
export function withFilter<
  P extends { repair: RepairPlan; repairedBytes: number; streamed: boolean; parts: { bytes: number }[] },
>(plan: P, filter: ExportFilterPlan | null, sourceName: string): P {
  if (filter === null) return plan;
  if (!plan.streamed || plan.parts.length !== 1) {
    const s = filter.stats;
    throw new AppError(
      'INPUT_INVALID',
      `${sourceName} needs repairs the backend's import depends on (${describeFilter(s)}), and it is too large for one upload: the s3 method cannot send such a document in parts yet.`,
      { hint: 'use --method direct, which makes the same repairs in batches' },
    );
  }
  const repair: FilteredRepair = { ...plan.repair, filter };
  return {
    ...plan,
    repair,
    repairedBytes: filter.stats.bytes,
    parts: [{ ...plan.parts[0]!, bytes: filter.stats.bytes }],
  };
}

/** "12 compact dates rewritten, 1 colliding workout left out, 300 records the server has left out". */
export function describeFilter(s: FilterStats): string {
  const parts: string[] = [];
  if (s.datesRewritten) parts.push(`${count(s.datesRewritten, 'element')} with compact dates rewritten`);
  if (s.collisions) parts.push(`${count(s.collisions, 'colliding workout')} left out`);
  const a = s.alreadyImported;
  if (a.records || a.workouts)
    parts.push(
      `${count(a.records, 'record')} and ${count(a.workouts, 'workout')} the server already has left out`,
    );
  return parts.join(', ');
}
