/**
 * `upload --method s3`: inspect, user and what the server advertises (backend.ts) → ledger → the whole
 * export checked and the filter's first pass (shared/export-filter.ts: what the backend's import needs
 * changed, what the server has) → one of
 * - a multipart upload, completed (multipart-run.ts), on a current backend (for a plain file the server
 *   has nothing of yet, the check and the filter's first pass run alongside it: runPlainFirst);
 * - the direct route with the export whole (small-direct.ts), below S3's 5 MiB part minimum there;
 *   (each sends the filtered document when the filter changes something, and so does the POST below);
 * - presigned POSTs of the repaired export (below), in parts when it exceeds the cap (contract §2), on a
 *   server before August 2026: plan → parts (re-planned once if the server's cap is smaller than ours) →
 *   result. The ledger is written before the first part and after every part, so an interrupted upload
 *   resumes with the parts still missing.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import type { ServerInfo } from '../../../adapters/openapi.js';
import { CancelledError, UsageError } from '../../../errors.js';
import { paddedSize, repairPlanFor } from '../../reader/repair.js';
import type { ScanSummary } from '../../reader/types.js';
import { isFilterActive } from '../../selection/filters.js';
import { requireUser } from '../../users.js';
import {
  describeFilter,
  type ExportFilterPlan,
  type FilterStats,
  filterChanges,
  planFilter,
  withFilter,
} from '../shared/export-filter.js';
import { type Incremental, readIncremental } from '../shared/incremental.js';
import { UploadLedger } from '../shared/ledger.js';
import { newRunId, partFilename } from '../shared/naming.js';
import type { UploadEvents, UploadOptions, UploadPorts } from '../types.js';
import { describeBackend, transportFor, viewBackend } from './backend.js';
import { inspectExport } from './inspect.js';
import { endsClosed, FilterNeeded, type Measure, measureInWorker, plainVerdict } from './measure.js';
import { runMultipart, runPlainFirst } from './multipart-run.js';
import type { PartSpec } from './part-planner.js';
import {
  DEFAULT_PART_CAP,
  type ExportHead,
  planUpload,
  refuseUnrepairable,
  repairsOf,
  streamedPlan,
  type UploadPlan,
} from './preflight.js';
import { alreadyUploaded, planned, type S3Base, type S3UploadResult, uploaded } from './result.js';
import { newEntry, type SendState, sendParts } from './send.js';
import { ServerCapError } from './send-parts.js';
import { runSmallDirect } from './small-direct.js';
import { startVerify } from './verify-import.js';

export type { S3PartReport, S3UploadResult } from './result.js';

/** The filter's first pass (shared/export-filter.ts), which checks the whole export in the same read. */
async function outcomeFilter(
  source: ExportSource,
  head: ExportHead,
  opts: UploadOptions,
  ports: UploadPorts,
  userId: string,
  onEvent: UploadEvents,
) {
  const { signal } = ports;
  const inc = readIncremental(ports.ledger, opts.server, userId, opts.full);
  if (inc.plan) onEvent({ type: 'incremental', plan: inc.plan });
  // One read both checks the whole export and measures what the filter makes of it.
  const { filter, stats, scan } = await interruptible(
    signal,
    planFilter(source, repairPlanFor(head), inc, {
      signal,
      onProgress: (bytes) => onEvent({ type: 'progress', pass: 'check', bytes, total: source.size }),
    }),
  );
  refuseUnrepairable(source, { ...scan, sha256: '' });
  if (filter) onEvent({ type: 'warning', message: `apple-import repairs: ${describeFilter(filter.stats)}.` });
  return { filter, inc, stats };
}

