import { UsageError } from '../../errors.js';
import { MAPPED_QUANTITY_TYPES, SERIES_BY_SHORT_TYPE, SLEEP_TYPE, WORKOUT_TYPE } from './mapped-types.js';

/**
 * A date bound. `local` bounds (a bare date, or a timestamp without offset) compare against the sample's
 * wall clock in its own offset, so `--since 2024-03-01` means "from midnight on that day wherever it was
 * recorded". `instant` bounds (a timestamp with an offset or Z) compare absolute instants.
 */
export type DateBound = { kind: 'local'; wallMs: number } | { kind: 'instant'; ms: number };

export interface FilterSpec {
  /** Inclusive lower bound on startDate. */
  since?: DateBound;
  /** Upper bound on startDate: inclusive for a timestamp; a bare date means "before the next midnight". */
  until?: DateBound;
  /** Full identifiers (HK… or `Workout`); undefined means all. */
  types?: ReadonlySet<string>;
  excludeTypes?: ReadonlySet<string>;
  /** The flags as given, for the ledger key and reports. */
  canonical: string;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)? ?(Z|[+-]\d{2}:?\d{2})?$/;

function wallUtc(y: string, mo: string, d: string, h = '0', mi = '0', s = '0'): number | null {
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const back = new Date(ms);
  if (back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1) return null;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  return ms;
}

function offsetMinutes(zone: string): number {
  if (zone === 'Z') return 0;
  const digits = zone.replace(':', '');
  const sign = digits.startsWith('-') ? -1 : 1;
  return sign * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
}

const DAY_MS = 86_400_000;

/** Parses `--since`/`--until`; a bare `--until` date is exclusive of the following midnight. */
export function parseDateBound(flag: string, value: string, which: 'since' | 'until'): DateBound {
  const v = value.trim();
  const d = DATE_ONLY.exec(v);
  if (d) {
    const wall = wallUtc(d[1] as string, d[2] as string, d[3] as string);
    if (wall !== null) return { kind: 'local', wallMs: which === 'until' ? wall + DAY_MS - 1 : wall };
  }
  const t = TIMESTAMP.exec(v);
  if (t) {
    const [, y, mo, day, h, mi, s, zone] = t as unknown as string[];
    const wall = wallUtc(y as string, mo as string, day as string, h, mi, s ?? '0');
    if (wall !== null) {
      // A timestamp names a whole second; until is inclusive of it (startDate has second precision).
      return zone === undefined
        ? { kind: 'local', wallMs: wall }
        : { kind: 'instant', ms: wall - offsetMinutes(zone) * 60_000 };
    }
  }
  throw new UsageError(`${flag}: cannot read '${value}' as a date.`, {
    hint: 'use YYYY-MM-DD, or a timestamp such as 2024-03-01T08:00:00+01:00 or "2024-03-01 08:00:00 +0100"',
  });
}

/** Apple's `2024-01-15 08:30:00 +0100` (also ISO forms) → wall clock and instant, or null. */
export function parseSampleDate(value: string | undefined): { wallMs: number; ms: number } | null {
  if (value === undefined) return null;
  const t = TIMESTAMP.exec(value);
  if (!t) return null;
  const [, y, mo, d, h, mi, s, zone] = t as unknown as string[];
  const wall = wallUtc(y as string, mo as string, d as string, h, mi, s ?? '0');
  if (wall === null) return null;
  return { wallMs: wall, ms: wall - (zone === undefined ? 0 : offsetMinutes(zone)) * 60_000 };
}

function cmp(bound: DateBound, sample: { wallMs: number; ms: number }): number {
  return bound.kind === 'local' ? sample.wallMs - bound.wallMs : sample.ms - bound.ms;
}

export function inDateRange(spec: FilterSpec, sample: { wallMs: number; ms: number }): boolean {
  if (spec.since && cmp(spec.since, sample) < 0) return false;
  if (spec.until && cmp(spec.until, sample) > 0) return false;
  return true;
}

export function typeSelected(spec: FilterSpec, type: string): boolean {
  if (spec.types && !spec.types.has(type)) return false;
  if (spec.excludeTypes?.has(type)) return false;
  return true;
}

/** Friendly names → identifiers: the backend's series names (heart_rate, steps, energy…), sleep, workouts. */
export function typeAliases(): Map<string, string[]> {
  const aliases = new Map<string, string[]>();
  for (const [short, series] of Object.entries(SERIES_BY_SHORT_TYPE)) {
    const list = aliases.get(series) ?? [];
    list.push(`HKQuantityTypeIdentifier${short}`);
    aliases.set(series, list);
  }
  aliases.set('sleep', [SLEEP_TYPE]);
  aliases.set('workouts', [WORKOUT_TYPE]);
  aliases.set('workout', [WORKOUT_TYPE]);
  return aliases;
}

/** The alias list for --help. */
export function aliasHelp(): string {
  const names = [...typeAliases().keys()].filter((n) => n !== 'workout').sort();
  return names.join(', ');
}

/** Resolves a comma list of aliases, full HK identifiers or HK short names (HeartRate). */
export function resolveTypes(flag: string, value: string): Set<string> {
  const aliases = typeAliases();
  const out = new Set<string>();
  for (const raw of value.split(',')) {
    const name = raw.trim();
    if (!name) continue;
    const alias = aliases.get(name.toLowerCase());
    if (alias) {
      for (const t of alias) out.add(t);
    } else if (name === WORKOUT_TYPE || name === SLEEP_TYPE || MAPPED_QUANTITY_TYPES.has(name)) {
      out.add(name);
    } else if (MAPPED_QUANTITY_TYPES.has(`HKQuantityTypeIdentifier${name}`)) {
      out.add(`HKQuantityTypeIdentifier${name}`);
    } else if (/^HK\w+Identifier\w+$/.test(name)) {
      // A real HealthKit type the backend ignores: accepted, and it simply selects nothing.
      out.add(name);
    } else {
      throw new UsageError(`${flag}: unknown type '${name}'.`, {
        hint: `use an HK identifier (HKQuantityTypeIdentifierHeartRate) or one of: ${aliasHelp()}`,
      });
    }
  }
  if (out.size === 0) throw new UsageError(`${flag}: no types given.`);
  return out;
}

export interface FilterFlags {
  since?: string;
  until?: string;
  types?: string;
  excludeTypes?: string;
}

export function buildFilters(flags: FilterFlags): FilterSpec {
  const since = flags.since === undefined ? undefined : parseDateBound('--since', flags.since, 'since');
  const until = flags.until === undefined ? undefined : parseDateBound('--until', flags.until, 'until');
  if (since && until && since.kind === until.kind) {
    const a = since.kind === 'local' ? since.wallMs : since.ms;
    const b = until.kind === 'local' ? until.wallMs : (until as { ms: number }).ms;
    if (a > b) throw new UsageError('--since is after --until: nothing would be selected.');
  }
  const types = flags.types === undefined ? undefined : resolveTypes('--types', flags.types);
  const excludeTypes =
    flags.excludeTypes === undefined ? undefined : resolveTypes('--exclude-types', flags.excludeTypes);
  const canonical = JSON.stringify({
    since: since ?? null,
    until: until ?? null,
    types: types ? [...types].sort() : null,
    exclude: excludeTypes ? [...excludeTypes].sort() : null,
  });
  return { since, until, types, excludeTypes, canonical };
}
