import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { postDirectXml } from '../../adapters/direct-api.js';
import { openExport } from '../../adapters/export-source.js';
import { HttpClient } from '../../adapters/http.js';
import { Ledger } from '../../adapters/ledger.js';
import { recentSyncEvents, syncEventStream } from '../../adapters/sync-api.js';
import type { AppContext } from '../../context.js';
import { buildFilters } from '../../core/selection/filters.js';
import type { SyncFeed } from '../../core/sync/tracker.js';
import {
  DEFAULT_BATCH_BYTES,
  DEFAULT_BATCH_RECORDS,
  MAX_BATCH_BYTES,
} from '../../core/upload/direct/batcher.js';
import { total } from '../../core/upload/direct/normalize.js';
import {
  type BatchOutcome,
  type DirectRunResult,
  type LedgerEntry,
  runDirect,
} from '../../core/upload/direct/run.js';
import { requireUser } from '../../core/users.js';
import { AppError, UsageError } from '../../errors.js';
import { createByteProgress, formatBytes } from '../../io/progress.js';
import { services } from '../../services.js';

/** The flags `upload --method direct` passes in (strings as commander gives them, or numbers). */
export interface DirectFlags {
  user?: string;
  since?: string;
  until?: string;
  types?: string;
  excludeTypes?: string;
  wait?: boolean;
  dryRun?: boolean;
  force?: boolean;
  batchBytes?: string | number;
  batchRecords?: string | number;
  failFast?: boolean;
}

function intFlag(
  name: string,
  value: string | number | undefined,
  def: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${value}".`);
  }
  return n;
}

/** Quick identity of the source for the ledger key: size plus a hash of its first MiB (holds ExportDate). */
async function sourceIdentity(
  source: Awaited<ReturnType<typeof openExport>>,
  signal: AbortSignal,
): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source.open({ signal, start: 0, end: Math.min(source.size, 1 << 20) }))
    hash.update(chunk);
  return `${source.size}:${hash.digest('hex').slice(0, 32)}`;
}

