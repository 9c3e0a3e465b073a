import { join } from 'node:path';
import type { ExportSource } from '../../adapters/export-source.js';
import { ImportApi } from '../../adapters/import-api.js';
import type { AppContext } from '../../context.js';
import { type InspectedExport, inspectExport } from '../../core/upload/s3/inspect.js';
import type { PartSpec } from '../../core/upload/s3/part-planner.js';
import {
  DEFAULT_PART_CAP,
  planUpload,
  type Repairs,
  repairsOf,
  streamedPlan,
  type UploadPlan,
} from '../../core/upload/s3/preflight.js';
import {
  DEFAULT_STALL_TIMEOUT_MS,
  type PartResult,
  ServerCapError,
  uploadParts,
} from '../../core/upload/s3/upload-parts.js';
import { UploadLedger, type UploadLedgerEntry } from '../../core/upload/shared/ledger.js';
import { newRunId, partFilename } from '../../core/upload/shared/naming.js';
import { requireUser } from '../../core/users.js';
import { CancelledError, UsageError } from '../../errors.js';
import { createByteProgress, formatBytes } from '../../io/progress.js';
import { withSpinner } from '../../io/spinner.js';
import { services } from '../../services.js';
import type { UploadFlags } from './command.js';

const MAX_CAP = 5 * 1024 * 1024 * 1024;

function parseCap(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PART_CAP;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1024 || n > MAX_CAP) {
    throw new UsageError(
      `--max-part-size must be a whole number of bytes from 1024 to ${MAX_CAP}, not "${value}".`,
    );
  }
  return n;
}

function parseStall(value: string | undefined): number {
  if (value === undefined) return DEFAULT_STALL_TIMEOUT_MS;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`--stall-timeout must be a positive number of seconds.`);
  return Math.round(n * 1000);
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
  const used = directOnly.filter(([k]) => flags[k] !== undefined).map(([, f]) => f);
  if (used.length > 0) {
    throw new UsageError(
      `${used.join(', ')} only apply to --method direct; the s3 method sends the export whole.`,
      {
        hint: 'add --method direct, or drop the filter',
      },
    );
  }
}

/** Progress-bar wrapper around the preflight scan (multi-part uploads and --dry-run). */
async function scan(
  ctx: AppContext,
  source: ExportSource,
  cap: number,
  fingerprint: string,
): Promise<UploadPlan> {
  const bar = byteProgress(ctx, 'Checking', source.size);
  try {
    const plan = await planUpload(source, {
      cap,
      fingerprint,
      signal: ctx.signal,
      onProgress: (n) => bar.update(n),
    });
    bar.stop();
    return plan;
  } catch (err) {
    bar.stop();
    throw ctx.signal.aborted ? new CancelledError() : err;
  }
}

/** Ctrl-C during a step before the send is an interruption, whatever the step threw. */
async function step<T>(ctx: AppContext, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw ctx.signal.aborted ? new CancelledError() : err;
  }
}

function describeRepairs(repairs: Repairs, streamed: boolean): string[] {
  const lines: string[] = [];
  if (repairs.doctypeRemoved)
    lines.push('the DOCTYPE declaration (Apple’s DTD is not needed and often broken)');
  if (repairs.illegalCharsDropped > 0)
    lines.push(
      `${repairs.illegalCharsDropped} illegal control character(s)` +
        (streamed ? ' (replaced by as many newlines after the root, so the size was known up front)' : ''),
    );
  return lines;
}

function planDocument(plan: UploadPlan, names: (p: PartSpec) => string) {
  return plan.parts.map((p) => ({
    index: p.index,
    filename: names(p),
    bytes: p.bytes,
    elements: p.elements,
  }));
}

