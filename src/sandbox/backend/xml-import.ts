import { SaxesParser } from 'saxes';
import { MAPPED_RECORD_TYPES, SLEEP_STAGES, SLEEP_TYPE } from './mapped-types.js';
import type { ImportedRecord, ImportedSleep, ImportedWorkout } from './state.js';
import { checkDoctype, XmlParseError } from './xml-check.js';

/** Contract §5.8: `XML_CHUNK_SIZE`; each chunk is committed before the next is parsed. */
export const XML_CHUNK_SIZE = 50_000;

export interface ParsedChunk {
  records: { record: ImportedRecord; recordedAtMs: number }[];
  workouts: ImportedWorkout[];
  sleep: ImportedSleep[];
}

// Contract §5.3: dates are parsed with the exact format `%Y-%m-%d %H:%M:%S %z`.
const STRICT_DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) (Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)$/;
// Contract §5.5: sleep dates go through `datetime.fromisoformat`, which also takes a `T` separator.
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)? ?(Z|[+-]\d{2}:?\d{2}(?::?\d{2})?)?$/;
const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(nan|snan|inf|infinity)\s*$/i;

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
  if (check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h)) return null;
  return ms - offsetMin * 60_000;
}

/** Contract §5.7: the `device` attribute split on ", " into key:value pairs. */
function parseDevice(device: string | undefined): { model: string | null; software: string | null } {
  if (!device) return { model: null, software: null };
  const fields = new Map<string, string>();
  for (const piece of device.replace(/>\s*$/, '').split(', ')) {
    const colon = piece.indexOf(':');
    if (colon > 0) fields.set(piece.slice(0, colon).trim(), piece.slice(colon + 1).trim());
  }
  return { model: fields.get('model') ?? null, software: fields.get('software') ?? null };
}

interface OpenWorkout {
  attrs: Record<string, string>;
  depth: number;
  stats: Record<string, string>[];
}

function buildWorkout(w: OpenWorkout): ImportedWorkout | null {
  const { attrs } = w;
  const start = epochMs(attrs.startDate, STRICT_DATE);
  const end = epochMs(attrs.endDate, STRICT_DATE);
  // A missing sourceName fails that workout only; the task logs it as skipped (contract §5.6).
  if (start === null || end === null || !attrs.sourceName || !attrs.workoutActivityType) return null;
  const device = parseDevice(attrs.device);
  const workout: ImportedWorkout = {
    activityType: attrs.workoutActivityType,
    sourceName: attrs.sourceName,
    start: attrs.startDate as string,
    end: attrs.endDate as string,
    durationSeconds: (end - start) / 1000,
    deviceModel: device.model,
    softwareVersion: device.software,
    heartRateMin: null,
    heartRateMax: null,
    heartRateAvg: null,
    energyBurned: 0,
  };
  for (const stat of w.stats) {
    const type = (stat.type ?? '').toLowerCase();
    if (type.includes('heart')) {
      if (stat.minimum !== undefined) workout.heartRateMin = Math.trunc(Number(stat.minimum));
      if (stat.maximum !== undefined) workout.heartRateMax = Math.trunc(Number(stat.maximum));
      if (stat.average !== undefined) workout.heartRateAvg = stat.average;
    }
    if (type.includes('energyburned') && stat.sum !== undefined) workout.energyBurned += Number(stat.sum);
  }
  return workout;
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

/**
 * Parses an export the way the backend's `XMLService` does (contract §5.1–5.6): only `Record` (mapped types and
 * sleep) and `Workout`, handed over in chunks of `XML_CHUNK_SIZE` items. Throws `XmlParseError` wherever
 * Python's `ElementTree.iterparse` would, after the chunks before the error were handed over.
 * Returns the number of items parsed.
 */
export function parseExport(bytes: Buffer, onChunk: (chunk: ParsedChunk) => void): number {
  const text = bytes.toString('utf8');
  const badUtf8 = text.indexOf('\ufffd');
  checkDoctype(badUtf8 >= 0 ? text.slice(0, badUtf8) : text);

  const parser = new SaxesParser({ position: true });
  let failure = null as XmlParseError | null;
  let chunk: ParsedChunk = { records: [], workouts: [], sleep: [] };
  let inChunk = 0;
  let items = 0;
  let depth = 0;
  const workouts: OpenWorkout[] = [];

  const count = () => {
    items++;
    if (++inChunk >= XML_CHUNK_SIZE) {
      onChunk(chunk);
      chunk = { records: [], workouts: [], sleep: [] };
      inChunk = 0;
    }
  };

  parser.on('error', (err) => {
    failure ??= saxesToExpat(err.message, parser.line, parser.column);
  });
  parser.on('opentag', (tag) => {
    depth++;
    if (failure) return;
    const attrs = tag.attributes as Record<string, string>;
    if (tag.name === 'Workout') workouts.push({ attrs, depth, stats: [] });
    const open = workouts.at(-1);
    if (tag.name === 'WorkoutStatistics' && open && open.depth === depth - 1) open.stats.push(attrs);
  });
  parser.on('closetag', (tag) => {
    depth--;
    if (failure) return;
    const attrs = tag.attributes as Record<string, string>;
    if (tag.name === 'Record') {
      const type = attrs.type ?? '';
      if (type === SLEEP_TYPE) {
        const stage = SLEEP_STAGES.get(attrs.value ?? '');
        const start = epochMs(attrs.startDate, ISO_DATE);
        const end = epochMs(attrs.endDate, ISO_DATE);
        if (!stage || start === null || end === null) return;
        chunk.sleep.push({
          stage,
          start: attrs.startDate as string,
          end: attrs.endDate as string,
          sourceName: attrs.sourceName ?? null,
        });
        count();
        return;
      }
      const seriesType = MAPPED_RECORD_TYPES.get(type);
      if (!seriesType) return;
      const recordedAtMs = epochMs(attrs.startDate, STRICT_DATE);
      if (recordedAtMs === null || !DECIMAL.test(attrs.value ?? '')) return;
      const device = parseDevice(attrs.device);
      chunk.records.push({
        record: {
          type,
          seriesType,
          value: (attrs.value as string).trim(),
          recordedAt: attrs.startDate as string,
          deviceModel: device.model,
          softwareVersion: device.software,
        },
        recordedAtMs,
      });
      count();
    } else if (tag.name === 'Workout') {
      const open = workouts.pop();
      const workout = open && buildWorkout(open);
      if (workout) {
        chunk.workouts.push(workout);
        count();
      }
    }
  });

  // Feed in slices so a failure stops the work early, as iterparse does.
  const SLICE = 64 * 1024;
  const limit = badUtf8 >= 0 ? badUtf8 : text.length;
  for (let i = 0; i < limit && !failure; i += SLICE) parser.write(text.slice(i, Math.min(limit, i + SLICE)));
  if (!failure && badUtf8 >= 0) {
    failure = new XmlParseError('not well-formed (invalid token)', parser.line, parser.column);
  }
  if (!failure) parser.close();
  if (failure) throw failure;
  if (inChunk > 0) onChunk(chunk);
  return items;
}