/** `upload --method direct`: normalized batches to `/import/apple/xml/direct` (contract §3, product.md). */
export async function uploadDirect(ctx: AppContext, path: string, flags: DirectFlags): Promise<number> {
  const filters = buildFilters(flags);
  const limits = {
    maxBytes: intFlag('--batch-bytes', flags.batchBytes, DEFAULT_BATCH_BYTES, 4096, MAX_BATCH_BYTES),
    maxRecords: intFlag(
      '--batch-records',
      flags.batchRecords,
      DEFAULT_BATCH_RECORDS,
      1,
      DEFAULT_BATCH_RECORDS,
    ),
  };
  const svc = services(ctx, { user: flags.user });
  const { http, session, api, settings, store } = svc;
  const server = settings.server.value;
  const userId = flags.user ?? settings.user?.value;
  // The user check is a round trip and opening the export a local read, so they overlap. The user is
  // awaited first: a bad user is reported before a bad file, as with the s3 method.
  const opened = openExport(path);
  opened.catch(() => {}); // only left unawaited when the user check throws first
  const user = await requireUser({ api, session, server, signal: ctx.signal }, userId);
  const source = await opened;

  const ledger = new Ledger(join(store.dir, 'ledger'));
  const key = Ledger.keyOf({
    method: 'direct',
    server,
    user: user.id,
    source: await sourceIdentity(source, ctx.signal),
    filters: filters.canonical,
    maxBytes: limits.maxBytes,
    maxRecords: limits.maxRecords,
  });

  // The uploads get a client without the run's interrupt signal built in (services.ts gives every request
  // ctx.signal): sender.ts decides when Ctrl-C tears a batch down, and lets one whose body went out in full
  // wait for its answer, so its task id reaches the ledger (contract §3.2, §3.4).
  const uploadHttp = new HttpClient({
    baseUrl: server,
    dispatcher: ctx.dispatcher,
    userAgent: `apple-import/${ctx.version}`,
    debug: (m) => ctx.out.debug(m),
  });

  const feed: SyncFeed = {
    stream: (replay, signal, onOpen) => sessionStream(ctx, svc, user.id, replay, signal, onOpen),
    recent: (limit, signal) => session.call((h) => recentSyncEvents(http, h, user.id, limit, signal)),
  };

  const out = ctx.out;
  const json = ctx.globals.json;
  const progress = createByteProgress(
    ctx.io,
    flags.dryRun ? 'Planning' : 'Reading',
    source.size,
    () => ctx.clock.now(),
    ctx.globals.quiet || json || !ctx.globals.progress,
  );
  const verb = flags.dryRun ? 'planned' : 'sending';
  out.info(
    `${flags.dryRun ? 'Planning' : 'Uploading'} ${source.displayName} to user ${user.id} (direct, batches ≤ ${formatBytes(limits.maxBytes)}, ≤ ${limits.maxRecords} records)`,
  );
  const started = ctx.clock.now();
  let result: DirectRunResult;
  try {
    result = await runDirect(
      {
        server,
        userId: user.id,
        filters,
        limits,
        wait: Boolean(flags.wait),
        dryRun: Boolean(flags.dryRun),
        force: Boolean(flags.force),
        failFast: Boolean(flags.failFast),
      },
      {
        source,
        ledger: {
          get: () => ledger.get<LedgerEntry>(key),
          put: (e) => ledger.put(key, e),
          delete: () => ledger.delete(key),
        },
        post: (filename, body, prog, signal) =>
          session.call((h) =>
            postDirectXml(uploadHttp, {
              userId: user.id,
              filename,
              body,
              headers: h,
              signal,
              progress: prog,
            }),
          ),
        feed,
        clock: ctx.clock,
        signal: ctx.signal,
      },
      {
        onBytes: (n) => progress.update(n),
        onBatch: (b) => {
          if (json) return;
          if (flags.dryRun) return;
          progress.stop();
          out.info(batchLine(b, verb));
        },
        onRetry: (seq, info) =>
          out.warn(
            `batch ${seq}: ${info.reason}; retrying in ${(info.delayMs / 1000).toFixed(1)} s (attempt ${info.attempt + 1})`,
          ),
        onFate: () => {},
        onDrain: (seq, info) => {
          progress.stop();
          out.warn(
            `interrupted: batch ${seq} was sent in full; waiting up to ${inSeconds(info.waitMs)} for the server's answer so it is not sent twice (Ctrl-C again to quit now)`,
          );
        },
        onPending: (seq, info) => {
          progress.stop();
          if (info.phase === 'waiting')
            out.info(
              `batch ${seq} (${info.filename}) was sent when an earlier run stopped, and the status feed does not show it yet (it shows an import once it starts); waiting up to ${inSeconds(info.waitMs)} for it before sending it again`,
            );
          else
            out.warn(
              `batch ${seq} (${info.filename}) did not appear on the status feed in ${inSeconds(info.waitMs)}; sending it again (if the server still had it queued, it is imported twice)`,
            );
        },
        onConnection: (state, detail) => {
          if (state === 'reconnecting')
            out.verbose(`status stream: reconnecting${detail ? ` (${detail})` : ''}`);
          else if (state === 'polling') out.warn('status stream unavailable; polling /sync/recent instead');
        },
      },
    );
  } catch (err) {
    // Like the s3 method: an export already sent in full is not a failure for a script re-running it.
    if (!(err instanceof AppError) || err.code !== 'ALREADY_UPLOADED') throw err;
    if (json) out.json({ method: 'direct', status: 'already-uploaded', message: err.message });
    else {
      out.info(err.message);
      if (err.hint) out.hint(err.hint);
    }
    return 0;
  } finally {
    progress.stop();
  }
  const seconds = (ctx.clock.now() - started) / 1000;
  return report(ctx, result, {
    dryRun: Boolean(flags.dryRun),
    wait: Boolean(flags.wait),
    userId: user.id,
    seconds,
  });
}

