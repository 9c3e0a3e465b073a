import type { Command } from 'commander';
import { addFilterOptions, FILTER_HELP } from '../filter-help.js';
import type { RegisterCommand, RunState } from '../types.js';
import type { ValidateFlags } from './run.js';

export const registerValidate: RegisterCommand = (program: Command, state: RunState) => {
  const validate = program
    .command('validate')
    .description('check an Apple Health export locally: counts, date range, sources, defects')
    .argument('<path>', 'export.zip, export.xml, or the unzipped apple_health_export folder')
    .option('--report <file>', 'also write the full JSON report to FILE')
    .option('--strict', 'treat warnings (repairable defects, skipped elements, duplicates) as errors');
  // Local files only: no backend or config adapters to load (RunState.markLocal).
  state.markLocal(validate);
  addFilterOptions(validate, 'only count', 'do not count')
    .option(
      '--threads <n>',
      'threads reading a plain export.xml, 1–4 (default: one per core; 1 uses the least memory)',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 when the backend would accept the export (repairable defects are warnings),\n3 when it would not (truncated, not well-formed beyond repair, not an export); --strict makes\nwarnings exit 3 too.\n\nExamples:\n  $ apple-import validate export.zip\n  $ apple-import validate export.xml --json --since 2024-01-01 --types HeartRate,Workout\n  $ apple-import validate apple_health_export/ --report report.json --strict\n\n' +
        'Filters select the Records and Workouts counted, exactly as `upload --method direct` selects what it\n' +
        `sends (the element counts cover the whole file).\n\n${FILTER_HELP}`,
    )
    .action(
      state.action(async (f, path: string, flags: ValidateFlags) =>
        (await import('./run.js')).runValidate(f, path, flags),
      ),
    );
};
