import { childRecordXml, MFP, metadataLines, OMRON } from './records.js';
import { app, deviceAttr, watch } from './sources.js';
import type { DayCtx, Out } from './world.js';

const Q = 'HKQuantityTypeIdentifier';

export interface ElementStream {
  name: string;
  run(ctx: DayCtx, out: Out): void;
}

function bloodPressure(c: DayCtx, out: Out): void {
  for (const bp of c.plan.bp) {
    const d = c.w.clock.format(bp.t);
    const [meta, ctrl] = metadataLines(c, [['HKWasUserEntered', '0']], '  ');
    const sys = childRecordXml(c, `${Q}BloodPressureSystolic`, OMRON, 'mmHg', bp.t, String(bp.sys));
    const dia = childRecordXml(c, `${Q}BloodPressureDiastolic`, OMRON, 'mmHg', bp.t, String(bp.dia));
    const created = c.w.clock.format(bp.t + 105);
    const xml = ` <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="${OMRON.name}" sourceVersion="${OMRON.version}" creationDate="${created}" startDate="${d}" endDate="${d}">\n${meta}  <Record ${sys}/>\n  <Record ${dia}/>\n </Correlation>\n`;
    out(xml, {
      name: 'Correlation',
      type: 'HKCorrelationTypeIdentifierBloodPressure',
      nested: [
        ['MetadataEntry', 1],
        ['Record', 2],
      ],
      controlChars: ctrl,
      childKeys: [`bp:${bp.t}:sys`, `bp:${bp.t}:dia`],
    });
  }
}

function food(c: DayCtx, out: Out): void {
  for (const meal of c.plan.meals) {
    const d = c.w.clock.format(meal.t);
    const [meta, ctrl] = metadataLines(
      c,
      [
        ['meal', meal.name],
        ['Meal', meal.name],
      ],
      '  ',
    );
    let children = meta;
    for (const [type, unit, value] of meal.items)
      children += `  <Record ${childRecordXml(c, type, MFP, unit, meal.t, value)}/>\n`;
    const created = c.w.clock.format(meal.t + 105);
    out(
      ` <Correlation type="HKCorrelationTypeIdentifierFood" sourceName="${MFP.name}" sourceVersion="${MFP.version}" creationDate="${created}" startDate="${d}" endDate="${d}">\n${children} </Correlation>\n`,
      {
        name: 'Correlation',
        type: 'HKCorrelationTypeIdentifierFood',
        nested: [
          ['MetadataEntry', 2],
          ['Record', meal.items.length],
        ],
        controlChars: ctrl,
        childKeys: meal.items.map(([type]) => `food:${meal.t}:${type}`),
      },
    );
  }
}

const EVENT_TYPES = ['Pause', 'Segment', 'Lap', 'Marker'];
const OUTDOOR_ROUTE = /Walking|Running|Cycling|Hiking/;

