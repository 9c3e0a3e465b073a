/**
 * A selected sample (core/upload/direct/normalize.ts picks them, as for every method) as the SDK route's
 * JSON (contract §6.2): a quantity Record as a `MetricRecord` in the unit its series wants
 * (core/units), a sleep Record as a `SleepRecord`, a Workout with its statistics as `values[]`. What
 * cannot be sent correctly is counted by reason and type, never guessed at: a unit the table does not
 * know (named), a value the backend's Decimal would refuse or its NUMERIC(10,3) column could not hold,
 * a date that is not an instant, a sleep value with no stage.
 */

import { judgeValue, VALUE_OK } from '../../model/values.js';
import type { ExportElement } from '../../reader/types.js';
import { MAPPED_QUANTITY_TYPES, SLEEP_TYPE, WORKOUT_TYPE } from '../../selection/mapped-types.js';
import { convertQuantity, round12, unitRuleOf } from '../../units/convert.js';
import { ENERGY, LENGTH, PERCENT, TEMPERATURE, TIME } from '../../units/families.js';
import { type SdkDate, sdkDate } from './dates.js';
import { SourceCache } from './source.js';
import { sdkWorkoutType } from './workout-types.js';

export type SkipReason =
  | 'unknown-unit'
  | 'invalid-value'
  | 'value-out-of-range'
  | 'invalid-date'
  | 'unknown-sleep-stage';

export type Collection = 'records' | 'sleep' | 'workouts';

/** The SDK's sleep stages (contract §6.2), from Apple's values (the same stages as §5.5). */
const SLEEP_STAGES: ReadonlyMap<string, string> = new Map([
  ['HKCategoryValueSleepAnalysisInBed', 'in_bed'],
  ['HKCategoryValueSleepAnalysisAsleep', 'sleeping'],
  ['HKCategoryValueSleepAnalysisAsleepUnspecified', 'sleeping'],
  ['HKCategoryValueSleepAnalysisAwake', 'awake'],
  ['HKCategoryValueSleepAnalysisAsleepCore', 'light'],
  ['HKCategoryValueSleepAnalysisAsleepDeep', 'deep'],
  ['HKCategoryValueSleepAnalysisAsleepREM', 'rem'],
]);

/** NUMERIC(10,3) holds at most ±9,999,999.999; a larger value fails the whole batch's insert (§5.4). */
const COLUMN_MAX = 9_999_999.9995;

export interface ConversionReport {
  /** Items made, by HK type (or `Workout`). */
  sent: Record<string, number>;
  /** Not sent, by reason then type. */
  skipped: Partial<Record<SkipReason, Record<string, number>>>;
  /** `unknown-unit` in detail: type → unit as written (`(none)` when missing) → count. */
  unknownUnits: Record<string, Record<string, number>>;
  /** Workout statistics and metadata left out of `values[]` for an unknown unit, by statistic → unit. */
  workoutValuesSkipped: Record<string, Record<string, number>>;
}

