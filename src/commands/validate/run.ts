import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { openExport } from '../../adapters/export-source.js';
import type { AppContext } from '../../context.js';
import { parseFilter } from '../../core/selection/validate-filter.js';
import type { ValidationReport } from '../../core/validate/report.js';
import { runValidate } from '../../core/validate/run-validate.js';
import { AppError, ExitCode, UsageError } from '../../errors.js';
import { createByteProgress, formatBytes } from '../../io/progress.js';
import { createSpinner } from '../../io/spinner.js';
import type { ValidateFlags } from './command.js';
import { renderReport } from './render.js';

/** `validate`: scans the export locally and prints the report; exit 3 when the backend would refuse it. */
export async function validateCommand(ctx: AppContext, path: string, flags: ValidateFlags): Promise<number> {
  const filter = parseFilter(flags);
  const threads = parseThreads(flags.threads);
  const quiet = ctx.out.verbosity === 'quiet';
  const spinner = await createSpinner(ctx.io, true);
  let progress: ReturnType<typeof createByteProgress> | undefined;
  let report: ValidationReport;
  spinner.start(`Opening ${path}`);
  try {
    report = await runValidate(
      {
        path,
        filter,
        signal: ctx.signal,
        ...(threads !== undefined ? { parallel: { workers: threads } } : {}),
        onStart: (source) => {
          spinner.stop();
          ctx.out.info(`Validating ${source.displayName} (${formatBytes(source.size)})`);
          progress = createByteProgress(ctx.io, 'Scanning', source.size, () => ctx.clock.now(), quiet);
        },
        onProgress: (bytes) => progress?.update(bytes),
      },
      { openExport, now: () => ctx.clock.now() },
    );
  } finally {
    spinner.stop();
    progress?.stop();
  }

  if (flags.report) await writeReportAtomically(flags.report, report);
  const failed = !report.accepted || (flags.strict === true && report.warnings.length > 0);
  if (ctx.globals.json) ctx.out.json(report);
  else {
    for (const line of renderReport(report, ctx)) ctx.out.data(line);
  }
  if (!ctx.globals.json) {
    if (!report.accepted)
      ctx.out.error(`the backend would not accept this export: ${report.reasons.join('; ')}`);
    else if (failed) ctx.out.error(`${report.warnings.length} warning(s) and --strict is set`);
    else if (report.warnings.length > 0)
      ctx.out.warn(`${report.warnings.length} warning(s); the export can be imported`);
    else ctx.out.success('the export looks good');
    if (flags.report) ctx.out.info(`Report written to ${flags.report}`);
  }
  return failed ? ExitCode.INVALID_INPUT : ExitCode.OK;
}

/** Temp file in the same folder, then rename: a reader never sees half a report. */
async function writeReportAtomically(file: string, report: ValidationReport): Promise<void> {
  const tmp = join(dirname(file), `.${randomBytes(6).toString('hex')}.report.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new AppError('INTERNAL', `cannot write the report to ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function parseThreads(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 4)
    throw new UsageError(`--threads must be a whole number from 1 to 4, got "${raw}"`);
  return n;
}