export async function runS3Upload(
  opts: UploadOptions,
  ports: UploadPorts,
  onEvent: UploadEvents,
): Promise<S3UploadResult> {
  if (isFilterActive(opts.filters))
    throw new UsageError('Filters only apply to --method direct; the s3 method sends the export whole.', {
      hint: 'add --method direct, or drop the filter',
    });
  const { signal, clock } = ports;
  // The user check is a round trip and the export's head and fingerprint are local reads, so they overlap.
  // The user is awaited first: a bad user is still reported before a bad file.
  const inspecting = inspectExport((p) => ports.openExport(p), opts.path, signal);
  inspecting.catch(() => {});
  // What the server offers is read alongside (its openapi needs no credential and names no user).
  const viewing = viewBackend((s) => ports.serverInfo(s), signal);
  viewing.catch(() => {});
  onEvent({ type: 'step', step: 'user', done: false });
  const user = await requireUser({ users: ports.users, server: opts.server, signal }, opts.user).finally(() =>
    onEvent({ type: 'step', step: 'user', done: true }),
  );
  onEvent({ type: 'step', step: 'server', done: false });
  const view = await interruptible(signal, viewing).finally(() =>
    onEvent({ type: 'step', step: 'server', done: true }),
  );
  if (!view.known)
    onEvent({
      type: 'warning',
      message: `Cannot tell what ${opts.server} offers (${view.reason}); using the presigned POST, which a current server in its default mode stores but never imports.`,
    });
  else if (view.info.origin === 'cached')
    onEvent({
      type: 'warning',
      message: `${opts.server}/openapi.json could not be read; using what it advertised on ${view.info.readAt}.`,
    });
  const { source, head, fingerprint } = await interruptible(signal, inspecting);
  const started = clock.now();

  const ledger = new UploadLedger(ports.ledger).slot({
    method: 's3',
    server: opts.server,
    userId: user.id,
    fingerprint,
  });
  const recorded = ledger.read();
  const existing = opts.force ? undefined : recorded;
  const baseOf = (transport: S3Base['transport']): S3Base => ({
    method: 's3',
    server: opts.server,
    userId: user.id,
    source: source.displayName,
    sourceBytes: source.size,
    fingerprint,
    transport,
    backend: describeBackend(view),
  });
  if (existing?.completedAt) {
    const size = existing.upload?.fileSize ?? paddedSize(source.size, repairPlanFor(head));
    return alreadyUploaded(baseOf(transportFor(view, size)), existing);
  }
  // What the ledger has unfinished; nothing once an upload started below was aborted and forgotten.
  // With --force it is not resumed but still handed over, so the multipart run aborts it on the server.
  let unfinished = opts.force && recorded?.upload && !recorded.completedAt ? recorded : existing;
  const runOf = (info: ServerInfo, base: S3Base, filter: ExportFilterPlan | null) => ({
    opts,
    ports,
    onEvent,
    userId: user.id,
    source,
    head,
    fingerprint,
    base,
    ledger,
    existing: unfinished,
    info,
    started,
    filter,
  });
  // A plain file the server has nothing of yet goes up by multipart while it is checked and the filter
  // measured (multipart-run.ts runPlainFirst); the filtered document follows should that change it.
  let measured: Awaited<ReturnType<typeof outcomeFilter>> | undefined;
  let sent: S3UploadResult | undefined;
  const plain = paddedSize(source.size, repairPlanFor(head));
  const known = readIncremental(ports.ledger, opts.server, user.id, opts.full);
  // With --wait: the user's summary before anything is sent, the plain-first upload included (verify-import.ts).
  const verify = await startVerify({ opts, ports, onEvent, userId: user.id, inc: known });
  if (view.known && !opts.dryRun && transportFor(view, plain) === 'multipart' && !existing?.upload?.filter) {
    const inc = known;
    const fresh = inc.known === undefined && inc.importedWorkouts.size === 0;
    if (
      fresh &&
      hasFile(source) &&
      (view.info.cap === null || plain <= view.info.cap) &&
      (await endsClosed(source.filePath, source.size))
    ) {
      const first = await runPlainFirst({ ...runOf(view.info, baseOf('multipart'), null), source }, inc);
      if ('result' in first) {
        sent = first.result;
        measured = { filter: null, inc, stats: first.stats };
      } else {
        onEvent({ type: 'warning', message: `apple-import repairs: ${describeFilter(first.stats)}.` });
        measured = { filter: first.filter, inc, stats: first.stats };
        if (first.aborted) unfinished = undefined;
      }
    }
  }
  // The cap the server advertises bounds the parts; without it, the cap of servers before August 2026
  // (a presign refusal then states the real one, and the parts are planned again).
  const cap = Math.min(
    opts.maxPartSize ?? Number.POSITIVE_INFINITY,
    (view.known ? view.info.cap : null) ?? DEFAULT_PART_CAP,
  );
  let postFirst: PostFirst | undefined;
  if (
    !measured &&
    !opts.dryRun &&
    transportFor(view, plain) === 'post' &&
    known.known === undefined &&
    known.importedWorkouts.size === 0 &&
    !existing?.parts.length &&
    hasFile(source) &&
    plain <= cap &&
    (await endsClosed(source.filePath, source.size))
  ) {
    const started = await startPostFirst(source, head, known, signal, onEvent);
    if ('measure' in started) postFirst = started;
    else measured = started;
  }
  // What the backend's import needs repaired and what the server has: a filtered document (shared/),
  // whose exact size decides the way it goes (a second cumulative export may be small once filtered).
  const outcome = postFirst
    ? { filter: null, inc: known, stats: null }
    : (measured ?? (await outcomeFilter(source, head, opts, ports, user.id, onEvent)));
  let filter: ExportFilterPlan | null = outcome.filter;
  const inc = outcome.inc;
  let stats: FilterStats | null = outcome.stats;
  const transport = sent
    ? 'multipart'
    : transportFor(view, filter ? filter.stats.bytes : paddedSize(source.size, repairPlanFor(head)));
  const base = baseOf(transport);
  if (transport !== 'post' && view.known) {
    // Only the POST is sent before the filter's pass has ended (postFirst), so the stats are here.
    const known = stats as FilterStats;
    const run = runOf(view.info, base, filter);
    const result = sent ?? (await (transport === 'multipart' ? runMultipart(run) : runSmallDirect(run)));
    if (result.status === 'uploaded') recordSent(inc, known, result, ports, onEvent);
    return verify ? verify.finish(result, { source, head, filter, stats: known }) : result;
  }
  /** The POST sent alongside the filter's pass: what that pass found, the document changed or not. */
  const settle = async (): Promise<void> => {
    if (!postFirst) return;
    const { measure } = postFirst;
    postFirst = undefined;
    try {
      stats = (await interruptible(signal, measure.done)).stats;
    } finally {
      measure.close();
    }
    if (filterChanges(stats)) {
      filter = { inputs: inc, stats };
      onEvent({ type: 'warning', message: `apple-import repairs: ${describeFilter(stats)}.` });
    }
  };

  const scan = async (cap: number) =>
    withFilter(await scanned(source, cap, fingerprint, signal, onEvent), filter, source.displayName);
  // One part is sent while it is checked; a split, and --dry-run's report, need the scan first.
  let plan = (!opts.dryRun && streamedPlan(source, head, fingerprint, cap, filter)) || (await scan(cap));
  if (postFirst) {
    const { measure, verdict } = postFirst;
    plan.checkedBy = { cleanBefore: () => measure.starts.cleanBefore(), verdict };
  }
  announce(plan, base, onEvent);
  const state: SendState = {
    entry:
      existing && existing.cap === plan.cap && existing.partCount === plan.parts.length
        ? existing
        : newEntry(base, plan, newRunId(), clock.now()),
    done: [],
  };
  const names = (p: PartSpec) => partFilename(fingerprint, state.entry.runId, p.index, plan.parts.length);

  if (opts.dryRun) return planned(base, plan, state.entry.runId, names, Math.round(clock.now() - started));

  let replannedFor: number | undefined;
  for (;;) {
    try {
      await sendParts(opts, ports, { plan, names, userId: user.id, ledger }, state, onEvent);
      break;
    } catch (err) {
      if (err instanceof FilterNeeded && postFirst) {
        // The POST ended short of its last chunk, so S3 kept nothing: the filtered document follows.
        await settle();
        plan = streamedPlan(source, head, fingerprint, cap, filter) || (await scan(cap));
        announce(plan, base, onEvent);
        state.entry = newEntry(base, plan, state.entry.runId, clock.now());
        continue;
      }
      if (err instanceof ServerCapError && state.entry.parts.length === 0 && replannedFor === undefined) {
        replannedFor = err.cap;
        onEvent({ type: 'replan', cap: err.cap });
        // Parts cut by a scan are not held for the filter's verdict: it comes first.
        await settle();
        plan = await scan(err.cap);
        announce(plan, base, onEvent);
        state.entry = newEntry(base, plan, state.entry.runId, clock.now());
        continue;
      }
      const interrupted = err instanceof CancelledError || signal.aborted;
      if (interrupted || state.entry.parts.length > 0)
        onEvent({
          type: 'stopped',
          unit: 'part',
          stored: state.entry.parts.map(({ index, fileKey }) => ({ index, fileKey })),
          total: plan.parts.length,
        });
      postFirst?.measure.close();
      throw interrupted ? new CancelledError() : err;
    }
  }
  // The POST went whole, so the verdict it waited for has come: the plain export was the document.
  await settle();
  const sentStats = stats as FilterStats;
  inc.ledger.add(sentStats.sent.workouts, sentStats.sent.ranges, new Date(clock.now()));
  const result = uploaded(base, plan, state, replannedFor, Math.round(clock.now() - started));
  return verify ? verify.finish(result, { source, head, filter, stats: sentStats }) : result;
}