export function emptyConversionReport(): ConversionReport {
  return { sent: {}, skipped: {}, unknownUnits: {}, workoutValuesSkipped: {} };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

function bump2(map: Record<string, Record<string, number>>, a: string, b: string): void {
  const inner = map[a] ?? {};
  bump(inner, b);
  map[a] = inner;
}

export interface SdkItem {
  collection: Collection;
  /** The item's JSON text. */
  json: string;
  /** The data source the backend files it under (source.ts dataSourceOf). */
  dataSource: string;
  /**
   * The time-series rows the backend writes of it (predict.ts), all at `ms`: a record's series at its
   * startDate (none for a type the backend does not map), a workout's values stored as series at its
   * endDate; none for sleep.
   */
  series: readonly string[];
  ms: number;
}

const valueBytes = Buffer.alloc(128);

/** The value as the backend's Decimal reads it (core/model/values.ts), then as a number. */
function readValue(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = valueBytes.write(value.slice(0, 128), 'latin1');
  if (judgeValue(valueBytes, 0, n) !== VALUE_OK) return null;
  const x = Number(value.trim().replace(/_/g, ''));
  return Number.isFinite(x) ? x : null;
}

const q = (s: string) => JSON.stringify(s);

export class SdkConverter {
  readonly report: ConversionReport = emptyConversionReport();
  private readonly sources = new SourceCache();
  private readonly quoted = new Map<string, string>();

  /**
   * The item for a sample, or null when it is skipped (and counted). `id` is the sample's deterministic
   * id; `type` its HK type or `Workout`.
   */
  convert(el: ExportElement, type: string, id: string): SdkItem | null {
    if (type === WORKOUT_TYPE) return this.workout(el, id);
    if (type === SLEEP_TYPE) return this.sleep(el, id);
    return this.record(el, type, id);
  }

  private skip(reason: SkipReason, type: string): null {
    const byType = this.report.skipped[reason] ?? {};
    bump(byType, type);
    this.report.skipped[reason] = byType;
    return null;
  }

  /** The fields every item has, and its data source. */
  private common(el: ExportElement, id: string, start: SdkDate, end: SdkDate): [string, string] {
    const a = el.attrs;
    const source = this.sources.get(a.sourceName, a.sourceVersion, a.device);
    return [
      `"id":${q(id)},"startDate":"${start.rfc3339}","endDate":"${end.rfc3339}",` +
        `"zoneOffset":"${start.zoneOffset}","source":${source.json}`,
      source.dataSource,
    ];
  }

  private dates(el: ExportElement, type: string): [SdkDate, SdkDate] | null {
    const start = sdkDate(el.attrs.startDate);
    const end = sdkDate(el.attrs.endDate);
    if (start === null || end === null) return this.skip('invalid-date', type);
    return [start, end];
  }

  private record(el: ExportElement, type: string, id: string): SdkItem | null {
    const rule = unitRuleOf(type);
    if (rule === undefined) return null;
    const value = readValue(el.attrs.value);
    if (value === null) return this.skip('invalid-value', type);
    const converted = convertQuantity(rule, el.attrs.unit, value);
    if (!converted.ok) {
      bump2(this.report.unknownUnits, type, el.attrs.unit ?? '(none)');
      return this.skip('unknown-unit', type);
    }
    if (Math.abs(converted.value * (rule.server ?? 1)) >= COLUMN_MAX)
      return this.skip('value-out-of-range', type);
    const dates = this.dates(el, type);
    if (dates === null) return null;
    bump(this.report.sent, type);
    let qt = this.quoted.get(type);
    if (qt === undefined) {
      qt = q(type);
      this.quoted.set(type, qt);
    }
    const [common, dataSource] = this.common(el, id, dates[0], dates[1]);
    const series = MAPPED_QUANTITY_TYPES.get(type);
    return {
      collection: 'records',
      json: `{${common},"type":${qt},"value":${converted.value},"unit":${q(converted.unit)}}`,
      dataSource,
      series: series === undefined ? NO_SERIES : [series],
      ms: dates[0].ms,
    };
  }

  private sleep(el: ExportElement, id: string): SdkItem | null {
    const stage = SLEEP_STAGES.get(el.attrs.value ?? '');
    if (stage === undefined) return this.skip('unknown-sleep-stage', SLEEP_TYPE);
    const dates = this.dates(el, SLEEP_TYPE);
    if (dates === null) return null;
    bump(this.report.sent, SLEEP_TYPE);
    const [common, dataSource] = this.common(el, id, dates[0], dates[1]);
    return {
      collection: 'sleep',
      json: `{${common},"stage":"${stage}"}`,
      dataSource,
      series: NO_SERIES,
      ms: dates[0].ms,
    };
  }

  private workout(el: ExportElement, id: string): SdkItem | null {
    const dates = this.dates(el, WORKOUT_TYPE);
    if (dates === null) return null;
    const values = new WorkoutValues(this.report.workoutValuesSkipped);
    values.fromElement(el);
    bump(this.report.sent, WORKOUT_TYPE);
    const [common, dataSource] = this.common(el, id, dates[0], dates[1]);
    return {
      collection: 'workouts',
      json: `{${common},"type":"${sdkWorkoutType(el.attrs.workoutActivityType)}","values":${values.json()}}`,
      dataSource,
      series: values.series(),
      ms: dates[1].ms,
    };
  }
}

/** Which statistic of which HK type becomes which SDK workout value, and the unit it is sent in. */
interface StatTarget {
  field: 'sum' | 'average' | 'minimum' | 'maximum';
  name: string;
  unit: string;
  /** Base value (the HK type's unit family) × k. */
  k: number;
}

const E = 'HKQuantityTypeIdentifier';
const DISTANCES = [
  'DistanceWalkingRunning',
  'DistanceCycling',
  'DistanceSwimming',
  'DistanceWheelchair',
  'DistanceDownhillSnowSports',
  'DistanceCrossCountrySkiing',
  'DistancePaddleSports',
  'DistanceRowing',
  'DistanceSkatingSports',
];

/**
 * WorkoutStatistics → `values[]` (contract §6.2 `workout_statistics.py`): energies summed by the backend
 * in kcal, distance in m, heart rates in count/min, speeds in m/s, power in W; the running form metrics
 * land in their series as sent (stride length and vertical oscillation in cm, ground contact in ms).
 */
const STAT_TARGETS: Readonly<Record<string, StatTarget[]>> = {
  [`${E}ActiveEnergyBurned`]: [{ field: 'sum', name: 'activeEnergyBurned', unit: 'kcal', k: 1 }],
  [`${E}BasalEnergyBurned`]: [{ field: 'sum', name: 'basalEnergyBurned', unit: 'kcal', k: 1 }],
  [`${E}StepCount`]: [{ field: 'sum', name: 'stepCount', unit: 'count', k: 1 }],
  [`${E}HeartRate`]: [
    { field: 'minimum', name: 'minHeartRate', unit: 'count/min', k: 1 },
    { field: 'average', name: 'averageHeartRate', unit: 'count/min', k: 1 },
    { field: 'maximum', name: 'maxHeartRate', unit: 'count/min', k: 1 },
  ],
  [`${E}RunningPower`]: [{ field: 'average', name: 'averageRunningPower', unit: 'W', k: 1 }],
  [`${E}RunningSpeed`]: [
    { field: 'average', name: 'averageRunningSpeed', unit: 'm/s', k: 1 },
    { field: 'maximum', name: 'maxSpeed', unit: 'm/s', k: 1 },
  ],
  [`${E}CyclingSpeed`]: [
    { field: 'average', name: 'averageSpeed', unit: 'm/s', k: 1 },
    { field: 'maximum', name: 'maxSpeed', unit: 'm/s', k: 1 },
  ],
  [`${E}RunningStrideLength`]: [{ field: 'average', name: 'averageRunningStrideLength', unit: 'cm', k: 100 }],
  [`${E}RunningVerticalOscillation`]: [
    { field: 'average', name: 'averageVerticalOscillation', unit: 'cm', k: 100 },
  ],
  [`${E}RunningGroundContactTime`]: [
    { field: 'average', name: 'averageGroundContactTime', unit: 'ms', k: 1000 },
  ],
  [`${E}SwimmingStrokeCount`]: [{ field: 'sum', name: 'swimmingStrokeCount', unit: 'count', k: 1 }],
  ...Object.fromEntries(
    DISTANCES.map((d) => [`${E}${d}`, [{ field: 'sum', name: 'distance', unit: 'm', k: 1 }]]),
  ),
};

/** Workout MetadataEntry values (`"4210 cm"`, `"54.1 degF"`, `"7200 %"`) → values[]. */
const METADATA: Readonly<
  Record<
    string,
    {
      name: string;
      unit: string;
      from: Readonly<Record<string, { factor: number; offset?: number }>>;
      k: number;
    }
  >
> = {
  HKElevationAscended: { name: 'elevationAscended', unit: 'm', from: LENGTH, k: 1 },
  HKAverageMETs: { name: 'averageMETs', unit: 'kcal/hr·kg', from: { 'kcal/hr·kg': { factor: 1 } }, k: 1 },
  HKWeatherTemperature: { name: 'weatherTemperature', unit: 'degC', from: TEMPERATURE, k: 1 },
  // Apple writes humidity as percent × 100 (`"7200 %"` is 72 %); the `%` family is a fraction of 1.
  HKWeatherHumidity: { name: 'weatherHumidity', unit: '%', from: PERCENT, k: 1 },
};

/**
 * The workout values the backend stores as a time-series point at the workout's end rather than in
 * its detail columns (`WORKOUT_STATISTIC_TYPE_TO_SERIES_TYPE`, contract §6.2), of those sent.
 */
const VALUE_SERIES: Readonly<Record<string, string>> = {
  averageRunningStrideLength: 'running_stride_length',
  averageVerticalOscillation: 'running_vertical_oscillation',
  averageGroundContactTime: 'running_ground_contact_time',
  averageMETs: 'average_met',
  weatherTemperature: 'weather_temperature',
  weatherHumidity: 'weather_humidity',
  swimmingStrokeCount: 'swimming_stroke_count',
};

const NO_SERIES: readonly string[] = [];

class WorkoutValues {
  private readonly items = new Map<string, string>();

  constructor(private readonly skipped: Record<string, Record<string, number>>) {}

  fromElement(el: ExportElement): void {
    const a = el.attrs;
    const duration = readValue(a.duration);
    const durationUnit = TIME[a.durationUnit ?? 'min'];
    if (duration !== null && durationUnit) this.put('duration', 's', duration * durationUnit.factor);
    for (const c of el.children) if (c.name === 'WorkoutStatistics') this.statistic(c);
    // Multisport and structured workouts (iOS 16+) may hold statistics in their activities only.
    for (const c of el.children)
      if (c.name === 'WorkoutActivity')
        for (const s of c.children) if (s.name === 'WorkoutStatistics') this.statistic(s, false);
    for (const c of el.children) if (c.name === 'MetadataEntry') this.metadata(c);
    // Before iOS 16 the totals were attributes (format §1.6), with no statistics.
    this.legacy('distance', 'm', a.totalDistance, a.totalDistanceUnit, LENGTH, 1);
    this.legacy('activeEnergyBurned', 'kcal', a.totalEnergyBurned, a.totalEnergyBurnedUnit, ENERGY, 1);
  }

  json(): string {
    return `[${[...this.items.values()].join(',')}]`;
  }

  /** The series its values are stored in as rows. */
  series(): string[] {
    const out: string[] = [];
    for (const name of this.items.keys()) {
      const s = VALUE_SERIES[name];
      if (s !== undefined && !out.includes(s)) out.push(s);
    }
    return out;
  }

  private put(name: string, unit: string, value: number, replace = true): void {
    if (!replace && this.items.has(name)) return;
    this.items.set(name, `{"type":"${name}","unit":${q(unit)},"value":${round12(value)}}`);
  }

  private statistic(s: ExportElement, replace = true): void {
    const type = s.attrs.type ?? '';
    const targets = STAT_TARGETS[type];
    const rule = unitRuleOf(type);
    if (!targets || !rule) return;
    const scale = rule.from[s.attrs.unit ?? ''];
    for (const t of targets) {
      const v = readValue(s.attrs[t.field]);
      if (v === null) continue;
      if (scale === undefined) {
        bump2(this.skipped, `${type}.${t.field}`, s.attrs.unit ?? '(none)');
        continue;
      }
      this.put(t.name, t.unit, (v * scale.factor + (scale.offset ?? 0)) * t.k, replace);
    }
  }

  private metadata(m: ExportElement): void {
    const spec = METADATA[m.attrs.key ?? ''];
    if (!spec) return;
    const text = (m.attrs.value ?? '').trim();
    const space = text.lastIndexOf(' ');
    const value = readValue(space < 0 ? text : text.slice(0, space));
    const unit = space < 0 ? '' : text.slice(space + 1);
    if (value === null) return;
    let scale = spec.from[unit];
    if (scale === undefined) {
      bump2(this.skipped, m.attrs.key ?? '', unit || '(none)');
      return;
    }
    // `%` here is percent × 100 of a fraction: "7200 %" is 0.72 of 1, 72 %.
    if (spec.from === PERCENT) scale = { factor: 1 / 100 };
    // Repeated keys (format §1.6) carry the same value; the first is kept.
    this.put(spec.name, spec.unit, (value * scale.factor + (scale.offset ?? 0)) * spec.k, false);
  }

  private legacy(
    name: string,
    unit: string,
    value: string | undefined,
    valueUnit: string | undefined,
    from: Readonly<Record<string, { factor: number; offset?: number }>>,
    k: number,
  ): void {
    if (value === undefined || this.items.has(name)) return;
    const v = readValue(value);
    if (v === null) return;
    const scale = from[valueUnit ?? ''];
    if (scale === undefined) {
      bump2(this.skipped, `Workout.${name}`, valueUnit ?? '(none)');
      return;
    }
    this.put(name, unit, v * scale.factor * k);
  }
}
