import type { ElementMeta } from './emitter.js';
import type { Rng } from './prng.js';
import { app, deviceAttr, phone, type Source, watch } from './sources.js';
import { type DayCtx, fmtNum, type Out } from './world.js';

const Q = 'HKQuantityTypeIdentifier';
const C = 'HKCategoryTypeIdentifier';

export interface RecordSpec {
  type: string;
  src: Source;
  unit?: string;
  start: number;
  end: number;
  value?: string;
  metadata?: [string, string][];
  /** Extra children (already indented), e.g. an HRV beat list. */
  extra?: string;
  extraNested?: [string, number][];
  /** Correlation pairing key: never duplicated, so its copy count stays exact. */
  copyKey?: string;
}

/** Metadata lines with an occasional U+000B in the value (format §2.2); returns the lines and the count. */
export function metadataLines(ctx: DayCtx, entries: [string, string][], indent: string): [string, number] {
  let out = '';
  let ctrl = 0;
  const rate = ctx.w.controlChars;
  for (const [k, v] of entries) {
    let value = v;
    if (rate > 0 && ctx.rng.chance(rate)) {
      let at = ctx.rng.int(0, value.length);
      // Never inside an entity reference such as `&amp;`: Apple's stray characters sit in text, and only
      // there does dropping them (the repair) give back the original value.
      const amp = value.lastIndexOf('&', at - 1);
      if (amp >= 0 && value.indexOf(';', amp) >= at) at = amp;
      value = `${value.slice(0, at)}\u000b${value.slice(at)}`;
      ctrl++;
    }
    out += `${indent}<MetadataEntry key="${k}" value="${value}"/>\n`;
  }
  return [out, ctrl];
}

/** The Record line(s) in Apple's attribute order, plus exact duplicates at the configured rate. */
export function emitRecord(ctx: DayCtx, out: Out, r: RecordSpec): void {
  const { rng, w } = ctx;
  const clock = w.clock;
  let created = r.end + rng.int(0, 900);
  if (rng.chance(0.005)) created = r.end + rng.int(86400, 2 * 365 * 86400);
  const start = clock.format(r.start);
  const end = r.end === r.start ? start : clock.format(r.end);
  let attrs = `type="${r.type}" sourceName="${r.src.name}" sourceVersion="${r.src.version}"${deviceAttr(r.src, rng)}`;
  if (r.unit !== undefined) attrs += ` unit="${r.unit}"`;
  attrs += ` creationDate="${clock.format(created)}" startDate="${start}" endDate="${end}"`;
  if (r.value !== undefined) attrs += ` value="${r.value}"`;
  let children = '';
  let ctrl = 0;
  const nested: [string, number][] = [];
  if (r.metadata && r.metadata.length > 0) {
    [children, ctrl] = metadataLines(ctx, r.metadata, '  ');
    nested.push(['MetadataEntry', r.metadata.length]);
  }
  if (r.extra !== undefined) {
    children += r.extra;
    if (r.extraNested) nested.push(...r.extraNested);
  }
  const xml = children === '' ? ` <Record ${attrs}/>\n` : ` <Record ${attrs}>\n${children} </Record>\n`;
  const meta: ElementMeta = {
    name: 'Record',
    type: r.type,
    start,
    startUtc: r.start,
    nested,
    controlChars: ctrl,
  };
  if (r.copyKey !== undefined) meta.copyKey = r.copyKey;
  out(xml, meta);
  if (r.copyKey === undefined && w.dupExact > 0 && rng.chance(w.dupExact)) {
    const copies = rng.chance(0.85) ? 1 : rng.int(2, 7);
    for (let i = 0; i < copies; i++) out(xml, { ...meta, duplicate: true });
  }
}

/** A series of interval samples in [from, to) with random gaps; start times strictly increase. */
function series(
  ctx: DayCtx,
  out: Out,
  o: {
    type: string;
    src: Source;
    unit?: string;
    from: number;
    to: number;
    gap: [number, number];
    dur: [number, number];
    value: (rng: Rng) => string | undefined;
    metadata?: (rng: Rng) => [string, string][] | undefined;
  },
): void {
  const { rng } = ctx;
  let t = o.from + rng.int(0, o.gap[1]);
  while (t < o.to) {
    const end = t + rng.int(o.dur[0], o.dur[1]);
    const spec: RecordSpec = { type: o.type, src: o.src, start: t, end };
    if (o.unit !== undefined) spec.unit = o.unit;
    const v = o.value(rng);
    if (v !== undefined) spec.value = v;
    const md = o.metadata?.(rng);
    if (md) spec.metadata = md;
    emitRecord(ctx, out, spec);
    t = Math.max(end, t + 1) + rng.int(o.gap[0], o.gap[1]);
  }
}

