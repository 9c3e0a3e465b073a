import { type Command, Option } from 'commander';
import { SIZE_EXAMPLES } from '../../config/flags.js';
import { addFilterOptions, FILTER_HELP } from '../filter-help.js';
import type { RegisterCommand, RunState } from '../types.js';
import type { UploadFlags } from './run.js';

const EXAMPLES = `
Examples:
  $ apple-import upload export.zip --user 3f1c2b9e-5a41-4c7d-9e2b-71d0a8c4e6f1
  $ apple-import upload export.zip --user $ID --dry-run          # show the plan, send nothing
  $ APPLE_IMPORT_API_KEY=sk-… apple-import upload export.xml --user $ID --json
  $ apple-import upload apple_health_export/ --user $ID --method direct --since 2024-01-01 --wait
  $ apple-import upload export.zip --user $ID --method sdk --wait   # units converted, safe to re-run
  $ apple-import upload export.zip --user $ID --method sdk --dry-run --out batches/
  $ apple-import upload export.zip --user $ID --method direct --dry-run --out batches/

The s3 method (default) sends the whole export, repaired (DTD removed, illegal characters dropped). On a
current backend it is one multipart upload, --concurrency parts at a time, completed once the whole export
passed the check (an export under 5 MiB goes to the direct route whole); on a server before August 2026,
presigned POSTs of valid documents of at most --max-part-size (default: the server's cap). An
interrupted upload resumes with the same command; re-running a finished one says it was already uploaded;
--force sends it again. The sdk method sends the
samples as JSON to the backend's SDK sync route, each value in the unit its series expects, with its source,
device and time zone, under ids that stay the same on every run.

Sizes (--batch-bytes, --max-part-size) are bytes, or a number with a unit: KiB, MiB, GiB (1024) or kB,
MB, GB (1000), in any case, e.g. ${SIZE_EXAMPLES}. Sizes are shown in KiB, MiB and GiB.

${FILTER_HELP}`;

export const registerUpload: RegisterCommand = (program: Command, state: RunState) => {
  const upload = program
    .command('upload')
    .description('upload an Apple Health export for a user (S3 by default)')
    .argument('<path>', 'export.zip, export.xml or the unzipped folder')
    .option('--user <id|email>', 'user to import into, by id or email (env APPLE_IMPORT_USER)')
    .addOption(
      new Option('--method <method>', 'how to send it').choices(['s3', 'direct', 'sdk']).default('s3'),
    );
  addFilterOptions(upload, 'direct, sdk: only send', 'direct, sdk: leave out')
    .option('--wait', 'follow the import until the server has imported it (direct, sdk: each batch)')
    .option('--dry-run', 'check everything and print the plan, send nothing')
    .option(
      '--out <path>',
      'direct, sdk with --dry-run: write the batches there (a folder: one file each; sdk, a file: one per line)',
    )
    .option('--force', 'send again even if the ledger says this export was already uploaded')
    .option(
      '--full',
      'direct, s3: send every record again, not only those newer than what this user already has (workouts the server has are never resent)',
    )
    .option(
      '--max-part-size <size>',
      's3, presigned POST: largest part, e.g. 256MiB (default: the server cap)',
    )
    .option('--concurrency <n>', 's3 multipart: parts in flight at once, 1–16 (default: two per core, 2–8)')
    .option(
      '--batch-bytes <size>',
      'direct, sdk: largest batch, e.g. 2MiB (default: direct 8 MiB, sdk 4 MiB)',
    )
    .option('--batch-records <n>', 'direct, sdk: most records per batch (direct 50000, sdk 10000)')
    .option('--fail-fast', 'direct, sdk: with --wait, stop at the first failed batch')
    .addOption(
      new Option('--stall-timeout <seconds>', 'give up on a stalled transfer after this long').hideHelp(),
    )
    .option(
      '--wait-settle <seconds>',
      's3 with --wait on a server before August 2026: take the import as over once the user’s summary has not changed for this long (default 120)',
    )
    .addHelpText('after', EXAMPLES)
    .action(
      state.action(async (f, path: string, flags: UploadFlags) =>
        (await import('./run.js')).runUpload(f, path, flags),
      ),
    );
};
