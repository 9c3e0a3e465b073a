/**
 * `upload --method s3`: presigned POSTs of the repaired export, in parts when it exceeds the cap
 * (contract §2). inspect → user → ledger → plan → parts (re-planned once if the server's cap is smaller
 * than ours) → result. The ledger is written before the first part and after every part, so an
 * interrupted upload resumes with the parts still missing.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { CancelledError, UsageError } from '../../../errors.js';
import { isFilterActive } from '../../selection/filters.js';
import { requireUser } from '../../users.js';
import { type LedgerSlot, type S3LedgerEntry, UploadLedger, withPart } from '../shared/ledger.js';
import { newRunId, partFilename } from '../shared/naming.js';
import type { Repairs, UploadEvents, UploadOptions, UploadPorts, UploadResultBase } from '../types.js';
import { inspectExport } from './inspect.js';
import type { PartSpec } from './part-planner.js';
import { planUpload, repairsOf, streamedPlan, type UploadPlan } from './preflight.js';
import { type PartResult, ServerCapError, uploadParts } from './send-parts.js';

/** A part as the result reports it: planned (dry run), stored by this run, or stored by an earlier one. */
export interface S3PartReport {
  index: number;
  filename: string;
  bytes: number;
  /** Top-level elements in the part (dry run, when the export was scanned). */
  elements?: number | null;
  fileKey?: string;
  /** Stored by an earlier run of the same upload. */
  resumed?: boolean;
  durationMs?: number;
  bytesPerSecond?: number;
  attempts?: number;
}

export interface S3UploadResult extends UploadResultBase {
  method: 's3';
  /** Bytes of the whole repaired export (padded when it is sent as one streamed part). */
  bytes: number;
  maxPartSize: number;
  repairs?: Repairs;
  /** The cap the server stated, when the parts were planned again for it. */
  replannedForServerCap?: number;
  /** One part was checked while it was sent: how many top-level elements the check saw. */
  checkedWhileSending: { elements: number } | null;
  parts: S3PartReport[];
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
  if (opts.wait)
    onEvent({
      type: 'warning',
      message:
        '--wait has no effect with --method s3: the S3 path gives no completion signal (contract §2.6).',
    });
  const { signal, clock } = ports;
  // The user check is a round trip and the export's head and fingerprint are local reads, so they overlap.
  // The user is awaited first: a bad user is still reported before a bad file.
  const inspecting = inspectExport((p) => ports.openExport(p), opts.path, signal);
  inspecting.catch(() => {});
  onEvent({ type: 'step', step: 'user', done: false });
  const user = await requireUser({ users: ports.users, server: opts.server, signal }, opts.user).finally(() =>
    onEvent({ type: 'step', step: 'user', done: true }),
  );
  const { source, head, fingerprint } = await interruptible(signal, inspecting);
  const started = clock.now();

  const ledger = new UploadLedger(ports.ledger).slot({
    method: 's3',
    server: opts.server,
    userId: user.id,
    fingerprint,
  });
  const existing = opts.force ? undefined : ledger.read();
  const base = {
    method: 's3' as const,
    server: opts.server,
    userId: user.id,
    source: source.displayName,
    sourceBytes: source.size,
    fingerprint,
  };
  if (existing?.completedAt) {
    return {
      ...base,
      status: 'already-uploaded',
      runId: existing.runId,
      uploadedAt: existing.completedAt,
      bytes: existing.parts.reduce((n, p) => n + p.bytes, 0),
      maxPartSize: opts.maxPartSize,
      checkedWhileSending: null,
      parts: existing.parts.map(({ index, fileKey, filename, bytes }) => ({
        index,
        fileKey,
        filename,
        bytes,
      })),
      durationMs: 0,
      bytesSent: 0,
    };
  }

  const scan = (cap: number) => scanned(source, cap, fingerprint, signal, onEvent);
  // One part is sent while it is checked; a split, and --dry-run's report, need the scan first.
  let plan =
    (!opts.dryRun && streamedPlan(source, head, fingerprint, opts.maxPartSize)) ||
    (await scan(opts.maxPartSize));
  announce(plan, onEvent);
  const state: SendState = {
    entry:
      existing && existing.cap === plan.cap && existing.partCount === plan.parts.length
        ? existing
        : newEntry(base, plan, newRunId(), clock.now()),
    done: [],
  };
  const names = (p: PartSpec) => partFilename(fingerprint, state.entry.runId, p.index, plan.parts.length);

  if (opts.dryRun) {
    return {
      ...base,
      ...sizes(plan),
      status: 'dry-run',
      runId: state.entry.runId,
      checkedWhileSending: null,
      parts: plan.parts.map((p) => ({
        index: p.index,
        filename: names(p),
        bytes: p.bytes,
        elements: p.elements,
      })),
      durationMs: Math.round(clock.now() - started),
      bytesSent: 0,
    };
  }