const H = 3600;

export interface RecordStream {
  type: string;
  run(ctx: DayCtx, out: Out): void;
}

function hrWindows(ctx: DayCtx): [number, number][] {
  return ctx.plan.workouts.filter((w) => !w.thirdParty).map((w) => [w.start, w.end]);
}

/** Dense samples during workouts, sparse outside, strictly increasing (format §5.4, "bursty"). */
function burstySeries(
  ctx: DayCtx,
  out: Out,
  type: string,
  unit: string,
  rest: [number, number],
  burst: [number, number],
  from: number,
  to: number,
  value: (rng: Rng, inWorkout: boolean) => string,
  metadata?: (rng: Rng) => [string, string][],
  pointSample = true,
): void {
  const { rng } = ctx;
  const src = watch(ctx);
  const windows = hrWindows(ctx);
  let t = from + rng.int(0, rest[1]);
  while (t < to) {
    const win = windows.find(([s, e]) => t >= s && t < e);
    const inWorkout = win !== undefined;
    const end = pointSample ? t : t + rng.int(30, inWorkout ? burst[1] : 180);
    const spec: RecordSpec = { type, src, unit, start: t, end, value: value(rng, inWorkout) };
    const md = metadata?.(rng);
    if (md) spec.metadata = md;
    emitRecord(ctx, out, spec);
    let next = Math.max(end, t + 1) + (inWorkout ? rng.int(burst[0], burst[1]) : rng.int(rest[0], rest[1]));
    const upcoming = windows.find(([s]) => s > t && s < next);
    if (!inWorkout && upcoming) next = upcoming[0];
    t = next;
  }
}

const motion = (rng: Rng): [string, string][] => {
  const x = rng.next();
  return [['HKMetadataKeyHeartRateMotionContext', x < 0.6 ? '0' : x < 0.9 ? '1' : '2']];
};

function beatList(ctx: DayCtx, start: number): [string, number] {
  const { rng, w } = ctx;
  const n = rng.int(30, 70);
  let lines = '  <HeartRateVariabilityMetadataList>\n';
  let sec = w.clock.secondOfDay(start);
  let centis = rng.int(0, 99);
  for (let i = 0; i < n; i++) {
    const bpm = rng.int(55, 80);
    centis += Math.round(6000 / bpm);
    sec += Math.floor(centis / 100);
    centis %= 100;
    lines += `   <InstantaneousBeatsPerMinute bpm="${bpm}" time="${beatTime(w.locale, sec % 86400, centis)}"/>\n`;
  }
  return [`${lines}  </HeartRateVariabilityMetadataList>\n`, n];
}

/** Locale wall-clock with centiseconds and no date (format §1.5): `7:30:12.48 AM` or `07:30:12,48`. */
export function beatTime(locale: string, sec: number, centis: number): string {
  const h = Math.floor(sec / 3600);
  const m = String(Math.floor((sec % 3600) / 60)).padStart(2, '0');
  const s = String(sec % 60).padStart(2, '0');
  const cs = String(centis).padStart(2, '0');
  if (locale === 'en_US') return `${h % 12 === 0 ? 12 : h % 12}:${m}:${s}.${cs} ${h < 12 ? 'AM' : 'PM'}`;
  return `${String(h).padStart(2, '0')}:${m}:${s},${cs}`;
}

const SLEEP = 'HKCategoryValueSleepAnalysis';

