// Every mapped quantity type in every unit Apple may write for it, sent with `upload --method sdk` to the
// contract double, which applies the SDK path's own conversions (contract §5.4) and stores the value:
// what it stores must be the value in the series' canonical unit, worked out here from the definitions of
// the units (not from the product's table). A unit the product does not know is a counted skip, named.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAPPED_QUANTITY_TYPES } from '../../../src/core/selection/mapped-types.js';
import { unitRuleOf } from '../../../src/core/units/convert.js';
import { type BackendDouble, startBackendDouble } from '../../../src/sandbox/backend/index.js';
import { CliEnv } from '../../helpers/cli-env.js';

const API_KEY = `sk-${'5d'.repeat(16)}`;

const MILE = 5280 * 0.3048;
const POUND = 0.45359237;
/** Each dimension: an input value, and per unit the value in the dimension's reference unit. */
const DIMENSIONS: Record<string, { input: number; units: Record<string, (v: number) => number> }> = {
  length: {
    input: 1.25,
    units: {
      m: (v) => v,
      km: (v) => v * 1000,
      cm: (v) => v / 100,
      mm: (v) => v / 1000,
      mi: (v) => v * MILE,
      yd: (v) => v * 3 * 0.3048,
      ft: (v) => v * 0.3048,
      in: (v) => (v * 0.3048) / 12,
    },
  },
  mass: {
    input: 70.5,
    units: {
      kg: (v) => v,
      g: (v) => v / 1000,
      lb: (v) => v * POUND,
      st: (v) => v * 14 * POUND,
      oz: (v) => (v * POUND) / 16,
    },
  },
  energy: {
    input: 12.5,
    units: {
      kcal: (v) => v,
      Cal: (v) => v,
      cal: (v) => v / 1000,
      kJ: (v) => v / 4.184,
      J: (v) => v / 4184,
    },
  },
  time: {
    input: 1.5,
    units: { s: (v) => v, ms: (v) => v / 1000, min: (v) => v * 60, hr: (v) => v * 3600, d: (v) => v * 86400 },
  },
  speed: {
    input: 1.5,
    units: {
      'm/s': (v) => v,
      'km/hr': (v) => (v * 1000) / 3600,
      'mi/hr': (v) => (v * MILE) / 3600,
      'ft/s': (v) => v * 0.3048,
      'm/min': (v) => v / 60,
    },
  },
  temperature: {
    input: 36.6,
    units: { degC: (v) => v, degF: (v) => ((v - 32) * 5) / 9, K: (v) => v - 273.15 },
  },
  frequency: { input: 72, units: { 'count/min': (v) => v, 'count/s': (v) => v * 60 } },
  /** Reference: percent (Apple's `%` is a fraction). */
  percent: { input: 0.97, units: { '%': (v) => v * 100 } },
  count: { input: 7, units: { count: (v) => v } },
  volume: { input: 3.5, units: { L: (v) => v, mL: (v) => v / 1000 } },
  flow: { input: 450, units: { 'L/min': (v) => v, 'mL/min': (v) => v / 1000 } },
  power: { input: 250, units: { W: (v) => v, kW: (v) => v * 1000 } },
  /** Reference: mmHg (a kPa is 7.500617 mmHg; a cm of water 0.735559 mmHg). */
  pressure: { input: 120, units: { mmHg: (v) => v, kPa: (v) => v * 7.500617, cmAq: (v) => v * 0.735559 } },
  sound: { input: 65, units: { dBASPL: (v) => v } },
  /** Reference: microsiemens. */
  conductance: { input: 2.5, units: { S: (v) => v * 1e6, mS: (v) => v * 1e3, mcS: (v) => v } },
  vo2: { input: 42.5, units: { 'mL/min·kg': (v) => v, 'mL/kg·min': (v) => v } },
  effort: { input: 3.5, units: { 'kcal/hr·kg': (v) => v, 'kcal/kg·hr': (v) => v } },
  insulin: { input: 4, units: { IU: (v) => v } },
  effortScore: { input: 6, units: { appleEffortScore: (v) => v } },
  /** Reference: mg/dL; glucose's molar mass as Apple writes it in the unit. */
  glucose: {
    input: 5.5,
    units: {
      'mg/dL': (v) => v,
      'mmol<180.15588000005408>/L': (v) => v * 18.015588000005408,
      'g/L': (v) => v * 100,
      'mg/L': (v) => v / 10,
    },
  },
};

