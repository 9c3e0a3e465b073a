import { intFlag, secondsFlag, sizeFlag } from '../../config/flags.js';
import { buildFilters } from '../../core/selection/filters.js';
import {
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_RECORDS,
  MAX_BATCH_BYTES,
} from '../../core/upload/direct/batcher.js';
import {
  DEFAULT_SDK_BATCH_BYTES,
  DEFAULT_SDK_BATCH_RECORDS,
  MAX_SDK_BATCH_BYTES,
  MAX_SDK_BATCH_RECORDS,
} from '../../core/upload/sdk/batcher.js';
import { DEFAULT_STALL_TIMEOUT_MS, type UploadOptions, type UploadPorts } from '../../core/upload/types.js';
import { AppError, ExitCode, UsageError } from '../../errors.js';
import type { Factory } from '../../factory.js';
import { count } from '../../io/text.js';
import type { FilterFlags } from '../filter-help.js';
import { defaultConcurrency, MAX_CONCURRENCY } from './concurrency.js';
import { UploadView } from './render.js';

/** The flags as commander hands them over (strings), before run() checks them. */
export interface UploadFlags extends FilterFlags {
  user?: string;
  method: string;
  wait?: boolean;
  dryRun?: boolean;
  force?: boolean;
  full?: boolean;
  maxPartSize?: string;
  concurrency?: string;
  batchBytes?: string;
  batchRecords?: string;
  failFast?: boolean;
  stallTimeout?: string;
  waitSettle?: string;
  out?: string;
}

/** The largest part S3 takes in one POST. */
const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;

/**
 * `upload`: the flags as typed options, then the method's one use case, its events and its result rendered.
 * Only the chosen method's use case and result renderer are loaded, and only once it runs: what this
 * module loads comes before the method's first request goes out.
 */
export async function runUpload(f: Factory, path: string, flags: UploadFlags): Promise<number> {
  const options = uploadOptions(f, path, flags);
  const view = new UploadView(f, options);
  const given = f.uploadPorts();
  // How the export was read (which of several candidates and why, a transcoding) is said, never silent.
  const ports: UploadPorts = {
    ...given,
    openExport: async (p) => {
      const source = await given.openExport(p);
      for (const message of source.notices ?? []) view.event({ type: 'notice', message });
      return source;
    },
  };
  try {
    if (options.method === 's3') {
      const { runS3Upload } = await import('../../core/upload/s3/run.js');
      const result = await runS3Upload(options, ports, view.event);
      view.close();
      (await import('./render-s3.js')).renderS3Result(f, result);
      // With --wait: an import that failed, completed without importing anything, or imported fewer
      // than the model predicts of what was sent (the user's summary before and after) is a failure.
      const i = result.imported;
      const short = result.verification !== undefined && !result.verification.ok;
      return (i && (i.stage === 'failed' || i.status === 'skipped')) || short
        ? ExitCode.FAILURE
        : ExitCode.OK;
    }
    if (options.method === 'sdk') {
      const { runSdkUpload } = await import('../../core/upload/sdk/run.js');
      const result = await runSdkUpload(options, ports, view.event);
      view.close();
      // The error is the outcome (and under --json the one document), saying what had been sent.
      if (result.brokenAt) throw changedAfterCheck(result, result.brokenAt);
      (await import('./render-sdk.js')).renderSdkResult(f, options.wait, result);
      // With --wait, rows fewer than the batches sent were expected to add are a failure too.
      const short = result.verification !== undefined && !result.verification.ok;
      return result.failed > 0 || short ? ExitCode.FAILURE : ExitCode.OK;
    }
    const { runDirectUpload } = await import('../../core/upload/direct/run.js');
    const result = await runDirectUpload(options, ports, view.event);
    view.close();
    if (result.brokenAt) throw changedAfterCheck(result, result.brokenAt);
    (await import('./render-direct.js')).renderDirectResult(f, options, result);
    // With --wait the backend's own count is the proof: fewer items than predicted is a failure too.
    const short = result.verification !== null && !result.verification.ok;
    return result.failed > 0 || short ? ExitCode.FAILURE : ExitCode.OK;
  } finally {
    view.close();
  }
}

