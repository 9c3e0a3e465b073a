// The SDK sync payload as the backend's pydantic models validate it (`sync_request.py`, contract §6.2): the
// envelope must hold, each record is checked on its own and dropped (and counted) when it fails
// (`_parse_sync_request`). Only validity and the first error's location and message are modelled, since that
// is all that leaves the backend (dropped_count, and the batch's 400 text for a bad envelope).

export class FieldError extends Error {
  constructor(
    readonly loc: string,
    message: string,
  ) {
    super(message);
  }
}

/** An envelope or a collection that cannot be salvaged: the whole batch fails (`Validation failed: <msg>`). */
export class EnvelopeError extends Error {}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(o: Obj, name: string, opts: { required?: boolean; nullable?: boolean } = {}): string | null {
  const v = o[name];
  if (v === undefined) {
    if (opts.required) throw new FieldError(name, 'Field required');
    return null;
  }
  if (v === null) {
    if (opts.nullable === false) throw new FieldError(name, 'Input should be a valid string');
    return null;
  }
  if (typeof v !== 'string') throw new FieldError(name, 'Input should be a valid string');
  return v;
}

const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt _](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * pydantic's datetime (speedate): `YYYY-MM-DD[T| |_]HH:MM[:SS[.f]][Z|±HH[:MM]]`, a bare date, or a Unix
 * timestamp (seconds, or milliseconds past 2e10) as a number or a string of digits. Naive times count as UTC
 * here (the backend's session time zone). Returns epoch milliseconds.
 */
export function pydanticDatetime(value: unknown, loc: string): number {
  if (value === undefined) throw new FieldError(loc, 'Field required');
  if (typeof value === 'number' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))) {
    const n = Number(value);
    if (!Number.isFinite(n)) throw new FieldError(loc, 'Input should be a valid datetime');
    return Math.abs(n) > 2e10 ? n : n * 1000;
  }
  if (typeof value !== 'string') throw new FieldError(loc, 'Input should be a valid datetime');
  const m = DATETIME.exec(value);
  if (!m) throw new FieldError(loc, 'Input should be a valid datetime or date, invalid character in year');
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Date.UTC(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s),
    Number(frac.padEnd(3, '0').slice(0, 3)),
  );
  const check = new Date(ms);
  if (
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    throw new FieldError(loc, 'Input should be a valid datetime, day value is outside expected range');
  }
  let offset = 0;
  if (zone && zone !== 'Z' && zone !== 'z') {
    const digits = zone.replace(':', '');
    offset =
      (digits.startsWith('-') ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5) || 0));
  }
  return ms - offset * 60_000;
}

/** pydantic Decimal: an int, a float or a numeric string; the decimal text the backend computes with. */
function decimalText(value: unknown, loc: string): string {
  if (value === undefined) throw new FieldError(loc, 'Field required');
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value))
    return value.trim();
  throw new FieldError(loc, 'Decimal input should be an integer, float, string or Decimal object');
}

export interface SourceInfo {
  name: string | null;
  deviceName: string | null;
  appId: string | null;
  bundleIdentifier: string | null;
  deviceModel: string | null;
  productType: string | null;
  operatingSystemVersion: { majorVersion: number; minorVersion: number; patchVersion: number } | null;
}

function intField(o: Obj, name: string, loc: string): number {
  const v = o[name];
  if (v === undefined) throw new FieldError(`${loc}.${name}`, 'Field required');
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new FieldError(`${loc}.${name}`, 'Input should be a valid integer');
  return v;
}

function source(v: unknown): SourceInfo | null {
  if (v === undefined || v === null) return null;
  if (!isObj(v))
    throw new FieldError('source', 'Input should be a valid dictionary or object to extract fields from');
  const s = (name: string) => {
    try {
      return str(v, name);
    } catch (err) {
      throw new FieldError(`source.${name}`, (err as Error).message);
    }
  };
  for (const name of [
    'version',
    'deviceId',
    'deviceManufacturer',
    'deviceHardwareVersion',
    'deviceSoftwareVersion',
  ])
    s(name);
  const os = v.operatingSystemVersion;
  let operatingSystemVersion: SourceInfo['operatingSystemVersion'] = null;
  if (os !== undefined && os !== null) {
    if (!isObj(os))
      throw new FieldError(
        'source.operatingSystemVersion',
        'Input should be a valid dictionary or object to extract fields from',
      );
    operatingSystemVersion = {
      majorVersion: intField(os, 'majorVersion', 'source.operatingSystemVersion'),
      minorVersion: intField(os, 'minorVersion', 'source.operatingSystemVersion'),
      patchVersion: intField(os, 'patchVersion', 'source.operatingSystemVersion'),
    };
  }
  return {
    name: s('name'),
    deviceName: s('deviceName'),
    appId: s('appId'),
    bundleIdentifier: s('bundleIdentifier'),
    deviceModel: s('deviceModel'),
    productType: s('productType'),
    operatingSystemVersion,
  };
}

function optionalList(o: Obj, name: string): void {
  const v = o[name];
  if (v === undefined || v === null) return;
  if (!Array.isArray(v)) throw new FieldError(name, 'Input should be a valid list');
}

