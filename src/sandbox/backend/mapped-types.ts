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

/** `SERIES_TYPE_DEFINITIONS`: the unit each series is stored in (contract §5.3), for every series the XML and
 * SDK paths can write, workout-statistic series included (§6.2). */
export const SERIES_UNITS: ReadonlyMap<string, string> = new Map(
  (
    'heart_rate bpm;resting_heart_rate bpm;heart_rate_variability_sdnn ms;heart_rate_recovery_one_minute bpm;' +
    'walking_heart_rate_average bpm;oxygen_saturation percent;blood_glucose mg_dl;blood_pressure_systolic mmHg;' +
    'blood_pressure_diastolic mmHg;respiratory_rate brpm;sleeping_breathing_disturbances count;' +
    'blood_alcohol_content mg_dl;peripheral_perfusion_index score;forced_vital_capacity liters;' +
    'forced_expiratory_volume_1 liters;peak_expiratory_flow_rate L/min;height cm;weight kg;' +
    'body_fat_percentage percent;body_mass_index kg_m2;lean_body_mass kg;body_temperature celsius;' +
    'waist_circumference cm;vo2_max ml_kg_min;six_minute_walk_test_distance meters;steps count;energy kcal;' +
    'basal_energy kcal;stand_time minutes;exercise_time minutes;physical_effort score;flights_climbed count;' +
    'average_met met;distance_walking_running meters;distance_cycling meters;distance_swimming meters;' +
    'distance_downhill_snow_sports meters;distance_other meters;walking_step_length cm;walking_speed m_per_s;' +
    'walking_double_support_percentage percent;walking_asymmetry_percentage percent;walking_steadiness percent;' +
    'stair_descent_speed m_per_s;stair_ascent_speed m_per_s;running_power watts;running_speed m_per_s;' +
    'running_vertical_oscillation cm;running_ground_contact_time ms;running_stride_length cm;' +
    'swimming_stroke_count count;cadence rpm;power watts;speed m_per_s;workout_effort_score score;' +
    'estimated_workout_effort_score score;environmental_audio_exposure dB;headphone_audio_exposure dB;' +
    'environmental_sound_reduction dB;time_in_daylight minutes;water_temperature celsius;uv_exposure count;' +
    'inhaler_usage count;weather_temperature celsius;weather_humidity percent;electrodermal_activity count;' +
    'push_count count;atrial_fibrillation_burden count;insulin_delivery count;number_of_times_fallen count;' +
    'number_of_alcoholic_beverages count'
  )
    .split(';')
    .map((pair) => pair.split(' ') as [string, string]),
);
