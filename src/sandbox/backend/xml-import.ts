// The double's copy of the backend's `XMLService` (contract §5.1–5.7, current page §3): which elements of an
// export become time-series points, workouts and sleep samples, and where Python's ElementTree would stop.
// Written from the backend's behaviour, not from the product's reader, on purpose: tests compare what the CLI
// predicts with what this importer does. It reads incrementally (ExportParser.write), as the current backend
// streams an S3 object into its parser, so an export of any size passes through in bounded memory.
import { SaxesParser } from 'saxes';
import { add, type Dec, parseDecimal, toText } from './decimal.js';
import { MAPPED_RECORD_TYPES, SERIES_UNITS, SLEEP_STAGES, SLEEP_TYPE } from './mapped-types.js';
import type { ImportedRecord, ImportedSleep, ImportedWorkout } from './state.js';
import { unifiedXmlWorkoutType } from './workout-types.js';
import { checkDoctype, XmlParseError } from './xml-check.js';

/** Contract §5.8: `XML_CHUNK_SIZE`; each chunk is committed before the next is parsed. */
export const XML_CHUNK_SIZE = 50_000;

/** A workout as parsed; the task gives it its row id when it inserts it. */
export type ParsedWorkout = Omit<ImportedWorkout, 'id'>;

export interface ParsedChunk {
  records: ImportedRecord[];
  workouts: ParsedWorkout[];
  sleep: ImportedSleep[];
}

/** On the XML path every row's data source is `apple_health_xml` with provider `apple` (contract §5.3, §5.7). */
const XML_SOURCE = 'apple_health_xml';

// Contract §5.3: `datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z")`. %z takes Z, ±HHMM or ±HH:MM (seconds too).
const STRICT_DATE =
  /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2}) (Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)$/;
// Contract §5.5: sleep dates go through `datetime.fromisoformat`, which also takes a `T` separator.
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)? ?(Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)?$/;

function epochMs(value: string | undefined, pattern: RegExp): number | null {
  const m = value === undefined ? null : pattern.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, zone] = m;
  let offsetMin = 0;
  if (zone && zone !== 'Z') {
    const digits = zone.replaceAll(':', '');
    const sign = digits.startsWith('-') ? -1 : 1;
    offsetMin = sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  }
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(ms);
  if (
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCHours() !== Number(h) ||
    check.getUTCMinutes() !== Number(mi)
  )
    return null;
  return ms - offsetMin * 60_000;
}

/**
 * `_parse_date_fields`: every date attribute present (startDate, endDate, creationDate) must parse, or the
 * whole element is skipped as `invalid_date` — so an old compact date like `20141018163200+0100` in any of
 * them drops the Record.
 */
function strictDates(attrs: Record<string, string>): { start: number | null; end: number | null } | null {
  const out = { start: null as number | null, end: null as number | null };
  for (const field of ['startDate', 'endDate', 'creationDate'] as const) {
    const value = attrs[field];
    if (value === undefined) continue;
    const ms = epochMs(value, STRICT_DATE);
    if (ms === null) return null;
    if (field === 'startDate') out.start = ms;
    if (field === 'endDate') out.end = ms;
  }
  return out;
}

/** Python's `Decimal(text)`: finite numbers (underscores between digits allowed), or NaN; null when invalid. */
function pythonDecimal(raw: string | undefined): { dec: Dec | null; text: string } | null {
  if (raw === undefined || raw.trim() === '') return null;
  const text = raw.trim();
  if (/^[+-]?(nan|snan)$/i.test(text)) return { dec: null, text: 'NaN' };
  if (/^[+-]?(inf|infinity)$/i.test(text))
    return { dec: null, text: text.startsWith('-') ? '-Infinity' : 'Infinity' };
  if (!/^[+-]?(\d(_?\d)*)?(\.(\d(_?\d)*)?)?([eE][+-]?\d(_?\d)*)?$/.test(text)) return null;
  const dec = parseDecimal(text.replaceAll('_', ''));
  return dec ? { dec, text } : null;
}

