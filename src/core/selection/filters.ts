/**
 * The one grammar of `--since`, `--until`, `--types` and `--exclude-types`, and the one predicate that
 * applies them to a top-level Record or Workout: `validate` counts what it selects and every upload
 * method sends what it selects, so the same flags select the same samples everywhere. A bad value is a
 * usage error (exit 2) with the same message in every command.
 */
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
  /**
   * Full identifiers (HK… record types, `Workout`, or an `HKWorkoutActivityType…` for the workouts of that
   * activity); undefined means all.
   */
  types?: ReadonlySet<string>;
  excludeTypes?: ReadonlySet<string>;
  /** The resolved selection as one string, for the ledger key. */
  canonical: string;
  /** The flags as given, for reports. */
  given: { since?: string; until?: string; types?: string[]; excludeTypes?: string[] };
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

/** Whether `type` passes --types/--exclude-types; a Workout (`type` Workout) also goes by its activity. */
export function typeSelected(spec: FilterSpec, type: string, activity?: string): boolean {
  const named = (set: ReadonlySet<string>) => set.has(type) || (activity !== undefined && set.has(activity));
  if (spec.types && !named(spec.types)) return false;
  if (spec.excludeTypes && named(spec.excludeTypes)) return false;
  return true;
}

export function isFilterActive(spec: FilterSpec): boolean {
  return (
    spec.since !== undefined ||
    spec.until !== undefined ||
    spec.types !== undefined ||
    spec.excludeTypes !== undefined
  );
}

export type Selection = 'selected' | 'filtered-type' | 'filtered-date' | 'unreadable-date';

/**
 * The one predicate over a top-level Record (its `type`) or Workout (`Workout`, with its activity): the
 * types first, then the start date when a date bound is set (a date that cannot be read is not selected).
 */
export function select(
  spec: FilterSpec,
  type: string,
  startDate: string | undefined,
  activity?: string,
): Selection {
  if (!typeSelected(spec, type, activity)) return 'filtered-type';
  if (spec.since || spec.until) {
    const start = parseSampleDate(startDate);
    if (start === null) return 'unreadable-date';
    if (!inDateRange(spec, start)) return 'filtered-date';
  }
  return 'selected';
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

/**
 * Resolves a comma list of aliases (heart_rate), HK short names of the types the backend imports
 * (HeartRate, SleepAnalysis), full HK identifiers (any HealthKit type: validate counts the ones the
 * backend ignores too), `Workout`, or a workout activity (HKWorkoutActivityTypeRunning).
 */
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
    } else if (`HKCategoryTypeIdentifier${name}` === SLEEP_TYPE) {
      out.add(SLEEP_TYPE);
    } else if (/^HK\w+Identifier\w+$/.test(name) || /^HKWorkoutActivityType\w+$/.test(name)) {
      // A real HealthKit type (or workout activity), perhaps one the backend ignores: it selects what it names.
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
  // Unchanged since ledger version 1, whose direct entries are keyed by it.
  const canonical = JSON.stringify({
    since: since ?? null,
    until: until ?? null,
    types: types ? [...types].sort() : null,
    exclude: excludeTypes ? [...excludeTypes].sort() : null,
  });
  const names = (v: string | undefined) =>
    v === undefined
      ? undefined
      : v
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
  const given = {
    ...(flags.since !== undefined ? { since: flags.since.trim() } : {}),
    ...(flags.until !== undefined ? { until: flags.until.trim() } : {}),
    ...(flags.types !== undefined ? { types: names(flags.types) } : {}),
    ...(flags.excludeTypes !== undefined ? { excludeTypes: names(flags.excludeTypes) } : {}),
  };
  return { since, until, types, excludeTypes, canonical, given };
}

/** No filters: everything is selected. */
export const NO_FILTERS: FilterSpec = buildFilters({});