/** `upload --method s3`: presigned POSTs of the repaired export, in parts when it exceeds the cap (contract §2). */
export async function uploadS3(
  ctx: AppContext,
  path: string,
  flags: UploadFlags,
  inspecting: Promise<InspectedExport> = inspectExport(path, ctx.signal),
): Promise<number> {
  refuseDirectOnlyFlags(flags);
  let cap = parseCap(flags.maxPartSize);
  const stallTimeoutMs = parseStall(flags.stallTimeout);
  if (flags.wait) {
    ctx.out.warn(
      '--wait has no effect with --method s3: the S3 path gives no completion signal (contract §2.6).',
    );
  }
  const { api, session, settings, store, http } = services(ctx, flags.user ? { user: flags.user } : {});
  session.require();
  const server = settings.server.value;
  // The user check is a round trip and the export's head and fingerprint are local reads, so they overlap.
  // The user is awaited first: a bad user is still reported before a bad file, as when they ran in turn.
  const user = await withSpinner(ctx.io, 'Checking the user…', () =>
    requireUser({ api, session, server, signal: ctx.signal }, settings.user?.value),
  );
  const { source, head, fingerprint } = await step(ctx, inspecting);

  const ledger = new UploadLedger(join(store.dir, 'ledger'), { server, user: user.id, fingerprint });
  const existing = ledger.read();
  if (existing?.completedAt && !flags.force) return alreadyUploaded(ctx, existing, source, fingerprint, cap);

  // One part is sent while it is checked; a split, and --dry-run's report, need the scan first.
  let plan =
    (!flags.dryRun && streamedPlan(source, head, fingerprint, cap)) ||
    (await scan(ctx, source, cap, fingerprint));
  const announce = (p: UploadPlan) => {
    const elements = p.summary ? `, ${p.summary.topLevelCount} elements` : '';
    const parts = p.parts.length > 1 ? `, ${p.parts.length} parts of at most ${formatBytes(cap)}` : '';
    ctx.out.info(`${source.displayName}: ${formatBytes(source.size)}${elements}${parts}`);
    const repairs = p.summary ? describeRepairs(repairsOf(p.summary), p.streamed) : [];
    if (repairs.length > 0)
      ctx.out.info(`Repairs while sending (your file is not changed): ${repairs.join('; ')}.`);
  };
  announce(plan);

  let entry: UploadLedgerEntry =
    existing && !flags.force && existing.cap === plan.cap && existing.partCount === plan.parts.length
      ? existing
      : newEntry(server, user.id, plan, newRunId());
  const names = (p: PartSpec) => partFilename(plan.fingerprint, entry.runId, p.index, plan.parts.length);

  if (flags.dryRun) {
    if (ctx.globals.json) {
      ctx.out.json({
        ...resultBase(plan, user.id, server, plan.summary ? repairsOf(plan.summary) : undefined),
        status: 'dry-run',
        parts: planDocument(plan, names),
      });
      return 0;
    }
    ctx.out.info(`Plan (dry run, nothing sent) for user ${user.id} on ${server}:`);
    for (const p of planDocument(plan, names))
      ctx.out.data(
        `part ${p.index}/${plan.parts.length}  ${p.filename}  ${p.bytes} bytes  ${p.elements} elements`,
      );
    return 0;
  }

  const importApi = new ImportApi(http);
  const done: PartResult[] = [];
  const started = performance.now();
  let replannedFor: number | undefined;
  for (;;) {
    const skip = new Set(entry.parts.map((p) => p.index));
    if (skip.size > 0)
      ctx.out.info(`Resuming: ${skip.size} of ${plan.parts.length} part(s) were sent earlier.`);
    ledger.write(entry);
    let bar: ReturnType<typeof byteProgress> | undefined;
    try {
      await uploadParts(
        {
          presign: (req, signal) =>
            withSpinner(ctx.io, `Requesting an upload URL…`, () =>
              session.call((h) => importApi.presignXml(h, user.id, req, signal)),
            ),
          clock: ctx.clock,
          signal: ctx.signal,
          userAgent: `apple-import/${ctx.version}`,
          stallTimeoutMs,
        },
        plan,
        names,
        skip,
        {
          onPartStart: (part) => {
            bar = byteProgress(ctx, `Uploading part ${part.index}/${plan.parts.length}`, part.bytes);
          },
          onPartProgress: (_part, n) => bar?.update(n),
          onRetry: (part, attempt, delay, err) => {
            bar?.stop();
            bar = undefined;
            ctx.out.warn(
              `part ${part.index}: ${(err as Error).message} — retrying in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1})`,
            );
          },
          onPartDone: (part, r) => {
            entry = ledger.recordPart(
              entry,
              {
                index: r.index,
                fileKey: r.fileKey,
                filename: r.filename,
                bytes: r.bytes,
                uploadedAt: new Date().toISOString(),
              },
              new Date(),
            );
            done.push(r);
            bar?.stop(
              `${ctx.out.theme.green('✓')} part ${part.index}/${plan.parts.length} stored as ${r.fileKey} (${formatBytes(r.bytes)} in ${(r.durationMs / 1000).toFixed(1)} s, ${formatBytes(rate(r.bytes, r.durationMs))}/s)`,
            );
            bar = undefined;
          },
        },
      );
      break;
    } catch (err) {
      bar?.stop();
      if (err instanceof ServerCapError && entry.parts.length === 0 && replannedFor === undefined) {
        cap = err.cap;
        replannedFor = cap;
        ctx.out.warn(
          `The server accepts at most ${cap} bytes per upload; planning the parts again (a second read).`,
        );
        plan = await scan(ctx, source, cap, fingerprint);
        announce(plan);
        entry = newEntry(server, user.id, plan, entry.runId);
        continue;
      }
      if (err instanceof CancelledError || ctx.signal.aborted) {
        reportPartial(ctx, entry, plan);
        throw new CancelledError();
      }
      if (entry.parts.length > 0) reportPartial(ctx, entry, plan);
      throw err;
    }
  }

  // A streamed part was checked while it was sent: its repairs are known only now.
  const scanned = plan.summary ?? done.find((r) => r.scan)?.scan;
  const repairs = scanned ? repairsOf(scanned) : undefined;
  if (plan.streamed && !plan.summary && repairs && !ctx.globals.json) {
    const lines = describeRepairs(repairs, true);
    ctx.out.info(
      `${scanned?.topLevelCount} elements checked while sending.` +
        (lines.length > 0 ? ` Repaired (your file is not changed): ${lines.join('; ')}.` : ''),
    );
  }
  const durationMs = Math.round(performance.now() - started);
  const sent = done.reduce((s, r) => s + r.bytes, 0);
  if (ctx.globals.json) {
    ctx.out.json({
      ...resultBase(plan, user.id, server, repairs),
      status: 'uploaded',
      ...(replannedFor !== undefined ? { replannedForServerCap: replannedFor } : {}),
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
      bytesSent: sent,
      bytesPerSecond: Math.round(rate(sent, durationMs)),
    });
    return 0;
  }
  for (const p of entry.parts) ctx.out.data(p.fileKey);
  ctx.out.success(
    `Uploaded ${plan.source.displayName} for user ${user.id}: ${entry.parts.length} part(s), ${formatBytes(sent)} sent in ${(durationMs / 1000).toFixed(1)} s.`,
  );
  ctx.out.info(
    'Next: the backend imports each part when S3 notifies it; this path reports no progress (contract §2.6). ' +
      `Check later with \`apple-import status --user ${user.id}\`.`,
  );
  return 0;
}