/**
 * What an accepted upload sent, into the ledger of what the server has (as the POST path does), unless
 * the import it queued was seen to fail. The server has the upload by now: a ledger that cannot be
 * written is a warning, not the run's failure.
 */
function recordSent(
  inc: Incremental,
  stats: FilterStats,
  result: S3UploadResult,
  ports: UploadPorts,
  onEvent: UploadEvents,
): void {
  if (result.imported?.stage === 'failed') return;
  try {
    inc.ledger.add(stats.sent.workouts, stats.sent.ranges, new Date(ports.clock.now()));
  } catch (err) {
    onEvent({
      type: 'warning',
      message: `The upload was accepted, but what it sent could not be recorded in ${inc.ledger.path} (${err instanceof Error ? err.message : String(err)}); make that folder writable before uploading a newer export, or it would send the workouts again.`,
    });
  }
}

/** The preflight scan (multi-part uploads and --dry-run), reporting its progress. */
async function scanned(
  source: ExportSource,
  cap: number,
  fingerprint: string,
  signal: AbortSignal,
  onEvent: UploadEvents,
): Promise<UploadPlan> {
  return interruptible(
    signal,
    planUpload(source, {
      cap,
      fingerprint,
      signal,
      onProgress: (bytes) => onEvent({ type: 'progress', pass: 'check', bytes, total: source.size }),
    }),
  );
}