  let replannedFor: number | undefined;
  for (;;) {
    try {
      await sendParts(opts, ports, { plan, names, userId: user.id, ledger }, state, onEvent);
      break;
    } catch (err) {
      if (err instanceof ServerCapError && state.entry.parts.length === 0 && replannedFor === undefined) {
        replannedFor = err.cap;
        onEvent({ type: 'replan', cap: err.cap });
        plan = await scan(err.cap);
        announce(plan, onEvent);
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
      throw interrupted ? new CancelledError() : err;
    }
  }

  const { entry, done } = state;
  // A streamed part was checked while it was sent: its repairs are known only now.
  const scanSummary = plan.summary ?? done.find((r) => r.scan)?.scan;
  const durationMs = Math.round(clock.now() - started);
  return {
    ...base,
    ...sizes(plan),
    status: 'uploaded',
    runId: entry.runId,
    ...(scanSummary ? { repairs: repairsOf(scanSummary) } : {}),
    ...(replannedFor !== undefined ? { replannedForServerCap: replannedFor } : {}),
    checkedWhileSending:
      plan.streamed && !plan.summary && scanSummary ? { elements: scanSummary.topLevelCount } : null,
    parts: entry.parts.map((p) => {
      const r = done.find((d) => d.index === p.index);
      return {
        index: p.index,
        fileKey: p.fileKey,
        filename: p.filename,
        bytes: p.bytes,
        resumed: r === undefined,
        ...(r
          ? {
              durationMs: r.durationMs,
              bytesPerSecond: Math.round(rate(r.bytes, r.durationMs)),
              attempts: r.attempts,
            }
          : {}),
      };
    }),
    durationMs,
    bytesSent: done.reduce((s, r) => s + r.bytes, 0),
  };
}

/** The ledger entry as parts are stored, and the parts this run stored. */
interface SendState {
  entry: S3LedgerEntry;
  done: PartResult[];
}

/** The parts not stored yet, each recorded in the ledger as soon as S3 has it. */
async function sendParts(
  opts: UploadOptions,
  ports: UploadPorts,
  run: {
    plan: UploadPlan;
    names: (p: PartSpec) => string;
    userId: string;
    ledger: LedgerSlot<S3LedgerEntry>;
  },
  state: SendState,
  onEvent: UploadEvents,
): Promise<void> {
  const { plan, names, userId, ledger } = run;
  const total = plan.parts.length;
  const skip = new Set(state.entry.parts.map((p) => p.index));
  if (skip.size > 0) onEvent({ type: 'resume', unit: 'part', done: skip.size, total });
  ledger.write(state.entry);
  await uploadParts(
    {
      presign: async (req, signal) => {
        onEvent({ type: 'step', step: 'presign', done: false });
        try {
          return await ports.imports.presignXml({ ...req, userId, signal });
        } finally {
          onEvent({ type: 'step', step: 'presign', done: true });
        }
      },
      post: (o) => ports.s3Post(o),
      clock: ports.clock,
      signal: ports.signal,
      userAgent: ports.userAgent,
      stallTimeoutMs: opts.stallTimeoutMs,
    },
    plan,
    names,
    skip,
    {
      onPartStart: (part, attempt) =>
        onEvent({ type: 'started', unit: 'part', index: part.index, of: total, bytes: part.bytes, attempt }),
      onPartProgress: (part, sentBytes) =>
        onEvent({ type: 'sending', unit: 'part', index: part.index, sentBytes, bytes: part.bytes }),
      onRetry: (part, attempt, delayMs, err) =>
        onEvent({
          type: 'retry',
          unit: 'part',
          index: part.index,
          attempt,
          delayMs,
          reason: err instanceof Error ? err.message : String(err),
        }),
      onPartDone: (part, r) => {
        const now = new Date(ports.clock.now());
        const { index, fileKey, filename, bytes } = r;
        state.entry = withPart(
          state.entry,
          { index, fileKey, filename, bytes, uploadedAt: now.toISOString() },
          now,
        );
        ledger.write(state.entry);
        state.done.push(r);
        onEvent({
          type: 'done',
          unit: 'part',
          index: part.index,
          of: total,
          part: { index, filename, fileKey, bytes, durationMs: r.durationMs, attempts: r.attempts },
        });
      },
    },
  );
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

function announce(plan: UploadPlan, onEvent: UploadEvents): void {
  onEvent({
    type: 'plan',
    plan: {
      method: 's3',
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

/** Ctrl-C during a step before the send is an interruption, whatever the step threw. */
async function interruptible<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw signal.aborted ? new CancelledError() : err;
  }
}

function sizes(plan: UploadPlan) {
  return {
    bytes: plan.repairedBytes,
    maxPartSize: plan.cap,
    ...(plan.summary ? { repairs: repairsOf(plan.summary) } : {}),
  };
}

function rate(bytes: number, ms: number): number {
  return ms > 0 ? (bytes * 1000) / ms : bytes;
}

function newEntry(
  base: { server: string; userId: string; fingerprint: string; source: string },
  plan: UploadPlan,
  runId: string,
  now: number,
): S3LedgerEntry {
  const at = new Date(now).toISOString();
  return {
    version: 2,
    method: 's3',
    server: base.server,
    userId: base.userId,
    fingerprint: base.fingerprint,
    source: base.source,
    runId,
    cap: plan.cap,
    partCount: plan.parts.length,
    parts: [],
    startedAt: at,
    updatedAt: at,
    completedAt: null,
  };
}
