// Contract §5.3: the HealthKit quantity types the backend maps to a time series (its `metric_types.py`, used
// by both the XML and the SDK path). Every other Record type is dropped silently (§5.2), except sleep (§5.5),
// which has its own mapping below.
//
// AN INDEPENDENT COPY ON PURPOSE. The product has its own model of the same table (core/validate); this one
// must not import it, nor the other way round. The double stands in for the backend, and a test that compares
// what the CLI predicts with what the double imports means something only while the two tables are written
// and checked separately against the backend's source. A contract change is made in both, each from the
// backend's code.

const Q = 'HKQuantityTypeIdentifier';

const SERIES_BY_SHORT_TYPE: Record<string, string> = {
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
  // Contract §5.3 flags these as probably wrong upstream; the double reproduces them anyway.
  CrossCountrySkiingSpeed: 'distance_other',
  PaddleSportsSpeed: 'distance_other',
  RowingSpeed: 'distance_other',
  NikeFuel: 'distance_other',
};

/** Full HK identifier → internal series type. */
export const MAPPED_RECORD_TYPES: ReadonlyMap<string, string> = new Map(
  Object.entries(SERIES_BY_SHORT_TYPE).map(([short, series]) => [`${Q}${short}`, series]),
);

export const SLEEP_TYPE = 'HKCategoryTypeIdentifierSleepAnalysis';

/** Contract §5.5: sleep `value` suffix → stage. */
export const SLEEP_STAGES: ReadonlyMap<string, 'light' | 'deep' | 'rem' | 'awake' | 'in_bed' | 'sleeping'> =
  new Map([
    ['HKCategoryValueSleepAnalysisAsleepCore', 'light'],
    ['HKCategoryValueSleepAnalysisAsleepDeep', 'deep'],
    ['HKCategoryValueSleepAnalysisAsleepREM', 'rem'],
    ['HKCategoryValueSleepAnalysisAwake', 'awake'],
    ['HKCategoryValueSleepAnalysisInBed', 'in_bed'],
    ['HKCategoryValueSleepAnalysisAsleep', 'sleeping'],
    ['HKCategoryValueSleepAnalysisAsleepUnspecified', 'sleeping'],
  ]);
