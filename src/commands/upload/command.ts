import { type Command, Option } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';

export interface UploadFlags {
  user?: string;
  method: string;
  since?: string;
  until?: string;
  types?: string;
  excludeTypes?: string;
  wait?: boolean;
  dryRun?: boolean;
  force?: boolean;
  maxPartSize?: string;
  batchBytes?: string;
  batchRecords?: string;
  failFast?: boolean;
  stallTimeout?: string;
}

const FILTER_HELP = `Filters (on startDate):
  --since D    keep samples starting at or after D
  --until D    keep samples starting at or before D; a bare date means through the end of that day
  D is YYYY-MM-DD (compared with the sample's wall clock in its own UTC offset: --since 2024-03-01
  keeps 2024-03-01 00:00:00 +0100 and --until 2024-03-01 keeps 2024-03-01 23:59:59 -0500), or a
  timestamp: with an offset (2024-03-01T08:00:00+01:00) it is an exact instant; without one it is a
  wall-clock time like a bare date. Apple groups records by type, so the whole file is always read.
  --types/--exclude-types take HK identifiers or aliases: `;

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

const EXAMPLES = `
Examples:
  $ apple-import upload export.zip --user 3f1c2b9e-5a41-4c7d-9e2b-71d0a8c4e6f1
  $ apple-import upload export.zip --user $ID --dry-run          # show the plan, send nothing
  $ APPLE_IMPORT_API_KEY=sk-… apple-import upload export.xml --user $ID --json
  $ apple-import upload apple_health_export/ --user $ID --method direct --since 2024-01-01 --wait

The s3 method (default) sends the whole export, repaired (DTD removed, illegal characters dropped), split
into valid documents of at most --max-part-size bytes (1 GiB). Re-running with the same export and user
says it was already uploaded; --force sends it again.

${FILTER_HELP}${TYPE_ALIAS_HELP}`;

export const registerUpload: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('upload')
    .description('upload an Apple Health export for a user (S3 by default)')
    .argument('<path>', 'export.zip, export.xml or the unzipped folder')
    .option('--user <id>', 'user id to import into (env APPLE_IMPORT_USER)')
    .addOption(new Option('--method <method>', 'how to send it').choices(['s3', 'direct']).default('s3'))
    .option('--since <date>', 'direct: only samples starting at or after this date (see Filters below)')
    .option(
      '--until <date>',
      'direct: only samples starting at or before this date (a date: through its end)',
    )
    .option('--types <list>', 'direct: only these types (comma-separated; aliases below)')
    .option('--exclude-types <list>', 'direct: leave out these record types')
    .option('--wait', 'direct: follow each batch until the server has imported it')
    .option('--dry-run', 'check everything and print the plan, send nothing')
    .option('--force', 'send again even if the ledger says this export was already uploaded')
    .option('--max-part-size <bytes>', 's3: largest part to send (default 1 GiB, the server cap)')
    .option('--batch-bytes <n>', 'direct: largest batch file')
    .option('--batch-records <n>', 'direct: most records per batch')
    .option('--fail-fast', 'direct: stop at the first failed batch')
    .addOption(
      new Option('--stall-timeout <seconds>', 'give up on a stalled transfer after this long').hideHelp(),
    )
    .addHelpText('after', EXAMPLES)
    .action(
      state.action(async (ctx, path: string, flags: UploadFlags) => {
        if (flags.method === 'direct')
          return (await import('./run-direct.js')).uploadDirect(ctx, path, flags);
        // The export is opened, probed and fingerprinted while the S3 path's HTTP client, schemas and
        // settings load: local work that need not wait for them.
        const { inspectExport } = await import('../../core/upload/s3/inspect.js');
        const inspected = inspectExport(path, ctx.signal);
        // Awaited by uploadS3, after the flags and the user are checked (their errors come first).
        inspected.catch(() => {});
        return (await import('./run-s3.js')).uploadS3(ctx, path, flags, inspected);
      }),
    );
};