function workouts(c: DayCtx, out: Out): void {
  const { rng, w } = c;
  const fmt = (t: number) => w.clock.format(t);
  for (const wk of c.plan.workouts) {
    const start = fmt(wk.start);
    const end = fmt(wk.end);
    const minutes = (wk.end - wk.start) / 60;
    const duration = String(Number((minutes * rng.range(0.9, 1)).toPrecision(7)));
    const created = fmt(wk.end + rng.int(5, 60));
    const counts = new Map<string, number>();
    const add = (name: string, n = 1) => counts.set(name, (counts.get(name) ?? 0) + n);
    if (wk.thirdParty) {
      // Third-party workouts (e.g. Strava) carry only duration (format §1.6).
      out(
        ` <Workout workoutActivityType="${wk.activity}" duration="${duration}" durationUnit="min" sourceName="Strava" sourceVersion="36030" creationDate="${created}" startDate="${start}" endDate="${end}"/>\n`,
        { name: 'Workout', workoutType: wk.activity, start, startUtc: wk.start },
      );
      continue;
    }
    const src = watch(c);
    const dev = deviceAttr(src, rng);
    let children = '';
    let ctrl = 0;
    const meta: [string, string][] = [
      ['HKIndoorWorkout', wk.indoor ? '1' : '0'],
      ['HKTimeZone', w.zoneName],
    ];
    let totals = '';
    if (c.modern) {
      if (!wk.indoor) {
        meta.push(['HKWeatherTemperature', `${rng.range(35, 90).toFixed(1)} degF`]);
        meta.push(['HKWeatherHumidity', `${rng.int(20, 95) * 100} %`]);
      }
      meta.push(['HKAverageMETs', `${rng.range(3, 12).toFixed(5)} kcal/hr·kg`]);
      if (!wk.indoor) meta.push(['HKElevationAscended', `${rng.int(100, 9000)} cm`]);
      // Apple sometimes writes the whole metadata set twice (format §1.6).
      const all = rng.chance(0.05) ? [...meta, ...meta] : meta;
      const [lines, n] = metadataLines(c, all, '  ');
      children += lines;
      ctrl += n;
      add('MetadataEntry', all.length);
      const events = rng.int(0, 3);
      for (let i = 0; i < events; i++) {
        const t = wk.start + Math.floor(((i + 0.5) * (wk.end - wk.start)) / (events + 1));
        if (i === 0 && events >= 2) {
          children += `  <WorkoutEvent type="HKWorkoutEventTypePause" date="${fmt(t)}"/>\n  <WorkoutEvent type="HKWorkoutEventTypeResume" date="${fmt(t + 90)}"/>\n`;
          add('WorkoutEvent', 2);
          i++;
        } else {
          children += `  <WorkoutEvent type="HKWorkoutEventType${rng.pick(EVENT_TYPES.slice(1))}" date="${fmt(t)}" duration="${rng.range(1, 10).toFixed(2)}" durationUnit="min"/>\n`;
          add('WorkoutEvent');
        }
      }
      if (rng.chance(0.05)) {
        const parts = rng.int(1, 4);
        const step = Math.floor((wk.end - wk.start) / parts);
        for (let p = 0; p < parts; p++) {
          const s = wk.start + p * step;
          children += `  <WorkoutActivity uuid="${rng.uuid()}" startDate="${fmt(s)}" endDate="${fmt(s + step)}" duration="${(step / 60).toFixed(5)}" durationUnit="min">\n   <WorkoutEvent type="HKWorkoutEventTypeSegment" date="${fmt(s)}" duration="${(step / 60).toFixed(2)}" durationUnit="min"/>\n   <WorkoutStatistics type="${Q}HeartRate" startDate="${fmt(s)}" endDate="${fmt(s + step)}" average="${rng.range(110, 160).toFixed(2)}" minimum="${rng.int(90, 110)}" maximum="${rng.int(160, 185)}" unit="count/min"/>\n  </WorkoutActivity>\n`;
          add('WorkoutActivity');
          add('WorkoutEvent');
          add('WorkoutStatistics');
        }
      }
      const stats: string[] = [
        `type="${Q}ActiveEnergyBurned" startDate="${start}" endDate="${end}" sum="${(minutes * rng.range(5, 12)).toFixed(3)}" unit="${w.energyUnit}"`,
        `type="${Q}BasalEnergyBurned" startDate="${start}" endDate="${end}" sum="${(minutes * rng.range(0.9, 1.3)).toFixed(3)}" unit="${w.energyUnit}"`,
        `type="${Q}HeartRate" startDate="${start}" endDate="${end}" average="${rng.range(110, 165).toFixed(2)}" minimum="${rng.int(80, 110)}" maximum="${rng.int(160, 188)}" unit="count/min"`,
      ];
      if (/Walking|Running|Hiking/.test(wk.activity)) {
        stats.push(
          `type="${Q}DistanceWalkingRunning" startDate="${start}" endDate="${end}" sum="${(minutes * rng.range(0.04, 0.12)).toFixed(5)}" unit="${w.distanceUnit}"`,
        );
        stats.push(
          `type="${Q}StepCount" startDate="${start}" endDate="${end}" sum="${Math.round(minutes * rng.range(90, 170))}" unit="count"`,
        );
      }
      if (/Running/.test(wk.activity))
        stats.push(
          `type="${Q}RunningPower" startDate="${start}" endDate="${end}" average="${rng.int(180, 280)}" minimum="${rng.int(80, 150)}" maximum="${rng.int(290, 360)}" unit="W"`,
        );
      if (/Cycling/.test(wk.activity))
        stats.push(
          `type="${Q}DistanceCycling" startDate="${start}" endDate="${end}" sum="${(minutes * rng.range(0.2, 0.45)).toFixed(5)}" unit="${w.distanceUnit}"`,
        );
      for (const s of stats) children += `  <WorkoutStatistics ${s}/>\n`;
      add('WorkoutStatistics', stats.length);
    } else {
      const dist = minutes * rng.range(0.04, 0.12);
      totals = ` totalDistance="${dist.toFixed(5)}" totalDistanceUnit="${w.distanceUnit}" totalEnergyBurned="${(minutes * rng.range(5, 12)).toFixed(3)}" totalEnergyBurnedUnit="${w.energyUnit}"`;
      const [lines, n] = metadataLines(c, meta.slice(0, 1), '  ');
      children += lines;
      ctrl += n;
      add('MetadataEntry');
      const segs = rng.int(3, 10);
      const step = Math.floor((wk.end - wk.start) / segs);
      for (let i = 0; i < segs; i++)
        children += `  <WorkoutEvent type="HKWorkoutEventTypeSegment" date="${fmt(wk.start + i * step)}" duration="${(step / 60).toFixed(2)}" durationUnit="min"/>\n`;
      add('WorkoutEvent', segs);
    }
    if (!wk.indoor && OUTDOOR_ROUTE.test(wk.activity) && rng.chance(0.75)) {
      const local = new Date((wk.end + w.clock.offsetMinutes(wk.end) * 60) * 1000);
      const h = local.getUTCHours();
      const file = `route_${local.toISOString().slice(0, 10)}_${h % 12 === 0 ? 12 : h % 12}.${String(local.getUTCMinutes()).padStart(2, '0')}${h < 12 ? 'am' : 'pm'}.gpx`;
      children += `  <WorkoutRoute sourceName="${src.name}" sourceVersion="${src.version}" creationDate="${created}" startDate="${fmt(wk.start + 1)}" endDate="${fmt(wk.end - 1)}">\n   <MetadataEntry key="HKMetadataKeySyncVersion" value="2"/>\n   <MetadataEntry key="HKMetadataKeySyncIdentifier" value="${rng.uuid()}"/>\n   <FileReference path="/workout-routes/${file}"/>\n  </WorkoutRoute>\n`;
      add('WorkoutRoute');
      add('MetadataEntry', 2);
      add('FileReference');
    }
    out(
      ` <Workout workoutActivityType="${wk.activity}" duration="${duration}" durationUnit="min"${totals} sourceName="${src.name}" sourceVersion="${src.version}"${dev} creationDate="${created}" startDate="${start}" endDate="${end}">\n${children} </Workout>\n`,
      {
        name: 'Workout',
        workoutType: wk.activity,
        start,
        startUtc: wk.start,
        nested: [...counts],
        controlChars: ctrl,
      },
    );
  }
}