/** The SSE stream with auth from the session (a 401 on open refreshes once, like any call). */
async function* sessionStream(
  ctx: AppContext,
  svc: ReturnType<typeof services>,
  userId: string,
  replay: number,
  signal: AbortSignal,
  onOpen: () => void,
) {
  const headers = await svc.session.call(async (h) => h);
  void ctx;
  yield* syncEventStream(svc.http, headers, userId, replay, signal, onOpen);
}

function inSeconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

function batchLine(b: BatchOutcome, verb: string): string {
  const what = `batch ${b.seq} (${b.filename}, ${b.records} records, ${formatBytes(b.bytes)})`;
  switch (b.state) {
    case 'skipped':
      return `${what}: already sent in an earlier run, skipped`;
    case 'sent':
      return `${what}: queued${b.taskId ? ` as task ${b.taskId}` : ' (accepted; found on the status feed)'}`;
    case 'completed':
      return `${what}: completed, ${b.itemsProcessed ?? '?'} items processed`;
    case 'failed':
      return `${what}: FAILED: ${b.error ?? 'no error given'}`;
    default:
      return `${what}: ${verb}`;
  }
}

function report(
  ctx: AppContext,
  r: DirectRunResult,
  o: { dryRun: boolean; wait: boolean; userId: string; seconds: number },
): number {
  const out = ctx.out;
  const dropped = Object.fromEntries(
    Object.entries(r.report.dropped).map(([k, v]) => [k, { total: total(v), byType: v }]),
  );
  const doc = {
    method: 'direct',
    dryRun: o.dryRun,
    userId: o.userId,
    runId: r.runId,
    fingerprint: r.fingerprint,
    records: r.records,
    recordsByType: r.report.kept,
    dropped,
    correlationMembersPromoted: r.report.correlationMembersPromoted,
    batches: r.batches.map((b) => ({
      seq: b.seq,
      filename: b.filename,
      records: b.records,
      bytes: b.bytes,
      state: b.state,
      taskId: b.taskId,
      itemsProcessed: b.itemsProcessed,
      error: b.error,
    })),
    sent: r.sent,
    skipped: r.skipped,
    failed: r.failed,
    bytesSent: r.bytesSent,
    seconds: Number(o.seconds.toFixed(3)),
    stoppedEarly: r.stoppedEarly,
  };
  const defects = r.summary && !r.summary.wellFormed && !r.summary.repairable;
  if (ctx.globals.json) out.json(doc);
  else {
    if (o.dryRun) {
      out.data(`Plan: ${r.batches.length} batches, ${r.records} records`);
      for (const [type, n] of Object.entries(r.report.kept).sort()) out.data(`  ${type}  ${n}`);
      for (const b of r.batches) out.data(`  batch ${b.seq}: ${b.records} records, ${formatBytes(b.bytes)}`);
    } else {
      out.data(
        `Sent ${r.sent} of ${r.batches.length} batches (${r.records} records, ${formatBytes(r.bytesSent)}) in ${o.seconds.toFixed(1)} s` +
          (r.skipped ? `; ${r.skipped} already sent earlier` : ''),
      );
    }
    for (const [reason, d] of Object.entries(dropped)) {
      const top = Object.entries(d.byType)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([t, n]) => `${t.replace(/^HK\w+TypeIdentifier/, '')} ${n}`)
        .join(', ');
      out.info(`${o.dryRun ? 'will drop' : 'dropped'} ${d.total} (${reason}): ${top}`);
    }
    if (!o.dryRun && !o.wait && r.sent > 0) {
      const ids = r.batches.filter((b) => b.taskId).map((b) => b.taskId);
      if (ids.length) out.info(`task ids: ${ids.join(', ')}`);
      out.hint(`follow the import with: apple-import status --user ${o.userId} --follow`);
    }
    if (r.failed > 0)
      out.error(`${r.failed} batch(es) failed on the server; re-run the same command to resend them`);
  }
  if (defects) {
    throw new AppError(
      'INPUT_INVALID',
      'The export is not well-formed past some point; what came before it was sent.',
      {
        hint: 'run `apple-import validate` on it for details',
      },
    );
  }
  if (r.failed > 0) return 1;
  return 0;
}