/** Contract §5.7: the `device` attribute stripped of `<>`, split on ", " into key:value pairs. */
function parseDevice(device: string | undefined): {
  model: string | null;
  software: string | null;
  name: string | null;
} {
  if (!device) return { model: null, software: null, name: null };
  const fields = new Map<string, string>();
  for (const piece of device.replace(/^[<>]+|[<>]+$/g, '').split(', ')) {
    const colon = piece.indexOf(':');
    if (colon >= 0) fields.set(piece.slice(0, colon).trim(), piece.slice(colon + 1).trim());
  }
  return {
    model: fields.get('model') ?? null,
    software: fields.get('software') ?? null,
    name: fields.get('name') ?? null,
  };
}

interface OpenWorkout {
  attrs: Record<string, string>;
  depth: number;
  stats: Record<string, string>[];
}

function buildWorkout(w: OpenWorkout): ParsedWorkout | null {
  const { attrs } = w;
  // `_create_workout` pops workoutActivityType and reads sourceName: a missing one skips the workout.
  if (attrs.workoutActivityType === undefined || attrs.sourceName === undefined) return null;
  const dates = strictDates(attrs);
  // Workouts need both dates for their duration.
  if (!dates || dates.start === null || dates.end === null) return null;
  const device = parseDevice(attrs.device);
  let heartRateMin: number | null = null;
  let heartRateMax: number | null = null;
  let heartRateAvg: string | null = null;
  let energy: Dec = { mantissa: 0n, scale: 0 };
  for (const stat of w.stats) {
    const type = (stat.type ?? '').toLowerCase();
    if (type === '') continue;
    const min = pythonDecimal(stat.minimum);
    const max = pythonDecimal(stat.maximum);
    const avg = pythonDecimal(stat.average);
    if (type.includes('heart')) {
      if (min?.dec) heartRateMin = Math.trunc(Number(toText(min.dec)));
      if (max?.dec) heartRateMax = Math.trunc(Number(toText(max.dec)));
      if (avg) heartRateAvg = avg.text;
    }
    if (type.includes('energyburned')) {
      const sum = pythonDecimal(stat.sum);
      if (sum?.dec) energy = add(energy, sum.dec);
    }
  }
  return {
    activityType: attrs.workoutActivityType,
    type: unifiedXmlWorkoutType(attrs.workoutActivityType),
    sourceName: attrs.sourceName,
    start: attrs.startDate as string,
    end: attrs.endDate as string,
    startMs: dates.start,
    endMs: dates.end,
    durationSeconds: Math.trunc((dates.end - dates.start) / 1000),
    provider: 'apple',
    source: XML_SOURCE,
    deviceModel: device.model,
    softwareVersion: device.software,
    externalId: null,
    zoneOffset: null,
    heartRateMin,
    heartRateMax,
    heartRateAvg,
    energyBurned: Number(toText(energy)),
    details: {},
    path: 'xml',
  };
}

function saxesToExpat(message: string, line: number, column: number): XmlParseError {
  // saxes reports the column just past the offending character; expat reports the character itself.
  const reason = message.replace(/^\d+:\d+: /, '');
  if (reason.startsWith('disallowed character'))
    return new XmlParseError('not well-formed (invalid token)', line, column - 1);
  if (reason.startsWith('unclosed tag')) return new XmlParseError('no element found', line, column);
  // expat points at the close tag's name; saxes is past its `>`. Exact for one-character names only.
  if (reason.startsWith('unexpected close tag'))
    return new XmlParseError('mismatched tag', line, Math.max(0, column - 2));
  if (reason.startsWith('duplicate attribute'))
    return new XmlParseError('duplicate attribute', line, column - 1);
  if (reason.startsWith('undefined entity')) return new XmlParseError('undefined entity', line, column - 1);
  if (/only one root|outside of root/.test(reason)) {
    return new XmlParseError('junk after document element', line, column - 1);
  }
  if (/document must contain a root element/.test(reason))
    return new XmlParseError('no element found', line, column);
  return new XmlParseError('not well-formed (invalid token)', line, Math.max(0, column - 1));
}

type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be';

/**
 * The encoding expat detects from the first bytes (XML 1.0 appendix F): a UTF-16 byte-order mark or
 * `<?` in UTF-16, else UTF-8 (a UTF-8 BOM is skipped).
 */
function detectEncoding(head: Buffer): Encoding {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  if (head[0] === 0x3c && head[1] === 0x00 && head[2] === 0x3f && head[3] === 0x00) return 'utf-16le';
  if (head[0] === 0x00 && head[1] === 0x3c && head[2] === 0x00 && head[3] === 0x3f) return 'utf-16be';
  return 'utf-8';
}