/** Every Record type the generator writes, in the order they appear when grouped. */
export function recordStreams(): RecordStream[] {
  return [
    {
      type: `${Q}ActiveEnergyBurned`,
      run: (c, out) =>
        burstySeries(
          c,
          out,
          `${Q}ActiveEnergyBurned`,
          c.w.energyUnit,
          [45, 150],
          [10, 60],
          c.midnight + 7 * H,
          c.midnight + 23 * H,
          (rng, inW) => fmtNum(inW ? rng.range(1.5, 14) : rng.range(0.05, 3.5), 3),
          undefined,
          false,
        ),
    },
    {
      type: `${Q}BasalEnergyBurned`,
      run: (c, out) =>
        series(c, out, {
          type: `${Q}BasalEnergyBurned`,
          src: watch(c),
          unit: c.w.energyUnit,
          from: c.midnight,
          to: c.midnight + 24 * H,
          gap: [240, 480],
          dur: [60, 600],
          value: (rng) => fmtNum(rng.range(0.8, 9), 3),
        }),
    },
    {
      type: `${Q}HeartRate`,
      run: (c, out) =>
        burstySeries(
          c,
          out,
          `${Q}HeartRate`,
          'count/min',
          [180, 480],
          [5, 10],
          c.midnight,
          c.midnight + 24 * H,
          (rng, inW) => {
            const v = inW ? rng.range(110, 185) : Math.min(110, Math.max(48, rng.lognormal(72, 0.15)));
            return rng.chance(0.8) ? String(Math.round(v)) : fmtNum(v, 4);
          },
          motion,
        ),
    },
    {
      type: `${Q}DistanceWalkingRunning`,
      run: (c, out) => {
        for (const [src, gap] of [
          [watch(c), [300, 600]],
          [phone(c), [480, 900]],
        ] as const)
          series(c, out, {
            type: `${Q}DistanceWalkingRunning`,
            src,
            unit: c.w.distanceUnit,
            from: c.midnight + 7 * H,
            to: c.midnight + 23 * H,
            gap: [gap[0], gap[1]],
            dur: [30, 600],
            value: (rng) => String(Number(rng.range(0.001, 0.3).toPrecision(rng.int(6, 16)))),
            metadata: (rng) =>
              rng.chance(0.02)
                ? [
                    ['HKMetadataKeySyncVersion', '1'],
                    ['HKMetadataKeySyncIdentifier', rng.uuid()],
                  ]
                : undefined,
          });
      },
    },
    {
      type: `${Q}StepCount`,
      run: (c, out) => {
        for (const [src, gap] of [
          [watch(c), [600, 1200]],
          [phone(c), [900, 1800]],
        ] as const)
          series(c, out, {
            type: `${Q}StepCount`,
            src,
            unit: 'count',
            from: c.midnight + 7 * H,
            to: c.midnight + 22 * H,
            gap: [gap[0], gap[1]],
            dur: [60, 600],
            value: (rng) => String(rng.int(5, 1500)),
          });
        if (c.w.quirkyNames && c.rng.chance(0.05))
          emitRecord(c, out, {
            type: `${Q}StepCount`,
            src: app(`${c.w.owner}’s\u00a0iPad`, '17.2'),
            unit: 'count',
            start: c.midnight + 12 * H + 17,
            end: c.midnight + 12 * H + 317,
            value: String(c.rng.int(5, 300)),
          });
      },
    },
    simple(`${Q}AppleExerciseTime`, 'min', [20, 60], 7, 21, () => '1', 60),
    simple(`${Q}AppleStandTime`, 'min', [8, 25], 7, 22, (rng) => String(rng.int(1, 5)), 300),
    {
      type: `${C}AppleStandHour`,
      run: (c, out) => {
        const hours = c.rng.int(16, 23);
        for (let h = 0; h < hours; h++) {
          const start = c.midnight + (24 - hours + h) * H;
          emitRecord(c, out, {
            type: `${C}AppleStandHour`,
            src: watch(c),
            start,
            end: start + H,
            value: c.rng.chance(0.7)
              ? 'HKCategoryValueAppleStandHourStood'
              : 'HKCategoryValueAppleStandHourIdle',
          });
        }
      },
    },
    simple(
      `${Q}EnvironmentalAudioExposure`,
      'dBASPL',
      [10, 40],
      7,
      23,
      (rng) => fmtNum(rng.range(40, 85), 4),
      1800,
    ),
    simple(
      `${Q}HeadphoneAudioExposure`,
      'dBASPL',
      [0, 15],
      8,
      22,
      (rng) => fmtNum(rng.range(50, 80), 4),
      1800,
      phone,
    ),
    ...(
      [
        'WalkingSpeed',
        'WalkingStepLength',
        'WalkingDoubleSupportPercentage',
        'WalkingAsymmetryPercentage',
      ] as const
    ).map((t): RecordStream => {
      const inner = simple(
        `${Q}${t}`,
        t === 'WalkingSpeed' ? 'km/hr' : t === 'WalkingStepLength' ? 'cm' : '%',
        [5, 20],
        8,
        21,
        (rng) =>
          t === 'WalkingSpeed'
            ? fmtNum(rng.range(3.5, 6), 4)
            : t === 'WalkingStepLength'
              ? String(rng.int(55, 80))
              : fmtNum(t === 'WalkingAsymmetryPercentage' ? rng.range(0, 0.1) : rng.range(0.2, 0.35), 3),
        600,
        phone,
      );
      return { type: inner.type, run: (c, out) => c.modern && inner.run(c, out) };
    }),
    { type: `${C}SleepAnalysis`, run: sleep },
    {
      type: `${Q}PhysicalEffort`,
      run: (c, out) => {
        if (!c.modern) return;
        for (const wk of c.plan.workouts) {
          if (wk.thirdParty) continue;
          for (let t = wk.start; t + 60 <= wk.end && t < wk.start + 60 * 60; t += 60)
            emitRecord(c, out, {
              type: `${Q}PhysicalEffort`,
              src: watch(c),
              unit: 'kcal/hr·kg',
              start: t,
              end: t + 60,
              value: fmtNum(c.rng.range(2, 12), 1),
            });
        }
      },
    },
    modernOnly(simple(`${Q}TimeInDaylight`, 'min', [3, 10], 8, 19, (rng) => String(rng.int(1, 30)), 900)),
    simple(
      `${Q}OxygenSaturation`,
      '%',
      [2, 12],
      0,
      24,
      (rng) => fmtNum(rng.range(0.92, 1), 2),
      0,
      watch,
      (rng) =>
        rng.chance(0.5) ? [['HKMetadataKeyBarometricPressure', `${rng.int(990, 1030)} hPa`]] : undefined,
    ),
    simple(`${Q}RespiratoryRate`, 'count/min', [3, 10], 0, 6, (rng) => String(rng.int(24, 36) / 2), 0),
    simple(`${Q}FlightsClimbed`, 'count', [2, 10], 8, 21, (rng) => String(rng.int(1, 4)), 120, phone),
    {
      type: `${Q}HeartRateVariabilitySDNN`,
      run: (c, out) => {
        const n = c.rng.int(2, 6);
        for (let i = 0; i < n; i++) {
          const start = c.midnight + Math.floor(((i + c.rng.next()) * 24 * H) / n);
          const [extra, beats] = beatList(c, start);
          emitRecord(c, out, {
            type: `${Q}HeartRateVariabilitySDNN`,
            src: watch(c),
            unit: 'ms',
            start,
            end: start + c.rng.int(55, 65),
            value: fmtNum(c.rng.range(15, 120), 4),
            extra,
            extraNested: [
              ['HeartRateVariabilityMetadataList', 1],
              ['InstantaneousBeatsPerMinute', beats],
            ],
          });
        }
      },
    },
    daily(`${Q}RestingHeartRate`, 'count/min', (rng) => String(rng.int(48, 68))),
    daily(`${Q}WalkingHeartRateAverage`, 'count/min', (rng) => String(rng.int(85, 115))),
    event(`${C}LowHeartRateEvent`, 0.01),
    event(`${C}HighHeartRateEvent`, 0.01),
    event(`${C}HeadphoneAudioExposureEvent`, 0.01, phone),
    {
      type: `${Q}VO2Max`,
      run: (c, out) => {
        if (!c.rng.chance(2 / 7)) return;
        const t = c.midnight + 18 * H + c.rng.int(0, 3 * H);
        emitRecord(c, out, {
          type: `${Q}VO2Max`,
          src: watch(c),
          unit: 'mL/min·kg',
          start: t,
          end: t,
          value: fmtNum(c.rng.range(30, 55), 4),
          metadata: [['HKVO2MaxTestType', '2']],
        });
      },
    },
    ...(
      [
        ['BodyMass', () => 'kg'],
        ['BodyFatPercentage', () => '%'],
        ['BodyMassIndex', () => 'count'],
        ['LeanBodyMass', () => 'kg'],
      ] as const
    ).map(([t, unitOf]): RecordStream => ({ type: `${Q}${t}`, run: (c, out) => scale(c, out, t, unitOf()) })),
    {
      type: `${Q}BloodPressureSystolic`,
      run: (c, out) => bpCopies(c, out, 'sys'),
    },
    {
      type: `${Q}BloodPressureDiastolic`,
      run: (c, out) => bpCopies(c, out, 'dia'),
    },
    ...dietaryStreams(),
    {
      type: 'HKDataTypeSleepDurationGoal',
      run: (c, out) => {
        if (c.index !== 0) return;
        emitRecord(c, out, {
          type: 'HKDataTypeSleepDurationGoal',
          src: phone(c),
          unit: 'hr',
          start: c.midnight + 9 * H,
          end: c.midnight + 9 * H,
          value: '8',
        });
      },
    },
    {
      type: `${C}MindfulSession`,
      run: (c, out) => {
        if (!c.rng.chance(0.1)) return;
        const t = c.midnight + 20 * H + c.rng.int(0, H);
        emitRecord(c, out, {
          type: `${C}MindfulSession`,
          src: app('Headspace', '3.210.0'),
          start: t,
          end: t + 600,
          value: 'HKCategoryValueNotApplicable',
        });
      },
    },
  ];
}