function activitySummary(c: DayCtx, out: Out): void {
  const { rng } = c;
  const date = new Date(c.day * 86400000).toISOString().slice(0, 10);
  const zero = rng.chance(0.02);
  const goal = 400 + (Math.floor(c.index / 90) % 4) * 50;
  const n = (v: number) => (zero ? '0' : String(v));
  const moveKey = date < '2020-09-16' ? 'appleMoveMinutes' : 'appleMoveTime';
  out(
    ` <ActivitySummary dateComponents="${date}" activeEnergyBurned="${zero ? '0' : rng.range(150, 900).toFixed(3)}" activeEnergyBurnedGoal="${goal}" activeEnergyBurnedUnit="${c.w.energyUnit}" ${moveKey}="0" ${moveKey}Goal="0" appleExerciseTime="${n(rng.int(5, 90))}" appleExerciseTimeGoal="30" appleStandHours="${n(rng.int(6, 16))}" appleStandHoursGoal="12"/>\n`,
    { name: 'ActivitySummary' },
  );
}

const CLINICAL = ['Observation', 'DiagnosticReport', 'MedicationRequest', 'Immunization', 'Procedure'];

function clinical(c: DayCtx, out: Out): void {
  const { w, rng } = c;
  if (w.clinical <= 0) return;
  const every = Math.max(1, Math.floor(w.days / w.clinical));
  if (c.index % every !== 0 || c.index / every >= w.clinical) return;
  const kind = CLINICAL[(c.index / every) % CLINICAL.length]!;
  const id = rng.uuid();
  out(
    ` <ClinicalRecord type="HKClinicalTypeIdentifierLabResultRecord" identifier="${id.slice(0, 8).toLowerCase()}" sourceName="Riverbend Clinic" sourceURL="https://fhir.riverbend.example/r4/${kind}/${id.slice(0, 4)}" fhirVersion="${rng.chance(0.8) ? '4.0.1' : '1.0.2'}" receivedDate="${w.clock.format(c.midnight + 9 * 3600)}" resourceFilePath="/clinical-records/${kind}-${id}.json"/>\n`,
    { name: 'ClinicalRecord' },
  );
}