/**
 * The export was checked whole before the first batch (direct, sdk), so a break found while its batches
 * were read means the file changed under the upload; what had gone out by then is said as it is.
 */
function changedAfterCheck(
  result: { source: string; sent: number; records: number },
  b: { line: number; column: number; message: string },
): AppError {
  const sent =
    result.sent === 0
      ? 'nothing was sent'
      : `${count(result.sent, 'batch', 'batches')} with ${count(result.records, 'record')} had been sent before it`;
  return new AppError(
    'INPUT_CHANGED',
    `${result.source} changed while it was being uploaded: it was whole when checked, and is now not well-formed at line ${b.line}:${b.column} (${b.message}); ${sent}.`,
    { hint: 'Upload again once the file is complete and no longer being written.' },
  );
}

/** The flags as one options type for every method; bad values are usage errors before anything starts. */
export function uploadOptions(f: Factory, path: string, flags: UploadFlags): UploadOptions {
  const method = flags.method === 'direct' || flags.method === 'sdk' ? flags.method : 's3';
  // The filter grammar is validate's: a bad date or type is the same usage error whatever the method.
  const filters = buildFilters(flags);
  if (method === 's3') refuseDirectOnlyFlags(flags);
  if (flags.out !== undefined && (method === 's3' || !flags.dryRun))
    throw new UsageError(
      '--out writes what a dry run would send: it needs --dry-run and --method direct or sdk.',
    );
  const sdk = method === 'sdk';
  const settings = f.settings({ user: flags.user });
  return {
    method,
    path,
    server: settings.server.value,
    user: settings.user?.value,
    filters,
    dryRun: Boolean(flags.dryRun),
    force: Boolean(flags.force),
    full: Boolean(flags.full),
    wait: Boolean(flags.wait),
    failFast: Boolean(flags.failFast),
    maxPartSize: sizeFlag('--max-part-size', flags.maxPartSize, { min: 1024, max: MAX_PART_SIZE }),
    concurrency: intFlag(
      '--concurrency',
      flags.concurrency,
      { min: 1, max: MAX_CONCURRENCY, unit: 'parts' },
      defaultConcurrency(),
    ),
    stallTimeoutMs: secondsFlag('--stall-timeout', flags.stallTimeout, DEFAULT_STALL_TIMEOUT_MS),
    // Unset: the s3 method's own default (core/upload/s3/verify-import.ts), not loaded for a flag.
    waitSettleMs:
      flags.waitSettle === undefined ? undefined : secondsFlag('--wait-settle', flags.waitSettle, 0),
    batch: {
      maxBytes: sizeFlag(
        '--batch-bytes',
        flags.batchBytes,
        { min: 4096, max: sdk ? MAX_SDK_BATCH_BYTES : MAX_BATCH_BYTES },
        sdk ? DEFAULT_SDK_BATCH_BYTES : DEFAULT_BATCH_BYTES,
      ),
      maxRecords: intFlag(
        '--batch-records',
        flags.batchRecords,
        { min: 1, max: sdk ? MAX_SDK_BATCH_RECORDS : DEFAULT_BATCH_RECORDS },
        sdk ? DEFAULT_SDK_BATCH_RECORDS : DEFAULT_BATCH_RECORDS,
      ),
    },
    out: flags.out,
  };
}

function refuseDirectOnlyFlags(flags: UploadFlags): void {
  const directOnly: [keyof UploadFlags, string][] = [
    ['since', '--since'],
    ['until', '--until'],
    ['types', '--types'],
    ['excludeTypes', '--exclude-types'],
    ['batchBytes', '--batch-bytes'],
    ['batchRecords', '--batch-records'],
    ['failFast', '--fail-fast'],
  ];
  const used = directOnly.filter(([k]) => flags[k] !== undefined).map(([, name]) => name);
  if (used.length > 0) {
    throw new UsageError(
      `${used.join(', ')} only apply to --method direct and sdk; the s3 method sends the export whole.`,
      {
        hint: 'add --method direct or --method sdk, or drop the filter',
      },
    );
  }
}
