/**
 * `upload --method direct`: normalized batches to `/import/apple/xml/direct` (contract §3, product.md).
 * user and export → identity → ledger (already sent?) → the pipeline (pipeline.ts) → result.
 */

import { requireUser } from '../../users.js';
import { exportIdentity, legacyDirectIdentity } from '../shared/identity.js';
import { UploadLedger } from '../shared/ledger.js';
import type { Verification } from '../shared/verify.js';
import type { BrokenAt } from '../shared/whole-check.js';
import type { UploadEvents, UploadOptions, UploadPorts, UploadResultBase } from '../types.js';
import type { NormalizationReport } from './normalize.js';
import { type DirectRunResult, emptyNormalizationReport, nothingSent } from './types.js';

/**
 * What the upload runs on once the user is known (the check, the reader, the batches), loaded while the
 * user check's round trip is under way rather than before its request goes out.
 */
function loadPipeline() {
  return Promise.all([
    import('../shared/whole-check.js'),
    import('../shared/incremental.js'),
    import('./pipeline.js'),
    import('../shared/verify.js'),
  ]);
}

export interface DirectUploadResult extends UploadResultBase {
  method: 'direct';
  batchBytes: number;
  batchRecords: number;
  /** Samples in the batches (after duplicates were dropped). */
  records: number;
  report: NormalizationReport;
  batches: DirectRunResult['batches'];
  sent: number;
  skipped: number;
  failed: number;
  /** --fail-fast stopped the run. */
  stoppedEarly: boolean;
  /**
   * The export was checked whole before the first batch, yet the pass that built the batches found
   * it not well-formed past some point: it changed in between. null when the pass did not finish or
   * found it whole.
   */
  brokenAt: BrokenAt | null;
  reader: DirectRunResult['reader'] | null;
  /** With --wait: what the backend reports imported next to what was predicted (shared/verify.ts). */
  verification: Verification | null;
  /** `already-uploaded`: how many batches the earlier run sent. */
  earlierBatches?: number;
  /** `--dry-run --out`: the folder the batches' documents were written to. */
  out?: { path: string; layout: 'folder' | 'lines' };
}

export async function runDirectUpload(
  opts: UploadOptions,
  ports: UploadPorts,
  onEvent: UploadEvents,
): Promise<DirectUploadResult> {
  const { signal, clock } = ports;
  // The user check is a round trip and opening the export a local read, so they overlap. The user is
  // awaited first: a bad user is reported before a bad file, as with the s3 method.
  const opened = ports.openExport(opts.path);
  opened.catch(() => {}); // only left unawaited when the user check throws first
  onEvent({ type: 'step', step: 'user', done: false });
  const checked = requireUser({ users: ports.users, server: opts.server, signal }, opts.user).finally(() =>
    onEvent({ type: 'step', step: 'user', done: true }),
  );
  const pipeline = loadPipeline();
  pipeline.catch(() => {}); // only left unawaited when the user check or the ledger ends the run first
  const user = await checked;
  const source = await opened;
  const fingerprint = await exportIdentity(source, signal);
  const started = clock.now();
  const base = {
    method: 'direct' as const,
    server: opts.server,
    userId: user.id,
    source: source.displayName,
    sourceBytes: source.size,
    fingerprint,
    batchBytes: opts.batch.maxBytes,
    batchRecords: opts.batch.maxRecords,
  };

  const key = {
    method: 'direct' as const,
    server: opts.server,
    userId: user.id,
    fingerprint,
    filters: opts.filters.canonical,
    maxBytes: opts.batch.maxBytes,
    maxRecords: opts.batch.maxRecords,
  };
  const ledger = new UploadLedger(ports.ledger);
  const slot = ledger.slot(key);
  if (!opts.force && !opts.dryRun) {
    const earlier = slot.read() ?? ledger.adoptLegacyDirect(key, await legacyDirectIdentity(source, signal));
    if (earlier?.completedAt) {
      return {
        ...base,
        status: 'already-uploaded',
        runId: null,
        uploadedAt: earlier.completedAt,
        earlierBatches: earlier.batches.length,
        records: earlier.batches.reduce((n, b) => n + b.records, 0),
        report: emptyNormalizationReport(),
        ...nothingSent(),
        reader: null,
        verification: null,
      };
    }
  }

  const [{ brokenAt, checkWholeExport }, { readIncremental }, { runDirect }, { verifyBatches }] =
    await pipeline;
  await checkWholeExport(source, signal, onEvent);
  const inc = readIncremental(ports.ledger, opts.server, user.id, opts.full);
  const known = inc.known;
  onEvent({
    type: 'plan',
    plan: {
      method: 'direct',
      source: source.displayName,
      sourceBytes: source.size,
      userId: user.id,
      limits: opts.batch,
      dryRun: opts.dryRun,
      incremental: inc.plan,
    },
  });
  const output = opts.dryRun && opts.out ? await ports.batchOutput(opts.out, 'direct') : null;
  let r: Awaited<ReturnType<typeof runDirect>>;
  try {
    r = await runDirect(
      {
        server: opts.server,
        userId: user.id,
        fingerprint,
        filters: known ? { ...opts.filters, known } : opts.filters,
        importedWorkouts: inc.importedWorkouts,
        limits: opts.batch,
        wait: opts.wait,
        dryRun: opts.dryRun,
        force: opts.force,
        failFast: opts.failFast,
      },
      {
        source,
        ledger: slot,
        post: (filename, body, progress, requestSignal) =>
          ports.directImports.postXml({ userId: user.id, filename, body, progress, signal: requestSignal }),
        feed: ports.feed(user.id),
        clock,
        signal,
        output,
      },
      onEvent,
    );
    await output?.commit();
  } catch (err) {
    await output?.discard();
    throw err;
  }
  // Once everything was sent (and, with --wait, imported), the server has it: the next upload skips it.
  if (r.summary && !opts.dryRun && r.failed === 0 && !r.stoppedEarly)
    inc.ledger.add(r.sentImports.workouts, r.sentImports.ranges, new Date(clock.now()));
  return {
    ...base,
    status: opts.dryRun ? 'dry-run' : 'uploaded',
    runId: r.runId,
    records: r.records,
    report: r.report,
    batches: r.batches,
    sent: r.sent,
    skipped: r.skipped,
    failed: r.failed,
    stoppedEarly: r.stoppedEarly,
    brokenAt: brokenAt(r.summary),
    reader: r.reader,
    verification: opts.wait && !opts.dryRun ? verifyBatches(r.batches) : null,
    durationMs: Math.round(clock.now() - started),
    bytesSent: r.bytesSent,
    ...(output ? { out: { path: output.path, layout: output.layout } } : {}),
  };
}
