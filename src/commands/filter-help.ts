/**
 * The filter flags `validate` and `upload` share (one grammar: core/selection/filters.ts), as commander
 * describes them. Only text here: a command's spec loads no core module.
 */
import type { Command } from 'commander';

export interface FilterFlags {
  since?: string;
  until?: string;
  types?: string;
  excludeTypes?: string;
}

const FILTER_TEXT = `Filters (on startDate):
  --since D    keep samples starting at or after D
  --until D    keep samples starting at or before D; a bare date means through the end of that day
  D is YYYY-MM-DD (compared with the sample's wall clock in its own UTC offset: --since 2024-03-01
  keeps 2024-03-01 00:00:00 +0100 and --until 2024-03-01 keeps 2024-03-01 23:59:59 -0500), or a
  timestamp: with an offset (2024-03-01T08:00:00+01:00) it is an exact instant; without one it is a
  wall-clock time like a bare date. Apple groups records by type, so the whole file is always read.
  --types/--exclude-types take HK identifiers (HKQuantityTypeIdentifierHeartRate, or HeartRate for a
  type the backend imports), Workout, a workout activity (HKWorkoutActivityTypeRunning), or an alias
  (heart_rate, steps, sleep, workouts…): \`apple-import help types\` lists them all.`;

/**
 * The `--types` aliases (core/selection/filters.ts typeAliases), written out: commander prints help
 * synchronously, and computing them would load core modules on every start just for this text.
 * test/startup.test.ts fails when the two lists differ.
 */
const TYPE_ALIAS_HELP = `
    atrial_fibrillation_burden, basal_energy, blood_alcohol_content, blood_glucose,
    blood_pressure_diastolic, blood_pressure_systolic, body_fat_percentage, body_mass_index,
    body_temperature, cadence, distance_cycling, distance_downhill_snow_sports, distance_other,
    distance_swimming, distance_walking_running, electrodermal_activity, energy,
    environmental_audio_exposure, environmental_sound_reduction, estimated_workout_effort_score,
    exercise_time, flights_climbed, forced_expiratory_volume_1, forced_vital_capacity,
    headphone_audio_exposure, heart_rate, heart_rate_recovery_one_minute,
    heart_rate_variability_sdnn, height, inhaler_usage, insulin_delivery, lean_body_mass,
    number_of_alcoholic_beverages, number_of_times_fallen, oxygen_saturation,
    peak_expiratory_flow_rate, peripheral_perfusion_index, physical_effort, power, push_count,
    respiratory_rate, resting_heart_rate, running_ground_contact_time, running_power, running_speed,
    running_stride_length, running_vertical_oscillation, six_minute_walk_test_distance, sleep,
    sleeping_breathing_disturbances, speed, stair_ascent_speed, stair_descent_speed, stand_time,
    steps, swimming_stroke_count, time_in_daylight, uv_exposure, vo2_max, waist_circumference,
    walking_asymmetry_percentage, walking_double_support_percentage, walking_heart_rate_average,
    walking_speed, walking_steadiness, walking_step_length, water_temperature, weight,
    workout_effort_score, workouts`;

export const FILTER_HELP = FILTER_TEXT;

/** `apple-import help types`: what --types and --exclude-types take. */
export const TYPES_HELP = `--types and --exclude-types (validate, upload --method direct) take a comma-separated list of:
  HK identifiers     HKQuantityTypeIdentifierHeartRate, or HeartRate for a type the backend imports
  Workout            every workout; or one activity, e.g. HKWorkoutActivityTypeRunning
  aliases:${TYPE_ALIAS_HELP}
`;

/** Adds --since/--until/--types/--exclude-types, their help saying what they do ("only count"). */
export function addFilterOptions(cmd: Command, keep: string, leaveOut: string): Command {
  return cmd
    .option('--since <date>', `${keep} samples starting at or after this date (see Filters below)`)
    .option('--until <date>', `${keep} samples starting at or before this date (a date: through its end)`)
    .option('--types <list>', `${keep} these types (comma-separated; see \`apple-import help types\`)`)
    .option('--exclude-types <list>', `${leaveOut} these types`);
}
