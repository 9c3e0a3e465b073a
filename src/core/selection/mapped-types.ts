/**
 * What the backend's XML import maps (contract §5.3, §5.5): every HK quantity identifier in its metric map
 * with the internal series it lands in, and the sleep stages: the one table validate's counts, the filter
 * aliases and every upload method use. The test double keeps its own copy (sandbox/backend/mapped-types.ts)
 * on purpose, so a mistake here cannot hide itself by being the double's mistake too.
 */
const Q = 'HKQuantityTypeIdentifier';

/** Short HK quantity name (without the prefix) → backend series; also the `--types` series aliases. */
export const SERIES_BY_SHORT_TYPE: Readonly<Record<string, string>> = {
  HeartRate: 'heart_rate',
  RestingHeartRate: 'resting_heart_rate',
  HeartRateVariabilitySDNN: 'heart_rate_variability_sdnn',
  HeartRateRecoveryOneMinute: 'heart_rate_recovery_one_minute',
  WalkingHeartRateAverage: 'walking_heart_rate_average',
  OxygenSaturation: 'oxygen_saturation',
  BloodGlucose: 'blood_glucose',
  BloodPressureSystolic: 'blood_pressure_systolic',
  BloodPressureDiastolic: 'blood_pressure_diastolic',
  RespiratoryRate: 'respiratory_rate',
  AppleSleepingBreathingDisturbances: 'sleeping_breathing_disturbances',
  BloodAlcoholContent: 'blood_alcohol_content',
  PeripheralPerfusionIndex: 'peripheral_perfusion_index',
  ForcedVitalCapacity: 'forced_vital_capacity',
  ForcedExpiratoryVolume1: 'forced_expiratory_volume_1',
  PeakExpiratoryFlowRate: 'peak_expiratory_flow_rate',
  BodyTemperature: 'body_temperature',
  BasalBodyTemperature: 'body_temperature',
  AppleSleepingWristTemperature: 'body_temperature',
  Height: 'height',
  BodyMass: 'weight',
  BodyFatPercentage: 'body_fat_percentage',
  BodyMassIndex: 'body_mass_index',
  LeanBodyMass: 'lean_body_mass',
  WaistCircumference: 'waist_circumference',
  VO2Max: 'vo2_max',
  SixMinuteWalkTestDistance: 'six_minute_walk_test_distance',
  StepCount: 'steps',
  ActiveEnergyBurned: 'energy',
  BasalEnergyBurned: 'basal_energy',
  AppleStandTime: 'stand_time',
  AppleExerciseTime: 'exercise_time',
  AppleMoveTime: 'exercise_time',
  FlightsClimbed: 'flights_climbed',
  PhysicalEffort: 'physical_effort',
  DistanceWalkingRunning: 'distance_walking_running',
  DistanceCycling: 'distance_cycling',
  DistanceSwimming: 'distance_swimming',
  DistanceDownhillSnowSports: 'distance_downhill_snow_sports',
  DistanceWheelchair: 'distance_other',
  DistanceCrossCountrySkiing: 'distance_other',
  DistancePaddleSports: 'distance_other',
  DistanceRowing: 'distance_other',
  DistanceSkatingSports: 'distance_other',
  WalkingStepLength: 'walking_step_length',
  WalkingSpeed: 'walking_speed',
  WalkingDoubleSupportPercentage: 'walking_double_support_percentage',
  WalkingAsymmetryPercentage: 'walking_asymmetry_percentage',
  AppleWalkingSteadiness: 'walking_steadiness',
  StairAscentSpeed: 'stair_ascent_speed',
  StairDescentSpeed: 'stair_descent_speed',
  RunningPower: 'running_power',
  RunningSpeed: 'running_speed',
  RunningVerticalOscillation: 'running_vertical_oscillation',
  RunningGroundContactTime: 'running_ground_contact_time',
  RunningStrideLength: 'running_stride_length',
  SwimmingStrokeCount: 'swimming_stroke_count',
  CyclingCadence: 'cadence',
  CyclingPower: 'power',
  CyclingFunctionalThresholdPower: 'power',
  CyclingSpeed: 'speed',
  EnvironmentalAudioExposure: 'environmental_audio_exposure',
  HeadphoneAudioExposure: 'headphone_audio_exposure',
  EnvironmentalSoundReduction: 'environmental_sound_reduction',
  TimeInDaylight: 'time_in_daylight',
  WaterTemperature: 'water_temperature',
  UVExposure: 'uv_exposure',
  UnderwaterDepth: 'distance_other',
  NumberOfTimesFallen: 'number_of_times_fallen',
  InhalerUsage: 'inhaler_usage',
  NumberOfAlcoholicBeverages: 'number_of_alcoholic_beverages',
  ElectrodermalActivity: 'electrodermal_activity',
  PushCount: 'push_count',
  AtrialFibrillationBurden: 'atrial_fibrillation_burden',
  InsulinDelivery: 'insulin_delivery',
  WorkoutEffortScore: 'workout_effort_score',
  EstimatedWorkoutEffortScore: 'estimated_workout_effort_score',
  // Contract §5.3 flags these as mis-mapped upstream (speeds and NikeFuel in a distance series); kept as is.
  CrossCountrySkiingSpeed: 'distance_other',
  PaddleSportsSpeed: 'distance_other',
  RowingSpeed: 'distance_other',
  NikeFuel: 'distance_other',
};

/** Full HK identifier → backend series, for the quantity types the XML import keeps. */
export const MAPPED_QUANTITY_TYPES: ReadonlyMap<string, string> = new Map(
  Object.entries(SERIES_BY_SHORT_TYPE).map(([k, v]) => [`${Q}${k}`, v]),
);

export const SLEEP_TYPE = 'HKCategoryTypeIdentifierSleepAnalysis';

/** The pseudo type Workouts go by in counts and filters (`--types Workout`). */
export const WORKOUT_TYPE = 'Workout';

/** Sleep `value` → backend stage (contract §5.5); any other value is skipped as unknown_sleep_stage. */
export const SLEEP_STAGES: ReadonlyMap<string, string> = new Map([
  ['HKCategoryValueSleepAnalysisAsleepCore', 'light'],
  ['HKCategoryValueSleepAnalysisAsleepDeep', 'deep'],
  ['HKCategoryValueSleepAnalysisAsleepREM', 'rem'],
  ['HKCategoryValueSleepAnalysisAwake', 'awake'],
  ['HKCategoryValueSleepAnalysisInBed', 'in_bed'],
  ['HKCategoryValueSleepAnalysisAsleep', 'sleeping'],
  ['HKCategoryValueSleepAnalysisAsleepUnspecified', 'sleeping'],
]);

/** Top-level elements the backend never reads (contract §5.2); Correlation children are still imported. */
export const IGNORED_ELEMENTS: ReadonlySet<string> = new Set([
  'ExportDate',
  'Me',
  'ActivitySummary',
  'ClinicalRecord',
  'Audiogram',
  'VisionPrescription',
]);

/** True when the backend imports Records of this type (a mapped quantity, or sleep). */
export function isImportedRecordType(type: string): boolean {
  return type === SLEEP_TYPE || MAPPED_QUANTITY_TYPES.has(type);
}
