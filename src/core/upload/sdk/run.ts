/**
 * `upload --method sdk`: the export as normalized JSON batches to `POST /sdk/users/{id}/sync` (contract
 * §6, current page §2.5; issue 15). user and export → identity → ledger (already sent?) → credential for
 * the route → one pass that reads, converts and sends batch by batch, one in flight per user (§9.8) →
 * result. Every batch carries one historical sync session (`syncType: "historical"`, one
 * `syncSessionId`, kept across resumed runs) so a current backend files the import as one run.
 */
import type { BatchOutput } from '../../../adapters/batch-output.js';
import { AppError, UsageError } from '../../../errors.js';
import { WORKOUT_TYPE } from '../../selection/mapped-types.js';
import { requireUser } from '../../users.js';
import type { NormalizationReport } from '../direct/normalize.js';
import { emptyNormalizationReport, nothingSent } from '../direct/types.js';
import { exportIdentity } from '../shared/identity.js';
import type { KnownRanges } from '../shared/imported.js';
import type { Incremental } from '../shared/incremental.js';
import { type SdkLedgerEntry, UploadLedger } from '../shared/ledger.js';
import { newRunId } from '../shared/naming.js';
import { type SummaryCounts, type SummaryVerification, verifySummary } from '../shared/verify.js';
import type { BrokenAt } from '../shared/whole-check.js';
import type { UploadEvents, UploadOptions, UploadPorts, UploadResultBase } from '../types.js';
import type { SdkBatchOutcome } from './batch-flow.js';
import { envelopeHead } from './batcher.js';
import { type ConversionReport, emptyConversionReport } from './convert.js';
import { SdkLedgerWriter } from './ledger-entry.js';
import type { readIntoBatches } from './reader.js';

/**
 * What the upload runs on once the user is known (the check, the reader, the sender), loaded while the
 * user check's round trip is under way rather than before its request goes out.
 */
function loadPipeline() {
  return Promise.all([
    import('../shared/whole-check.js'),
    import('../shared/incremental.js'),
    import('./reader.js'),
    import('./batch-flow.js'),
    import('./watch.js'),
    import('./predict.js'),
    import('../shared/summary.js'),
  ]);
}

export interface SdkUploadResult extends UploadResultBase {
  method: 'sdk';
  batchBytes: number;
  batchRecords: number;
  /** Samples in the batches. */
  records: number;
  /** Selection and duplicates (the same rules as the direct method). */
  selection: NormalizationReport;
  /** What was sent by type, and what could not be sent correctly and why (units named). */
  conversion: ConversionReport;
  batches: SdkBatchOutcome[];
  sent: number;
  skipped: number;
  failed: number;
  stoppedEarly: boolean;
  /** How the route was called: an API key, an SDK token given, or one minted from a login. */
  auth: 'api-key' | 'sdk-token' | 'minted' | null;
  syncSessionId: string | null;
  /** `--dry-run --out`: where the batches were written. */
  out: { path: string; layout: 'folder' | 'lines' } | null;
  brokenAt: BrokenAt | null;
  earlierBatches?: number;
  /**
   * With --wait: the rows the user's summary gained, next to what the backend is expected to store of
   * the batches this run sent (predict.ts); absent when the summary could not be read.
   */
  verification?: SummaryVerification;
}

/**
 * The user, checked on the server; with an SDK token (which cannot read the user routes) the token's own
 * user, which must be the one asked for, and --wait refused (the status feed needs a key or a login).
 */
async function checkUser(
  opts: UploadOptions,
  ports: UploadPorts,
  onEvent: UploadEvents,
): Promise<{ id: string }> {
  const tokenUser = ports.sdkTokenUser();
  if (tokenUser === null) {
    onEvent({ type: 'step', step: 'user', done: false });
    return requireUser({ users: ports.users, server: opts.server, signal: ports.signal }, opts.user).finally(
      () => onEvent({ type: 'step', step: 'user', done: true }),
    );
  }
  if (opts.user !== undefined && opts.user.toLowerCase() !== tokenUser.toLowerCase())
    throw new AppError('AUTH_INVALID', `The SDK token given is for user ${tokenUser}, not ${opts.user}.`, {
      hint: 'pass that user, or use an API key or a login',
    });
  if (opts.wait)
    throw new UsageError('--wait follows the status feed, which an SDK token cannot read.', {
      hint: 'use an API key (APPLE_IMPORT_API_KEY) or `apple-import login` to follow the import',
    });
  return { id: tokenUser };
}

