import { intFlag } from '../../config/flags.js';
import { buildFilters } from '../../core/selection/filters.js';
import type { ValidationReport } from '../../core/validate/report.js';
import { runValidate as validateExport } from '../../core/validate/run-validate.js';
import { AppError, ExitCode } from '../../errors.js';
import type { Factory } from '../../factory.js';
import { createByteProgress, formatBytes } from '../../io/progress.js';
import { createSpinner } from '../../io/spinner.js';
import { count } from '../../io/text.js';
import type { FilterFlags } from '../filter-help.js';

/** The flags as commander hands them over (strings), before run() checks them. */
export interface ValidateFlags extends FilterFlags {
  report?: string;
  strict?: boolean;
  threads?: string;
}

/** `validate`: scans the export locally and prints the report; exit 3 when the backend would refuse it. */
export async function runValidate(f: Factory, path: string, flags: ValidateFlags): Promise<number> {
  const filter = buildFilters(flags);
  const threads = intFlag('--threads', flags.threads, { min: 1, max: 4 });
  const spinner = await createSpinner(f.io, { lines: false });
  let progress: ReturnType<typeof createByteProgress> | undefined;
  let report: ValidationReport;
  let read = { bytes: 0, size: 0 };
  f.out.doneSoFar = {
    describe: () =>
      read.bytes > 0 && read.size > 0
        ? `read ${Math.floor((read.bytes / read.size) * 100)}% of the export`
        : undefined,
    resumes: false,
  };
  spinner.start(`Opening ${path}`);
  try {
    report = await validateExport(
      {
        path,
        filter,
        signal: f.signal,
        ...(threads !== undefined ? { parallel: { workers: threads } } : {}),
        onStart: (source) => {
          spinner.stop();
          f.out.info(`Validating ${source.displayName} (${formatBytes(source.size)})`);
          // Which of several candidates was chosen and why, or a transcoding: never a silent choice.
          for (const notice of source.notices ?? []) f.out.info(notice);
          progress = createByteProgress(f.io, 'Scanning', source.size, () => f.clock.now());
          read = { bytes: 0, size: source.size };
        },
        onProgress: (bytes) => {
          read.bytes = bytes;
          progress?.update(bytes);
        },
      },
      { openExport: (p) => f.openExport(p), now: () => f.clock.now() },
    );
  } finally {
    spinner.stop();
    progress?.stop();
  }

  if (flags.report) {
    const file = flags.report;
    await f.files.writeText(file, `${JSON.stringify(report, null, 2)}\n`).catch((err: unknown) => {
      throw new AppError('INTERNAL', `cannot write the report to ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    });
  }
  const failed = !report.accepted || (flags.strict === true && report.warnings.length > 0);
  if (f.globals.json) f.out.json(report);
  else {
    // -q: the answer alone (the headline and the verdict).
    // Loaded only to print text: its width tables (string-width) cost start-up and memory that --json never needs.
    const { renderHeadline, renderReport } = await import('./render.js');
    const lines = f.out.verbosity === 'quiet' ? renderHeadline(report, f) : renderReport(report, f);
    for (const line of lines) f.out.data(line);
  }
  if (!f.globals.json) {
    if (!report.accepted)
      f.out.error(`the backend would not accept this export: ${report.reasons.join('; ')}`);
    else if (failed) f.out.error(`${count(report.warnings.length, 'warning')} and --strict is set`);
    else if (report.warnings.length > 0)
      f.out.warn(`${count(report.warnings.length, 'warning')}; the export can be imported`);
    else f.out.success('the export looks good');
    if (flags.report) f.out.info(`Report written to ${flags.report}`);
  }
  return failed ? ExitCode.INVALID_INPUT : ExitCode.OK;
}