function simple(
  type: string,
  unit: string,
  perDay: [number, number],
  fromHour: number,
  toHour: number,
  value: (rng: Rng) => string,
  maxDur: number,
  srcOf: (c: DayCtx) => Source = watch,
  metadata?: (rng: Rng) => [string, string][] | undefined,
): RecordStream {
  return {
    type,
    run: (c, out) => {
      const n = c.rng.int(perDay[0], perDay[1]);
      if (n === 0) return;
      const span = (toHour - fromHour) * H;
      const slot = Math.floor(span / n);
      for (let i = 0; i < n; i++) {
        const start = c.midnight + fromHour * H + i * slot + c.rng.int(0, Math.max(0, slot - maxDur - 1));
        const spec: RecordSpec = {
          type,
          src: srcOf(c),
          unit,
          start,
          end: start + (maxDur > 0 ? c.rng.int(Math.min(60, maxDur), maxDur) : 0),
          value: value(c.rng),
        };
        const md = metadata?.(c.rng);
        if (md) spec.metadata = md;
        emitRecord(c, out, spec);
      }
    },
  };
}

function modernOnly(s: RecordStream): RecordStream {
  return { type: s.type, run: (c, out) => c.modern && s.run(c, out) };
}

function daily(type: string, unit: string, value: (rng: Rng) => string): RecordStream {
  return {
    type,
    run: (c, out) => {
      const t = c.midnight + 23 * H + c.rng.int(0, 1800);
      emitRecord(c, out, { type, src: watch(c), unit, start: c.midnight, end: t, value: value(c.rng) });
    },
  };
}