function audiogram(c: DayCtx, out: Out): void {
  const { w, rng } = c;
  if (w.audiograms <= 0) return;
  const every = Math.max(1, Math.floor(w.days / w.audiograms));
  if (c.index % every !== Math.floor(every / 3) || Math.floor(c.index / every) >= w.audiograms) return;
  const t = c.midnight + 19 * 3600;
  const freqs = [125, 250, 500, 1000, 2000, 4000, 8000].slice(0, rng.int(6, 7));
  let pts = '';
  for (const f of freqs)
    pts += `  <SensitivityPoint frequencyValue="${f}" frequencyUnit="Hz" leftEarValue="${rng.int(0, 30)}" leftEarUnit="dBHL" rightEarValue="${rng.int(0, 30)}" rightEarUnit="dBHL"/>\n`;
  const mimi = app('Mimi Hearing Test', '5.2');
  out(
    ` <Audiogram type="HKDataTypeIdentifierAudiogram" sourceName="${mimi.name}" sourceVersion="${mimi.version}" creationDate="${w.clock.format(t + 480)}" startDate="${w.clock.format(t)}" endDate="${w.clock.format(t + 460)}">\n${pts} </Audiogram>\n`,
    { name: 'Audiogram', nested: [['SensitivityPoint', freqs.length]] },
  );
}

function vision(c: DayCtx, out: Out): void {
  if (!c.w.vision || c.index !== Math.floor(c.w.days / 2)) return;
  const issued = c.w.clock.format(c.midnight);
  const expires = c.w.clock.format(c.midnight + 2 * 365 * 86400);
  out(
    ` <VisionPrescription type="glasses" dateIssued="${issued}" expirationDate="${expires}">\n  <RightEye sphere="-1.75" sphereUnit="D" cylinder="-0.5" cylinderUnit="D" axis="90" axisUnit="deg"/>\n  <LeftEye sphere="-2" sphereUnit="D"/>\n </VisionPrescription>\n`,
    {
      name: 'VisionPrescription',
      nested: [
        ['RightEye', 1],
        ['LeftEye', 1],
      ],
    },
  );
}

/** Non-Record top-level elements, in Apple's section order after the records (format §5.3). */
export function elementStreams(): ElementStream[] {
  return [
    { name: 'Correlation:BloodPressure', run: bloodPressure },
    { name: 'Correlation:Food', run: food },
    { name: 'Workout', run: workouts },
    { name: 'ActivitySummary', run: activitySummary },
    { name: 'ClinicalRecord', run: clinical },
    { name: 'Audiogram', run: audiogram },
    { name: 'VisionPrescription', run: vision },
  ];
}