/** An export this user has from an earlier run: nothing read, nothing sent. */
function alreadyUploaded(
  base: Pick<
    SdkUploadResult,
    'method' | 'server' | 'userId' | 'source' | 'sourceBytes' | 'fingerprint' | 'batchBytes' | 'batchRecords'
  >,
  earlier: SdkLedgerEntry,
  completedAt: string,
): SdkUploadResult {
  return {
    ...base,
    selection: emptyNormalizationReport(),
    conversion: emptyConversionReport(),
    ...nothingSent(),
    out: null,
    status: 'already-uploaded',
    runId: null,
    uploadedAt: completedAt,
    earlierBatches: earlier.batches.length,
    records: earlier.batches.reduce((n, b) => n + b.records, 0),
    auth: null,
    syncSessionId: earlier.syncSessionId,
  };
}

export async function runSdkUpload(
  opts: UploadOptions,
  ports: UploadPorts,
  onEvent: UploadEvents,
): Promise<SdkUploadResult> {
  const { signal, clock } = ports;
  const opened = ports.openExport(opts.path);
  opened.catch(() => {});
  const checked = checkUser(opts, ports, onEvent);
  const pipeline = loadPipeline();
  pipeline.catch(() => {}); // only left unawaited when the user check or the ledger ends the run first
  const user = await checked;
  const source = await opened;
  const fingerprint = await exportIdentity(source, signal);
  const started = clock.now();
  const runId = newRunId();
  const base = {
    method: 'sdk' as const,
    server: opts.server,
    userId: user.id,
    source: source.displayName,
    sourceBytes: source.size,
    fingerprint,
    batchBytes: opts.batch.maxBytes,
    batchRecords: opts.batch.maxRecords,
  };
  const limits = { maxBytes: opts.batch.maxBytes, maxRecords: opts.batch.maxRecords };
  const slot = new UploadLedger(ports.ledger).slot({
    method: 'sdk',
    server: opts.server,
    userId: user.id,
    fingerprint,
    filters: opts.filters.canonical,
    ...limits,
  });
  if (!opts.force && !opts.dryRun) {
    const earlier = slot.read();
    if (earlier?.completedAt) return alreadyUploaded(base, earlier, earlier.completedAt);
  }

  // Batches are imported as they arrive: the whole export is checked first, so a truncated or broken one
  // sends nothing (as direct does).
  const [
    { brokenAt, checkWholeExport },
    { readIncremental },
    { readIntoBatches },
    { SdkBatchFlow },
    { SdkImportWatcher },
    { SdkPrediction, emptyPrediction },
    { summaryReader, summaryUnreadable },
  ] = await pipeline;
  await checkWholeExport(source, signal, onEvent);
  // What the server has from earlier uploads by any method (shared/imported.ts): left out, as direct does.
  const inc = readIncremental(ports.ledger, opts.server, user.id, opts.full);
  const ledger = new SdkLedgerWriter(
    slot,
    {
      server: opts.server,
      userId: user.id,
      fingerprint,
      filters: opts.filters.canonical,
      limits,
      dryRun: opts.dryRun,
      force: opts.force,
    },
    source.displayName,
    clock,
  );
  if (ledger.previous.size > 0)
    onEvent({ type: 'resume', unit: 'batch', done: ledger.previous.size, total: null });
  const route = opts.dryRun ? null : ports.sdk(user.id);
  // With --wait, the summary before anything is sent, and the ledger's ranges read before this upload
  // is recorded in it: the backend's events count the rows a batch wrote, not the new ones.
  const summary = summaryReader(ports, user.id);
  let before: SummaryCounts | null = null;
  if (opts.wait && !opts.dryRun) {
    try {
      before = await summary();
    } catch (err) {
      summaryUnreadable(ports, onEvent, err);
    }
  }
  const ranges: KnownRanges = {};
  if (before !== null)
    for (const [type, r] of Object.entries(inc.ledger.read().types))
      if (type !== WORKOUT_TYPE) ranges[type] = r;
  const prediction = before !== null ? new SdkPrediction(ranges) : null;
  const predicted = emptyPrediction();
  onEvent({
    type: 'plan',
    plan: {
      method: 'sdk',
      source: source.displayName,
      sourceBytes: source.size,
      userId: user.id,
      limits,
      dryRun: opts.dryRun,
      auth: route?.mode() ?? null,
      incremental: inc.plan,
    },
  });
  const head = envelopeHead({
    sdkVersion: ports.userAgent,
    syncTimestamp: new Date(clock.now()).toISOString(),
    syncSessionId: ledger.syncSessionId,
  });
  const output: BatchOutput | null =
    opts.dryRun && opts.out ? await ports.batchOutput(opts.out, 'sdk') : null;
  // The feed is followed with --wait, and to pace batches holding sleep (below); an SDK token cannot read it.
  const watcher =
    !opts.dryRun && route?.mode() !== 'sdk-token'
      ? new SdkImportWatcher(ports.feed(user.id), {
          clock,
          signal,
          onConnection: (state, detail) =>
            onEvent({ type: 'connection', state, ...(detail ? { detail } : {}) }),
        })
      : null;
  const flow = new SdkBatchFlow({
    opts,
    fingerprint,
    runId,
    ledger,
    route,
    output,
    watcher,
    predicted,
    clock,
    signal,
    onEvent,
  });
  const { outcomes, counts } = flow;

  let read: Awaited<ReturnType<typeof readIntoBatches>>;
  try {
    if (watcher) await watcher.start();
    read = await readIntoBatches({
      source,
      filters: inc.known ? { ...opts.filters, known: inc.known } : opts.filters,
      importedWorkouts: inc.importedWorkouts,
      limits,
      head,
      signal,
      onEvent,
      onBatch: (batch) => flow.onBatch(batch),
      stopped: () => flow.stoppedEarly,
      prediction,
    });
    await output?.commit();
  } catch (err) {
    await output?.discard();
    throw err;
  } finally {
    await watcher?.stop();
  }
  const broken = brokenAt(read.summary);
  const { stoppedEarly } = flow;
  const whole = broken === null && counts.failed === 0 && !stoppedEarly;
  if (!opts.dryRun) ledger.finish(whole);
  if (!opts.dryRun && whole) recordImported(inc, read.sentImports, clock.now(), onEvent);
  let verification: SummaryVerification | undefined;
  if (before !== null) {
    try {
      // Every batch's end has been seen (--wait follows each to it): the summary shows them all.
      const after = await summary();
      const followed = outcomes.filter((o) => o.state === 'completed' || o.state === 'failed').length;
      verification = verifySummary(predicted, before, after, {
        units: followed,
        failed: counts.failed,
        settled: 'events',
        // Only when this machine's ledger does not say what the server has (none, or --full): when it
        // does, what was sent is new to the server, and a shortfall is rows lost.
        mayBeThere: inc.known === undefined,
      });
    } catch (err) {
      summaryUnreadable(ports, onEvent, err);
    }
  }
  return {
    ...base,
    status: opts.dryRun ? 'dry-run' : 'uploaded',
    runId,
    records: counts.records,
    selection: read.selection,
    conversion: read.conversion,
    batches: outcomes,
    sent: counts.sent,
    skipped: counts.skipped,
    failed: counts.failed,
    stoppedEarly,
    auth: route?.mode() ?? null,
    syncSessionId: ledger.syncSessionId,
    out: output ? { path: output.path, layout: output.layout } : null,
    brokenAt: broken,
    durationMs: Math.round(clock.now() - started),
    bytesSent: counts.bytes,
    ...(verification ? { verification } : {}),
  };
}

/**
 * What an upload sent in full, into the ledger of what the server has (shared by every method), so the
 * next upload of a newer export sends only what is new. The server has it by now: a ledger that cannot
 * be written is a warning, not the run's failure.
 */
function recordImported(
  inc: Incremental,
  sent: { workouts: string[]; ranges: KnownRanges },
  now: number,
  onEvent: UploadEvents,
): void {
  try {
    inc.ledger.add(sent.workouts, sent.ranges, new Date(now));
  } catch (err) {
    onEvent({
      type: 'warning',
      message: `What was sent could not be recorded in ${inc.ledger.path} (${err instanceof Error ? err.message : String(err)}); make that folder writable before uploading a newer export, or it would be sent again.`,
    });
  }
}