/** Category events that carry no value attribute at all (format §1.5). */
function event(type: string, rate: number, srcOf: (c: DayCtx) => Source = watch): RecordStream {
  return {
    type,
    run: (c, out) => {
      if (!c.rng.chance(rate)) return;
      const t = c.midnight + c.rng.int(0, 23 * H);
      emitRecord(c, out, { type, src: srcOf(c), start: t, end: t + c.rng.int(60, 600) });
    },
  };
}

function sleep(c: DayCtx, out: Out): void {
  const { bed, wake } = c.plan.sleep;
  const type = `${C}SleepAnalysis`;
  const src = watch(c);
  const tz: [string, string][] = [['HKTimeZone', c.w.zoneName]];
  emitRecord(c, out, { type, src, start: bed, end: wake, value: `${SLEEP}InBed`, metadata: tz });
  let t = bed + c.rng.int(300, 1200);
  const stages = c.modern
    ? [`${SLEEP}AsleepCore`, `${SLEEP}AsleepDeep`, `${SLEEP}AsleepCore`, `${SLEEP}AsleepREM`, `${SLEEP}Awake`]
    : [`${SLEEP}AsleepUnspecified`];
  let i = 0;
  while (t < wake - 120) {
    const len = c.modern ? c.rng.int(300, 1800) : c.rng.int(3600, 3 * 3600);
    const end = Math.min(wake, t + len);
    emitRecord(c, out, { type, src, start: t, end, value: stages[i % stages.length], metadata: tz });
    i++;
    t = end;
  }
  if (c.rng.chance(0.3))
    emitRecord(c, out, {
      type,
      src: app('AutoSleep', '6.9.1'),
      start: bed + 600,
      end: wake - 300,
      value: `${SLEEP}Asleep`,
    });
}