/** How many bytes at the end of `buf` start a character that continues in the next chunk. */
function incompleteTail(buf: Buffer, encoding: Encoding): number {
  if (encoding !== 'utf-8') {
    let keep = buf.length % 2;
    const end = buf.length - keep;
    if (end >= 2) {
      const unit = encoding === 'utf-16le' ? buf.readUInt16LE(end - 2) : buf.readUInt16BE(end - 2);
      if (unit >= 0xd800 && unit <= 0xdbff) keep += 2;
    }
    return keep;
  }
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const byte = buf[buf.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** The longest prefix of `buf` that decodes without error, in bytes (only called once decoding failed). */
function validPrefix(buf: Buffer, encoding: Encoding): number {
  let lo = 0;
  let hi = buf.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(buf.subarray(0, mid));
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

/** Where a prolog is long enough to stop waiting for the root element before checking the DOCTYPE. */
const MAX_PROLOG_CHARS = 16 * 1024 * 1024;

/**
 * Parses an export the way the backend's `XMLService` does: only `Record` (mapped types and sleep) and
 * `Workout`, handed over in chunks of up to `XML_CHUNK_SIZE` items, a chunk being cut when the next item's
 * element ends (as the backend's generator yields). write() throws `XmlParseError` wherever Python's
 * `ElementTree.iterparse` would stop, after the chunks before the error were handed over.
 */
export class ExportParser {
  private readonly parser = new SaxesParser({ position: true });
  private failure: XmlParseError | null = null;
  private chunk: ParsedChunk = { records: [], workouts: [], sleep: [] };
  private items = 0;
  private depth = 0;
  private readonly workouts: OpenWorkout[] = [];
  private encoding: Encoding | null = null;
  private head: Buffer = Buffer.alloc(0);
  private carry: Buffer = Buffer.alloc(0);
  /** Decoded text held until the root element starts, so the DOCTYPE can be checked first. */
  private prolog: string | null = '';

  constructor(private readonly onChunk: (chunk: ParsedChunk) => void) {
    this.parser.on('error', (err) => {
      this.failure ??= saxesToExpat(err.message, this.parser.line, this.parser.column);
    });
    this.parser.on('opentag', (tag) => {
      this.depth++;
      if (this.failure) return;
      const attrs = tag.attributes as Record<string, string>;
      if (tag.name === 'Workout') this.workouts.push({ attrs, depth: this.depth, stats: [] });
      const open = this.workouts.at(-1);
      if (tag.name === 'WorkoutStatistics' && open && open.depth === this.depth - 1) open.stats.push(attrs);
    });
    this.parser.on('closetag', (tag) => {
      this.depth--;
      if (this.failure) return;
      const attrs = tag.attributes as Record<string, string>;
      if (tag.name === 'Record') this.record(attrs);
      else if (tag.name === 'Workout') this.workout();
    });
  }

  /** Items parsed so far (records, workouts and sleep samples: the task's `items_processed`). */
  get parsed(): number {
    return this.items;
  }

  private size(withSleep: boolean): number {
    return this.chunk.records.length + this.chunk.workouts.length + (withSleep ? this.chunk.sleep.length : 0);
  }

  /** The generator yields a full chunk when the next element ends (a Workout's check leaves sleep out). */
  private flushIfFull(withSleep: boolean): void {
    if (this.size(withSleep) < XML_CHUNK_SIZE) return;
    this.onChunk(this.chunk);
    this.chunk = { records: [], workouts: [], sleep: [] };
  }

  private record(attrs: Record<string, string>): void {
    this.flushIfFull(true);
    const type = attrs.type ?? '';
    if (type === SLEEP_TYPE) {
      const stage = SLEEP_STAGES.get(attrs.value ?? '');
      const start = epochMs(attrs.startDate, ISO_DATE);
      const end = epochMs(attrs.endDate, ISO_DATE);
      if (!stage || start === null || end === null) return;
      const device = parseDevice(attrs.device);
      this.chunk.sleep.push({
        stage,
        start: attrs.startDate as string,
        end: attrs.endDate as string,
        startMs: start,
        endMs: end,
        sourceName: attrs.sourceName ?? null,
        // Sleep goes through the SDK sleep service (contract §5.5), its source named by the device's `name:`.
        provider: 'apple',
        source: device.name,
        deviceModel: device.model,
        path: 'xml',
      });
      this.items++;
      return;
    }
    const seriesType = MAPPED_RECORD_TYPES.get(type);
    if (!seriesType) return;
    const value = pythonDecimal(attrs.value);
    if (!value) return;
    const dates = strictDates(attrs);
    if (!dates || dates.start === null) return;
    const device = parseDevice(attrs.device);
    this.chunk.records.push({
      type,
      seriesType,
      unit: SERIES_UNITS.get(seriesType) ?? '',
      value: value.text,
      // The commit computes what the NUMERIC(10,3) column keeps (and fails on what it cannot).
      stored: '',
      recordedAt: attrs.startDate as string,
      recordedAtMs: dates.start,
      zoneOffset: null,
      externalId: null,
      provider: 'apple',
      source: XML_SOURCE,
      deviceModel: device.model,
      softwareVersion: device.software,
      path: 'xml',
    });
    this.items++;
  }

  private workout(): void {
    this.flushIfFull(false);
    const open = this.workouts.pop();
    const workout = open && buildWorkout(open);
    if (workout) {
      this.chunk.workouts.push(workout);
      this.items++;
    }
  }

  private feed(text: string): void {
    if (this.prolog !== null) {
      this.prolog += text;
      // The root element has started (or the prolog is absurdly long): check the DOCTYPE as expat would.
      if (!/<[\p{L}_:]/u.test(this.prolog) && this.prolog.length < MAX_PROLOG_CHARS) return;
      text = this.prolog;
      this.prolog = null;
      checkDoctype(text);
    }
    // Feed in slices so a failure stops the work early, as iterparse does.
    const SLICE = 64 * 1024;
    for (let i = 0; i < text.length && !this.failure; i += SLICE) this.parser.write(text.slice(i, i + SLICE));
    if (this.failure) throw this.failure;
  }

  private fail(): never {
    this.failure ??= new XmlParseError(
      'not well-formed (invalid token)',
      this.parser.line,
      this.parser.column,
    );
    throw this.failure;
  }

  write(bytes: Buffer): void {
    if (this.failure) throw this.failure;
    if (this.encoding === null) {
      this.head = Buffer.concat([this.head, bytes]);
      if (this.head.length < 4) return;
      this.encoding = detectEncoding(this.head);
      bytes = this.head;
      this.head = Buffer.alloc(0);
      const bom =
        this.encoding === 'utf-8'
          ? bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
            ? 3
            : 0
          : bytes[0] === 0x3c || bytes[1] === 0x3c
            ? 0
            : 2;
      bytes = bytes.subarray(bom);
    }
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    const cut = data.length - incompleteTail(data, this.encoding);
    this.carry = Buffer.from(data.subarray(cut));
    const whole = data.subarray(0, cut);
    let text: string;
    try {
      text = new TextDecoder(this.encoding, { fatal: true, ignoreBOM: true }).decode(whole);
    } catch {
      // Bytes that are not in the encoding: parse up to them, then fail where expat would.
      const good = validPrefix(whole, this.encoding);
      this.feed(new TextDecoder(this.encoding, { ignoreBOM: true }).decode(whole.subarray(0, good)));
      this.fail();
    }
    this.feed(text);
  }

  /** Ends the document; returns the number of items parsed. */
  end(): number {
    if (this.failure) throw this.failure;
    if (this.encoding === null) {
      // Fewer than four bytes in all.
      this.encoding = 'utf-8';
      const head = this.head;
      this.head = Buffer.alloc(0);
      this.write(head);
    }
    if (this.carry.length > 0) this.fail();
    if (this.prolog !== null) {
      const text = this.prolog;
      this.prolog = null;
      checkDoctype(text);
      this.feed(text);
    }
    this.parser.close();
    if (this.failure) throw this.failure;
    if (this.size(true) > 0) this.onChunk(this.chunk);
    return this.items;
  }
}

/** Parses a whole export held in memory (the direct path's bytes); see ExportParser. */
export function parseExport(bytes: Buffer, onChunk: (chunk: ParsedChunk) => void): number {
  const parser = new ExportParser(onChunk);
  parser.write(bytes);
  return parser.end();
}
