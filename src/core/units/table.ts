/**
 * For every quantity type the backend maps (core/selection/mapped-types.ts), the units Apple may write
 * for it and what the SDK route must be sent so that the stored value is right in the series' unit.
 *
 * The SDK path stores values as received except for its own conversions (contract §5.4
 * `_normalize_unit`): height and walking step length ×100 (sent in m, stored in cm), body fat ×100 for
 * provider apple, walking double support, asymmetry and steadiness ×100 (sent as fractions, stored in
 * percent), and glucose ×18.0182 when the unit starts with "mmol". Everything else is sent already in the
 * series' unit. Glucose is converted here with the molar mass Apple writes in the unit
 * (`mmol<180.15588000005408>/L`) and sent as mg/dL, so the backend's rounded factor is not applied.
 */
import {
  CONDUCTANCE,
  COUNT,
  EFFORT,
  EFFORT_SCORE,
  ENERGY,
  FLOW,
  FREQUENCY,
  GLUCOSE,
  INSULIN,
  LENGTH,
  MASS,
  PERCENT,
  POWER,
  PRESSURE,
  type Scale,
  SOUND,
  SPEED,
  TEMPERATURE,
  TIME,
  VO2,
  VOLUME,
} from './families.js';

export interface UnitRule {
  /** The units Apple writes for the type, each to the family's base unit. */
  from: Readonly<Record<string, Scale>>;
  /** The base value × this is what is sent. */
  k: number;
  /** The `unit` string sent with the value. */
  unit: string;
  /** The backend multiplies what it receives by this (contract §5.4); documentation and the plan. */
  server?: number;
  /** `mmol<M>/L` is read (glucose). */
  molar?: boolean;
}

const r = (from: UnitRule['from'], unit: string, k = 1, extra: Partial<UnitRule> = {}): UnitRule => ({
  from,
  unit,
  k,
  ...extra,
});

const BPM = r(FREQUENCY, 'count/min');
const METRES = r(LENGTH, 'm');
const CENTIMETRES = r(LENGTH, 'cm', 100);
const KG = r(MASS, 'kg');
const KCAL = r(ENERGY, 'kcal');
const MINUTES = r(TIME, 'min', 1 / 60);
const MILLISECONDS = r(TIME, 'ms', 1000);
const METRES_PER_SECOND = r(SPEED, 'm/s');
const CELSIUS = r(TEMPERATURE, 'degC');
const N = r(COUNT, 'count');
/** A fraction the backend turns into percent itself. */
const FRACTION_SERVER_PERCENT = r(PERCENT, '%', 1, { server: 100 });
/** A fraction sent as percent (the backend stores what it gets in a percent series). */
const AS_PERCENT = r(PERCENT, '%', 100);
const DB = r(SOUND, 'dBASPL');
const WATTS = r(POWER, 'W');
const LITRES = r(VOLUME, 'L');

/** Short HK quantity name (without `HKQuantityTypeIdentifier`) → its rule. */
export const UNIT_RULES: Readonly<Record<string, UnitRule>> = {
  HeartRate: BPM,
  RestingHeartRate: BPM,
  HeartRateVariabilitySDNN: MILLISECONDS,
  HeartRateRecoveryOneMinute: BPM,
  WalkingHeartRateAverage: BPM,
  OxygenSaturation: AS_PERCENT,
  BloodGlucose: r(GLUCOSE, 'mg/dL', 1, { molar: true }),
  BloodPressureSystolic: r(PRESSURE, 'mmHg'),
  BloodPressureDiastolic: r(PRESSURE, 'mmHg'),
  RespiratoryRate: BPM,
  AppleSleepingBreathingDisturbances: N,
  // Apple's blood alcohol is a fraction (0.0008 for 0.08 %, i.e. 0.08 g/dL); the series is mg/dL.
  BloodAlcoholContent: r(PERCENT, 'mg/dL', 100_000),
  // Perfusion index is conventionally read in percent (0.02–20 %).
  PeripheralPerfusionIndex: AS_PERCENT,
  ForcedVitalCapacity: LITRES,
  ForcedExpiratoryVolume1: LITRES,
  PeakExpiratoryFlowRate: r(FLOW, 'L/min'),
  BodyTemperature: CELSIUS,
  BasalBodyTemperature: CELSIUS,
  AppleSleepingWristTemperature: CELSIUS,
  Height: r(LENGTH, 'm', 1, { server: 100 }),
  BodyMass: KG,
  BodyFatPercentage: FRACTION_SERVER_PERCENT,
  BodyMassIndex: N,
  LeanBodyMass: KG,
  WaistCircumference: CENTIMETRES,
  VO2Max: r(VO2, 'mL/min·kg'),
  SixMinuteWalkTestDistance: METRES,
  StepCount: N,
  ActiveEnergyBurned: KCAL,
  BasalEnergyBurned: KCAL,
  AppleStandTime: MINUTES,
  AppleExerciseTime: MINUTES,
  AppleMoveTime: MINUTES,
  FlightsClimbed: N,
  PhysicalEffort: r(EFFORT, 'kcal/hr·kg'),
  DistanceWalkingRunning: METRES,
  DistanceCycling: METRES,
  DistanceSwimming: METRES,
  DistanceDownhillSnowSports: METRES,
  DistanceWheelchair: METRES,
  DistanceCrossCountrySkiing: METRES,
  DistancePaddleSports: METRES,
  DistanceRowing: METRES,
  DistanceSkatingSports: METRES,
  WalkingStepLength: r(LENGTH, 'm', 1, { server: 100 }),
  WalkingSpeed: METRES_PER_SECOND,
  WalkingDoubleSupportPercentage: FRACTION_SERVER_PERCENT,
  WalkingAsymmetryPercentage: FRACTION_SERVER_PERCENT,
  AppleWalkingSteadiness: FRACTION_SERVER_PERCENT,
  StairAscentSpeed: METRES_PER_SECOND,
  StairDescentSpeed: METRES_PER_SECOND,
  RunningPower: WATTS,
  RunningSpeed: METRES_PER_SECOND,
  RunningVerticalOscillation: CENTIMETRES,
  RunningGroundContactTime: MILLISECONDS,
  RunningStrideLength: CENTIMETRES,
  SwimmingStrokeCount: N,
  CyclingCadence: BPM,
  CyclingPower: WATTS,
  CyclingFunctionalThresholdPower: WATTS,
  CyclingSpeed: METRES_PER_SECOND,
  EnvironmentalAudioExposure: DB,
  HeadphoneAudioExposure: DB,
  EnvironmentalSoundReduction: DB,
  TimeInDaylight: MINUTES,
  WaterTemperature: CELSIUS,
  UVExposure: N,
  UnderwaterDepth: METRES,
  NumberOfTimesFallen: N,
  InhalerUsage: N,
  NumberOfAlcoholicBeverages: N,
  ElectrodermalActivity: r(CONDUCTANCE, 'mcS'),
  PushCount: N,
  AtrialFibrillationBurden: AS_PERCENT,
  InsulinDelivery: r(INSULIN, 'IU'),
  WorkoutEffortScore: r(EFFORT_SCORE, 'appleEffortScore'),
  EstimatedWorkoutEffortScore: r(EFFORT_SCORE, 'appleEffortScore'),
  // The backend files these speeds and NikeFuel in distance_other (contract §5.3); sent in base units.
  CrossCountrySkiingSpeed: METRES_PER_SECOND,
  PaddleSportsSpeed: METRES_PER_SECOND,
  RowingSpeed: METRES_PER_SECOND,
  NikeFuel: N,
};