function metadata(o: Obj): void {
  const v = o.metadata;
  if (v === undefined || v === null || isObj(v)) return;
  if (!Array.isArray(v) || !v.every(isObj))
    throw new FieldError('metadata', 'Input should be a valid dictionary');
}

interface Common {
  id: string | null;
  startMs: number;
  endMs: number;
  startDate: string;
  endDate: string;
  zoneOffset: string | null;
  source: SourceInfo | null;
}

function common(o: Obj): Common {
  const id = str(o, 'id');
  str(o, 'parentId');
  const startMs = pydanticDatetime(o.startDate, 'startDate');
  const endMs = pydanticDatetime(o.endDate, 'endDate');
  return {
    id,
    startMs,
    endMs,
    startDate: String(o.startDate),
    endDate: String(o.endDate),
    zoneOffset: str(o, 'zoneOffset'),
    source: source(o.source),
  };
}

export interface MetricRecord extends Common {
  type: string | null;
  value: string;
  unit: string | null;
}

export interface SleepRecord extends Common {
  stage: string;
}

export interface WorkoutStatistic {
  type: string;
  unit: string;
  value: number;
}

export interface Workout extends Common {
  type: string | null;
  values: WorkoutStatistic[] | null;
}

function record(o: Obj): MetricRecord {
  const base = common(o);
  const type = str(o, 'type');
  const value = decimalText(o.value, 'value');
  if (!('unit' in o)) throw new FieldError('unit', 'Field required');
  const unit = str(o, 'unit');
  metadata(o);
  return { ...base, type, value, unit };
}

function sleep(o: Obj): SleepRecord {
  const base = common(o);
  const stage = str(o, 'stage', { required: true, nullable: false }) as string;
  optionalList(o, 'values');
  metadata(o);
  return { ...base, stage };
}

function workout(o: Obj): Workout {
  const base = common(o);
  const type = str(o, 'type');
  str(o, 'title');
  str(o, 'notes');
  let values: WorkoutStatistic[] | null = null;
  if (o.values !== undefined && o.values !== null) {
    if (!Array.isArray(o.values)) throw new FieldError('values', 'Input should be a valid list');
    values = o.values.map((v, i) => {
      if (!isObj(v))
        throw new FieldError(
          `values.${i}`,
          'Input should be a valid dictionary or object to extract fields from',
        );
      const statType = str(v, 'type', { required: true, nullable: false }) as string;
      const unit = str(v, 'unit', { required: true, nullable: false }) as string;
      if (v.value === undefined) throw new FieldError(`values.${i}.value`, 'Field required');
      if (typeof v.value !== 'number')
        throw new FieldError(`values.${i}.value`, 'Input should be a valid number');
      return { type: statType, unit, value: v.value };
    });
  }
  for (const name of ['segments', 'laps', 'route', 'samples']) optionalList(o, name);
  metadata(o);
  return { ...base, type, values };
}

export interface SyncRequest {
  provider: string;
  sdkVersion: string;
  syncTimestampMs: number;
  records: MetricRecord[];
  sleep: SleepRecord[];
  workouts: Workout[];
  /** Current backend: a batch with `syncType: "historical"` and a `syncSessionId` joins that run (§2.5). */
  syncType: unknown;
  syncSessionId: unknown;
}

export interface DroppedRecord {
  collection: 'records' | 'sleep' | 'workouts';
  index: number;
  loc: string;
  msg: string;
}

const COLLECTIONS = [
  ['records', record],
  ['sleep', sleep],
  ['workouts', workout],
] as const;

/** `_parse_sync_request`: the valid records and the dropped ones; an unsalvageable batch throws EnvelopeError. */
export function parseSyncRequest(raw: Obj): { request: SyncRequest; dropped: DroppedRecord[] } {
  const envelopeField = (fn: () => unknown) => {
    try {
      return fn();
    } catch (err) {
      throw new EnvelopeError((err as Error).message);
    }
  };
  const data = raw.data ?? {};
  if (!isObj(data))
    throw new EnvelopeError('Input should be a valid dictionary or object to extract fields from');
  const kept = { records: [] as MetricRecord[], sleep: [] as SleepRecord[], workouts: [] as Workout[] };
  const dropped: DroppedRecord[] = [];
  for (const [key, parse] of COLLECTIONS) {
    const items = data[key] ?? [];
    if (!Array.isArray(items)) throw new EnvelopeError('Input should be a valid list');
    items.forEach((item, index) => {
      try {
        if (!isObj(item))
          throw new FieldError('', 'Input should be a valid dictionary or object to extract fields from');
        (kept[key] as unknown[]).push(parse(item));
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        dropped.push({ collection: key, index, loc: err.loc, msg: err.message });
      }
    });
  }
  const provider = envelopeField(() => str(raw, 'provider', { required: true, nullable: false })) as string;
  const sdkVersion = envelopeField(() =>
    str(raw, 'sdkVersion', { required: true, nullable: false }),
  ) as string;
  const syncTimestampMs = envelopeField(() => pydanticDatetime(raw.syncTimestamp, 'syncTimestamp')) as number;
  return {
    request: {
      provider,
      sdkVersion,
      syncTimestampMs,
      ...kept,
      syncType: raw.syncType,
      syncSessionId: raw.syncSessionId,
    },
    dropped,
  };
}
