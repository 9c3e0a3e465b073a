/**
 * The unit strings Apple writes in an export (HealthKit's `HKUnit` unit strings, in the phone's display
 * units: `mi`, `km`, `lb`, `st`, `degF`, `kJ`, …) grouped by dimension, each with its factor to the
 * family's base. A unit not listed here is not guessed at: the record is skipped and the unit named.
 */

/** value × factor + offset is the value in the family's base unit. */
export interface Scale {
  factor: number;
  offset?: number;
}

const f = (factor: number): Scale => ({ factor });

/** Base: metre. */
export const LENGTH: Readonly<Record<string, Scale>> = {
  m: f(1),
  km: f(1000),
  cm: f(0.01),
  mm: f(0.001),
  mi: f(1609.344),
  yd: f(0.9144),
  ft: f(0.3048),
  in: f(0.0254),
};

/** Base: kilogram. `st` is the UK stone (14 lb). */
export const MASS: Readonly<Record<string, Scale>> = {
  kg: f(1),
  g: f(0.001),
  lb: f(0.45359237),
  st: f(6.35029318),
  oz: f(0.028349523125),
};

/** Base: kilocalorie. Apple's `Cal` is the food (kilo)calorie; `cal` the small one. */
export const ENERGY: Readonly<Record<string, Scale>> = {
  kcal: f(1),
  Cal: f(1),
  cal: f(0.001),
  kJ: f(1 / 4.184),
  J: f(1 / 4184),
};

/** Base: second. */
export const TIME: Readonly<Record<string, Scale>> = {
  s: f(1),
  ms: f(0.001),
  min: f(60),
  hr: f(3600),
  d: f(86400),
};

/** Base: metre per second. */
export const SPEED: Readonly<Record<string, Scale>> = {
  'm/s': f(1),
  'km/hr': f(1000 / 3600),
  'mi/hr': f(1609.344 / 3600),
  'ft/s': f(0.3048),
  'm/min': f(1 / 60),
};

/** Base: degree Celsius. */
export const TEMPERATURE: Readonly<Record<string, Scale>> = {
  degC: f(1),
  degF: { factor: 5 / 9, offset: -32 * (5 / 9) },
  K: { factor: 1, offset: -273.15 },
};

/** Base: per minute (heart rate, respiratory rate, cadence). */
export const FREQUENCY: Readonly<Record<string, Scale>> = {
  'count/min': f(1),
  'count/s': f(60),
};

/** Base: a fraction (HealthKit's `%` is 0–1 in exports: 0.97 for 97 %). */
export const PERCENT: Readonly<Record<string, Scale>> = { '%': f(1) };

export const COUNT: Readonly<Record<string, Scale>> = { count: f(1) };

/** Base: litre. */
export const VOLUME: Readonly<Record<string, Scale>> = { L: f(1), mL: f(0.001) };

/** Base: litre per minute. */
export const FLOW: Readonly<Record<string, Scale>> = { 'L/min': f(1), 'mL/min': f(0.001) };

/** Base: watt. */
export const POWER: Readonly<Record<string, Scale>> = { W: f(1), kW: f(1000) };

/** Base: millimetre of mercury. */
export const PRESSURE: Readonly<Record<string, Scale>> = { mmHg: f(1), cmAq: f(0.735559), kPa: f(7.50062) };

/** Base: dB SPL. */
export const SOUND: Readonly<Record<string, Scale>> = { dBASPL: f(1) };

/** Base: microsiemens (HealthKit writes `mcS` for µ). */
export const CONDUCTANCE: Readonly<Record<string, Scale>> = { S: f(1e6), mS: f(1000), mcS: f(1) };

/** Base: mL/(kg·min). Apple writes `mL/min·kg` (with U+00B7). */
export const VO2: Readonly<Record<string, Scale>> = { 'mL/min·kg': f(1), 'mL/kg·min': f(1) };

/** Base: kcal/(hr·kg), i.e. METs (PhysicalEffort). */
export const EFFORT: Readonly<Record<string, Scale>> = { 'kcal/hr·kg': f(1), 'kcal/kg·hr': f(1) };

/** Base: international units (insulin). */
export const INSULIN: Readonly<Record<string, Scale>> = { IU: f(1) };

/** Apple's effort score unit (WorkoutEffortScore, 1–10). */
export const EFFORT_SCORE: Readonly<Record<string, Scale>> = { appleEffortScore: f(1) };

/** Base: mg/dL. `mmol<M>/L` (M the molar mass, 180.156 for glucose) is handled where it is read. */
export const GLUCOSE: Readonly<Record<string, Scale>> = { 'mg/dL': f(1), 'g/L': f(100), 'mg/L': f(0.1) };