function rate(bytes: number, ms: number): number {
  return ms > 0 ? (bytes * 1000) / ms : bytes;
}

function newEntry(server: string, user: string, plan: UploadPlan, runId: string): UploadLedgerEntry {
  return {
    version: 1,
    method: 's3',
    server,
    user,
    fingerprint: plan.fingerprint,
    source: plan.source.displayName,
    runId,
    cap: plan.cap,
    partCount: plan.parts.length,
    parts: [],
    startedAt: new Date().toISOString(),
    completedAt: null,
  };
}

function resultBase(plan: UploadPlan, user: string, server: string, repairs: Repairs | undefined) {
  return {
    method: 's3',
    server,
    user,
    source: plan.source.displayName,
    fingerprint: plan.fingerprint,
    sourceBytes: plan.source.size,
    bytes: plan.repairedBytes,
    maxPartSize: plan.cap,
    ...(repairs ? { repairs } : {}),
  };
}

/** The ledger says this export was sent in full; nothing was scanned or sent this time. */
function alreadyUploaded(
  ctx: AppContext,
  e: UploadLedgerEntry,
  source: ExportSource,
  fingerprint: string,
  cap: number,
): number {
  if (ctx.globals.json) {
    ctx.out.json({
      method: 's3',
      server: e.server,
      user: e.user,
      source: source.displayName,
      fingerprint,
      sourceBytes: source.size,
      maxPartSize: cap,
      status: 'already-uploaded',
      uploadedAt: e.completedAt,
      parts: e.parts.map((p) => ({
        index: p.index,
        fileKey: p.fileKey,
        filename: p.filename,
        bytes: p.bytes,
      })),
    });
    return 0;
  }
  ctx.out.info(
    `This export was already uploaded for user ${e.user} on ${e.completedAt} (${e.parts.length} part(s)); nothing sent.`,
  );
  for (const p of e.parts) ctx.out.data(p.fileKey);
  ctx.out.hint('use --force to send it again (the backend imports it again)');
  return 0;
}

function reportPartial(ctx: AppContext, e: UploadLedgerEntry, plan: UploadPlan): void {
  if (e.parts.length === 0) {
    ctx.out.info('No part was completed.');
    return;
  }
  ctx.out.info(`Completed before stopping: ${e.parts.length} of ${plan.parts.length} part(s):`);
  for (const p of e.parts) ctx.out.info(`  part ${p.index}: ${p.fileKey}`);
  ctx.out.info('Run the same command again to send the rest.');
}

/** The shared byte progress, plus an optional closing line (printed once the bar is gone). */
function byteProgress(ctx: AppContext, label: string, total: number) {
  const progress = createByteProgress(ctx.io, label, total, () => ctx.clock.now(), ctx.globals.quiet);
  return {
    update: (done: number) => progress.update(done),
    stop: (final?: string) => {
      progress.stop();
      if (final) ctx.out.info(final);
    },
  };
}
