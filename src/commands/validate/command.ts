import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';

export interface ValidateFlags {
  report?: string;
  strict?: boolean;
  since?: string;
  until?: string;
  types?: string;
  threads?: string;
}

export const registerValidate: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('validate')
    .description('check an Apple Health export locally: counts, date range, sources, defects')
    .argument('<path>', 'export.zip, export.xml, or the unzipped apple_health_export folder')
    .option('--report <file>', 'also write the full JSON report to FILE')
    .option('--strict', 'treat warnings (repairable defects, skipped elements, duplicates) as errors', false)
    .option('--since <date>', 'only count Records and Workouts that start on or after this day (YYYY-MM-DD)')
    .option('--until <date>', 'only count Records and Workouts that start on or before this day (YYYY-MM-DD)')
    .option('--types <list>', 'only count these types, e.g. HeartRate,StepCount,SleepAnalysis,Workout')
    .option(
      '--threads <n>',
      'threads reading a plain export.xml, 1–4 (default: one per core; 1 uses the least memory)',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 when the backend would accept the export (repairable defects are warnings),\n3 when it would not (truncated, not well-formed beyond repair, not an export); --strict makes\nwarnings exit 3 too.\n\nExamples:\n  $ apple-import validate export.zip\n  $ apple-import validate export.xml --json --since 2024-01-01 --types HeartRate,Workout\n  $ apple-import validate apple_health_export/ --report report.json --strict',
    )
    .action(
      state.action(async (ctx, path: string, flags: ValidateFlags) =>
        (await import('./run.js')).validateCommand(ctx, path, flags),
      ),
    );
};