function announce(plan: UploadPlan, base: S3Base, onEvent: UploadEvents): void {
  onEvent({
    type: 'plan',
    plan: {
      method: 's3',
      transport: 'post',
      backend: base.backend,
      source: plan.source.displayName,
      sourceBytes: plan.source.size,
      elements: plan.summary ? plan.summary.topLevelCount : null,
      parts: plan.parts.length,
      cap: plan.cap,
      repairs: plan.summary ? repairsOf(plan.summary) : null,
      streamed: plan.streamed,
    },
  });
}

/** A presigned POST of the plain export sent while a worker checks it and measures the filter. */
interface PostFirst {
  measure: Measure;
  verdict: Promise<ScanSummary>;
}

/**
 * The one presigned POST of a plain file the server has nothing of yet (a server before August 2026, or
 * one whose openapi cannot be read) goes while a worker checks it and measures the filter, its last chunk
 * held for the verdict (checked-body.ts `checkedBy`), so S3 keeps nothing the filter would change. An
 * export the filter changes mostly says so in its first few MiB: then no POST is started, and what the
 * filter found comes back instead.
 */
async function startPostFirst(
  source: ExportSource & { filePath: string },
  head: ExportHead,
  inc: Incremental,
  signal: AbortSignal,
  onEvent: UploadEvents,
): Promise<PostFirst | { filter: ExportFilterPlan; inc: Incremental; stats: FilterStats }> {
  if (inc.plan) onEvent({ type: 'incremental', plan: inc.plan });
  const measure = measureInWorker(source, repairPlanFor(head), inc);
  let kept = false;
  try {
    await interruptible(signal, Promise.race([measure.head, measure.done.then(() => {})]));
    if (!measure.hasChanged()) {
      kept = true;
      return { measure, verdict: plainVerdict(measure) };
    }
    const { stats } = await interruptible(signal, measure.done);
    onEvent({ type: 'warning', message: `apple-import repairs: ${describeFilter(stats)}.` });
    return { filter: { inputs: inc, stats }, inc, stats };
  } finally {
    if (!kept) measure.close();
  }
}

function hasFile(source: ExportSource): source is ExportSource & { filePath: string } {
  return source.filePath !== undefined;
}

/** Ctrl-C during a step before the send is an interruption, whatever the step threw. */
async function interruptible<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw signal.aborted ? new CancelledError() : err;
  }
}