/** Type → its dimension and the factor from the dimension's reference unit to the series' unit (§5.3). */
const TYPES: Record<string, [dimension: string, toSeries: number, input?: number]> = {
  HeartRate: ['frequency', 1],
  RestingHeartRate: ['frequency', 1],
  HeartRateVariabilitySDNN: ['time', 1000],
  HeartRateRecoveryOneMinute: ['frequency', 1],
  WalkingHeartRateAverage: ['frequency', 1],
  OxygenSaturation: ['percent', 1],
  BloodGlucose: ['glucose', 1],
  BloodPressureSystolic: ['pressure', 1],
  BloodPressureDiastolic: ['pressure', 1],
  RespiratoryRate: ['frequency', 1],
  AppleSleepingBreathingDisturbances: ['count', 1],
  // 0.08 % BAC is 0.08 g per 100 mL: 80 mg/dL.
  BloodAlcoholContent: ['percent', 1000, 0.0008],
  PeripheralPerfusionIndex: ['percent', 1],
  ForcedVitalCapacity: ['volume', 1],
  ForcedExpiratoryVolume1: ['volume', 1],
  PeakExpiratoryFlowRate: ['flow', 1],
  BodyTemperature: ['temperature', 1],
  BasalBodyTemperature: ['temperature', 1],
  AppleSleepingWristTemperature: ['temperature', 1],
  Height: ['length', 100],
  BodyMass: ['mass', 1],
  BodyFatPercentage: ['percent', 1, 0.215],
  BodyMassIndex: ['count', 1, 22.4],
  LeanBodyMass: ['mass', 1],
  WaistCircumference: ['length', 100],
  VO2Max: ['vo2', 1],
  SixMinuteWalkTestDistance: ['length', 1],
  StepCount: ['count', 1],
  ActiveEnergyBurned: ['energy', 1],
  BasalEnergyBurned: ['energy', 1],
  AppleStandTime: ['time', 1 / 60],
  AppleExerciseTime: ['time', 1 / 60],
  AppleMoveTime: ['time', 1 / 60],
  FlightsClimbed: ['count', 1],
  PhysicalEffort: ['effort', 1],
  DistanceWalkingRunning: ['length', 1],
  DistanceCycling: ['length', 1],
  DistanceSwimming: ['length', 1],
  DistanceDownhillSnowSports: ['length', 1],
  DistanceWheelchair: ['length', 1],
  DistanceCrossCountrySkiing: ['length', 1],
  DistancePaddleSports: ['length', 1],
  DistanceRowing: ['length', 1],
  DistanceSkatingSports: ['length', 1],
  WalkingStepLength: ['length', 100, 0.72],
  WalkingSpeed: ['speed', 1],
  WalkingDoubleSupportPercentage: ['percent', 1, 0.284],
  WalkingAsymmetryPercentage: ['percent', 1, 0.031],
  AppleWalkingSteadiness: ['percent', 1, 0.885],
  StairAscentSpeed: ['speed', 1],
  StairDescentSpeed: ['speed', 1],
  RunningPower: ['power', 1],
  RunningSpeed: ['speed', 1],
  RunningVerticalOscillation: ['length', 100, 0.085],
  RunningGroundContactTime: ['time', 1000, 0.245],
  RunningStrideLength: ['length', 100],
  SwimmingStrokeCount: ['count', 1],
  CyclingCadence: ['frequency', 1],
  CyclingPower: ['power', 1],
  CyclingFunctionalThresholdPower: ['power', 1],
  CyclingSpeed: ['speed', 1],
  EnvironmentalAudioExposure: ['sound', 1],
  HeadphoneAudioExposure: ['sound', 1],
  EnvironmentalSoundReduction: ['sound', 1],
  TimeInDaylight: ['time', 1 / 60],
  WaterTemperature: ['temperature', 1],
  UVExposure: ['count', 1],
  UnderwaterDepth: ['length', 1],
  NumberOfTimesFallen: ['count', 1],
  InhalerUsage: ['count', 1],
  NumberOfAlcoholicBeverages: ['count', 1],
  ElectrodermalActivity: ['conductance', 1],
  PushCount: ['count', 1],
  AtrialFibrillationBurden: ['percent', 1, 0.021],
  InsulinDelivery: ['insulin', 1],
  WorkoutEffortScore: ['effortScore', 1],
  EstimatedWorkoutEffortScore: ['effortScore', 1],
  // Filed in distance_other by the backend (§5.3); sent in m/s, the speed's base unit.
  CrossCountrySkiingSpeed: ['speed', 1],
  PaddleSportsSpeed: ['speed', 1],
  RowingSpeed: ['speed', 1],
  NikeFuel: ['count', 1],
};