function scale(c: DayCtx, out: Out, kind: string, unit: string): void {
  // One weigh-in every other day; the plan's rng is not used, so derive the day from the date.
  if (c.day % 2 !== 0) return;
  const t = c.midnight + 6 * H + 1800 + (c.day % 7) * 61;
  const mass = c.w.massUnit === 'lb' ? 140 + (c.day % 9) * 0.4 : 63.5 + (c.day % 9) * 0.2;
  const unitFor = kind === 'BodyMass' || kind === 'LeanBodyMass' ? c.w.massUnit : unit;
  const value =
    kind === 'BodyMass'
      ? fmtNum(mass, 2)
      : kind === 'LeanBodyMass'
        ? fmtNum(mass * 0.75, 2)
        : kind === 'BodyFatPercentage'
          ? fmtNum(0.22 + (c.day % 5) / 100, 3)
          : fmtNum(22 + (c.day % 9) / 10, 1);
  emitRecord(c, out, {
    type: `${Q}${kind}`,
    src: app('Health Mate', '6140201'),
    unit: unitFor,
    start: t,
    end: t,
    value,
    metadata: [
      ['Health Mate App Version', '6.14.2'],
      ['Modified Date', c.w.clock.format(t + 30).replace(/ [+-]\d{4}$/, ' +0000')],
      ['Withings Link', `withings-app://timeline/measure?userid=4711&amp;date=${t}&amp;type=1`],
      ['HKWasUserEntered', '0'],
    ],
  });
}

export const OMRON = app('Omron Connect', '7.9.1');
export const MFP = app('MyFitnessPal', '23040');

/** The exact line a correlation child has, shared by the top-level copy (format §1.6). */
export function childRecordXml(
  c: DayCtx,
  type: string,
  src: Source,
  unit: string,
  t: number,
  value: string,
): string {
  const d = c.w.clock.format(t);
  const created = c.w.clock.format(t + 105);
  return `type="${type}" sourceName="${src.name}" sourceVersion="${src.version}" unit="${unit}" creationDate="${created}" startDate="${d}" endDate="${d}" value="${value}"`;
}

function bpCopies(c: DayCtx, out: Out, which: 'sys' | 'dia'): void {
  const type = `${Q}${which === 'sys' ? 'BloodPressureSystolic' : 'BloodPressureDiastolic'}`;
  for (const bp of c.plan.bp) {
    const start = c.w.clock.format(bp.t);
    out(` <Record ${childRecordXml(c, type, OMRON, 'mmHg', bp.t, String(bp[which]))}/>\n`, {
      name: 'Record',
      type,
      start,
      startUtc: bp.t,
      copyKey: `bp:${bp.t}:${which}`,
    });
  }
}

function dietaryStreams(): RecordStream[] {
  return [
    'DietaryEnergyConsumed',
    'DietaryCarbohydrates',
    'DietaryProtein',
    'DietaryFatTotal',
    'DietarySugar',
    'DietarySodium',
    'DietaryFiber',
    'DietaryCholesterol',
  ].map((t) => ({
    type: `${Q}${t}`,
    run: (c: DayCtx, out: Out) => {
      for (const meal of c.plan.meals) {
        for (const [type, unit, value] of meal.items) {
          if (type !== `${Q}${t}`) continue;
          out(` <Record ${childRecordXml(c, type, MFP, unit, meal.t, value)}/>\n`, {
            name: 'Record',
            type,
            start: c.w.clock.format(meal.t),
            startUtc: meal.t,
            copyKey: `food:${meal.t}:${type}`,
          });
        }
      }
    },
  }));
}
