import type { Command } from 'commander';
import type { RegisterCommand, RunState } from '../types.js';
import type { SampleFlags } from './run.js';

export const registerSample: RegisterCommand = (program: Command, state: RunState) => {
  const sample = program
    .command('sample')
    .description('write a realistic sample export, to try validate and upload without your own data')
    .argument('[file]', 'where to write it (default export.xml, or export.zip with --zip)')
    .option('--months <n>', 'months of data from 2024-01-01, 1–120 (default 3, about 16 MiB a month)')
    .option('--seed <n>', 'generator seed: the same seed and months give the same bytes (default 1)')
    .option('--zip', "write a zip laid out like the Health app's export.zip")
    .option('--force', 'replace FILE if it exists')
    .addHelpText(
      'after',
      [
        '',
        'The export has what real ones have: the broken DTD of iOS 16 and later, a few stray control',
        'characters, duplicates, correlations, workouts, sleep and sources with odd names.',
        '',
        'Examples:',
        '  $ apple-import sample',
        '  $ apple-import sample big.zip --months 24 --zip',
        '  $ apple-import sample && apple-import validate export.xml',
      ].join('\n'),
    );
  // Local files only: no backend or config adapters to load (RunState.markLocal).
  state
    .markLocal(sample)
    .action(
      state.action(async (f, file: string | undefined, flags: SampleFlags) =>
        (await import('./run.js')).runSample(f, file, flags),
      ),
    );
};