interface Row {
  type: string;
  unit: string;
  value: number;
  /** In the series' unit; null when it cannot be stored (outside NUMERIC(10,3)). */
  expected: number | null;
  at: string;
  atMs: number;
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function dateAt(i: number): { apple: string; ms: number } {
  const ms = Date.UTC(2024, 2, 1, 0, 0, 0) + i * 60_000;
  const local = new Date(ms + 3600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  const apple = `${local.getUTCFullYear()}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())} ${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())} +0100`;
  return { apple, ms };
}

function rows(): Row[] {
  const out: Row[] = [];
  for (const [type, [dimension, toSeries, input]] of Object.entries(TYPES)) {
    const d = DIMENSIONS[dimension]!;
    for (const [unit, toReference] of Object.entries(d.units)) {
      const value = input ?? d.input;
      const v = toReference(value) * toSeries;
      const { apple, ms } = dateAt(out.length);
      out.push({ type, unit, value, expected: Math.abs(v) < 9_999_999.9995 ? v : null, at: apple, atMs: ms });
    }
  }
  return out;
}

function exportXml(
  records: { type: string; unit: string | null; value: number | string; at: string }[],
): string {
  const lines = records.map(
    (r) =>
      ` <Record type="HKQuantityTypeIdentifier${r.type}" sourceName="Unit Test" sourceVersion="1"` +
      `${r.unit === null ? '' : ` unit="${xmlEscape(r.unit)}"`} creationDate="${r.at}" startDate="${r.at}" endDate="${r.at}" value="${r.value}"/>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n <ExportDate value="2024-04-01 00:00:00 +0100"/>\n${lines.join('\n')}\n</HealthData>\n`;
}

describe('units: what the backend stores from upload --method sdk', () => {
  let double: BackendDouble;
  let cli: CliEnv;
  let dir: string;
  const env = { APPLE_IMPORT_API_KEY: API_KEY };

  before(async () => {
    double = await startBackendDouble({ seed: { apiKeys: [API_KEY] }, directDelayMs: 1 });
    cli = await CliEnv.create(double.url);
    dir = await mkdtemp(join(tmpdir(), 'units-test-'));
  });
  after(async () => {
    await double.close();
    await cli.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('the test table covers every quantity type the backend maps', () => {
    const short = [...MAPPED_QUANTITY_TYPES.keys()].map((t) => t.replace('HKQuantityTypeIdentifier', ''));
    assert.deepEqual(Object.keys(TYPES).sort(), short.sort());
  });

  it('the test table has every unit the product converts for each type, and no other', () => {
    // Only the product's unit names are read here, never its factors: a unit added to the product
    // without an expected value in this file fails, as does a unit this file expects and the product lacks.
    const gaps: string[] = [];
    for (const type of MAPPED_QUANTITY_TYPES.keys()) {
      const short = type.replace('HKQuantityTypeIdentifier', '');
      const rule = unitRuleOf(type);
      const expected = TYPES[short];
      if (!rule || !expected) {
        gaps.push(`${short}: ${rule ? 'not in the test table' : 'no unit rule in the product'}`);
        continue;
      }
      const product = Object.keys(rule.from);
      if (rule.molar) product.push('mmol<180.15588000005408>/L');
      const tested = Object.keys(DIMENSIONS[expected[0]]!.units);
      for (const u of product) if (!tested.includes(u)) gaps.push(`${short} in "${u}": no expected value`);
      for (const u of tested) if (!product.includes(u)) gaps.push(`${short} in "${u}": the product lacks it`);
    }
    assert.deepEqual(gaps, []);
  });

  it('stores every type, in every unit Apple writes for it, as the value in its series unit', async () => {
    const user = double.createUser({ email: 'units@example.com' });
    const all = rows();
    const file = join(dir, 'units.xml');
    await writeFile(file, exportXml(all));
    const r = await cli.run(['upload', file, '--user', user.id, '--method', 'sdk', '--wait', '--json'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      notSent: Record<string, { total: number; byType: Record<string, number> }>;
      unknownUnits: Record<string, Record<string, number>>;
    };
    assert.deepEqual(doc.unknownUnits, {}, 'every unit in the table is known');
    const stored = new Map(double.imports(user.id).records.map((rec) => [rec.recordedAtMs, rec]));
    const failures: string[] = [];
    let tooLarge = 0;
    for (const row of all) {
      const got = stored.get(row.atMs);
      const what = `${row.type} ${row.value} ${row.unit}`;
      if (row.expected === null) {
        tooLarge++;
        if (got) failures.push(`${what}: stored ${got.stored}, but it is outside NUMERIC(10,3)`);
        continue;
      }
      if (!got) {
        failures.push(`${what}: not stored`);
        continue;
      }
      assert.equal(got.type, `HKQuantityTypeIdentifier${row.type}`);
      // The column rounds to 3 places; anything further off is a wrong conversion.
      if (Math.abs(Number(got.stored) - row.expected) > 0.0005 + 1e-7)
        failures.push(`${what}: stored ${got.stored} ${got.unit}, expected ${row.expected}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(tooLarge > 0, 'some rows (days in ms) exceed the column');
    assert.equal(doc.notSent['value-out-of-range']?.total, tooLarge);
  });

  it('a unit it does not know is a counted skip that names the unit, and the rest is sent', async () => {
    const user = double.createUser({ email: 'unknown-units@example.com' });
    const file = join(dir, 'unknown.xml');
    await writeFile(
      file,
      exportXml([
        { type: 'HeartRate', unit: 'count/min', value: 61, at: '2024-03-02 08:00:00 +0000' },
        { type: 'HeartRate', unit: 'beats/fortnight', value: 61, at: '2024-03-02 08:01:00 +0000' },
        { type: 'BodyMass', unit: 'stone-ish', value: 11, at: '2024-03-02 08:02:00 +0000' },
        { type: 'BodyMass', unit: null, value: 70, at: '2024-03-02 08:03:00 +0000' },
        { type: 'DistanceCycling', unit: 'furlong', value: 3, at: '2024-03-02 08:04:00 +0000' },
      ]),
    );
    const r = await cli.run(['upload', file, '--user', user.id, '--method', 'sdk', '--wait', '--json'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as {
      records: number;
      notSent: Record<string, { total: number; byType: Record<string, number> }>;
      unknownUnits: Record<string, Record<string, number>>;
    };
    assert.equal(doc.records, 1);
    assert.equal(doc.notSent['unknown-unit']?.total, 4);
    assert.deepEqual(doc.unknownUnits, {
      HKQuantityTypeIdentifierHeartRate: { 'beats/fortnight': 1 },
      HKQuantityTypeIdentifierBodyMass: { 'stone-ish': 1, '(none)': 1 },
      HKQuantityTypeIdentifierDistanceCycling: { furlong: 1 },
    });
    assert.deepEqual(
      double.imports(user.id).records.map((x) => x.stored),
      ['61.000'],
    );
    const human = await cli.run(['upload', file, '--user', user.id, '--method', 'sdk', '--dry-run'], { env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stderr, /cannot send 4 \(unknown-unit\): .*HeartRate in "beats\/fortnight"/);
    assert.match(human.stderr, /DistanceCycling in "furlong"/);
  });
});
