/**
 * An export below S3's 5 MiB part minimum on a current backend in client mode: `create` refuses it and a
 * presigned POST alone is never imported there (current page §2.1 item 4), so it goes to the direct route
 * as one repaired file, as the backend's own web app sends small files. It is checked whole before the
 * request (it is at most 5 MiB, held in memory), so nothing broken is sent. When the backend's import
 * needs the export changed, the file is the filtered document (shared/export-filter.ts), as over S3.
 */
import { ApiError, CancelledError, isAbortError } from '../../../errors.js';
import { formatBytes } from '../../../io/progress.js';
import { repairPlanFor } from '../../reader/repair.js';
import type { ScanSummary } from '../../reader/types.js';
import { newRunId, objectFilename } from '../shared/naming.js';
import { DIRECT_RETRY, isRetryable, retryDelayMs } from '../shared/retry.js';
import { checkedBody } from './checked-body.js';
import { watchImport } from './follow-import.js';
import { type MultipartRun, objectSize, unstartedEntry } from './multipart-run.js';
import { planUpload, repairsOf } from './preflight.js';
import type { S3UploadResult } from './result.js';

export async function runSmallDirect(run: MultipartRun): Promise<S3UploadResult> {
  const { opts, ports, onEvent, source, head } = run;
  const repair = repairPlanFor(head);
  const total = objectSize(run);
  onEvent({
    type: 'notice',
    message: `${source.displayName} is under S3's 5 MiB part minimum: it goes to the direct route as one repaired file (${formatBytes(total)}), as the backend's own web app sends small files.`,
  });
  let summary: ScanSummary | undefined;
  const guard = async <T>(work: Promise<T>): Promise<T> => {
    try {
      return await work;
    } catch (err) {
      throw ports.signal.aborted ? new CancelledError() : err;
    }
  };
  const announce = (s: ScanSummary | null) =>
    onEvent({
      type: 'plan',
      plan: {
        method: 's3',
        transport: 'direct',
        backend: run.base.backend,
        source: source.displayName,
        sourceBytes: source.size,
        elements: s ? s.topLevelCount : null,
        parts: 1,
        cap: total,
        repairs: s ? repairsOf(s) : null,
        streamed: true,
      },
    });
  const runId = newRunId();
  const filename = objectFilename(run.fingerprint, runId);
  if (opts.dryRun) {
    const plan = await guard(
      planUpload(source, {
        cap: Math.max(total, source.size),
        fingerprint: run.fingerprint,
        signal: ports.signal,
      }),
    );
    announce(plan.summary);
    return {
      ...run.base,
      status: 'dry-run',
      runId: null,
      bytes: total,
      maxPartSize: total,
      repairs: repairsOf(plan.summary!),
      checkedWhileSending: null,
      parts: [{ index: 1, filename, bytes: total, elements: plan.summary!.topLevelCount }],
      durationMs: Math.round(ports.clock.now() - run.started),
      bytesSent: 0,
    };
  }
  announce(null);
  const pieces: Buffer[] = [];
  let read = 0;
  for await (const chunk of checkedBody(
    source,
    { ...repair, filter: run.filter },
    {
      signal: ports.signal,
      onScanned: (s) => {
        summary = s;
      },
    },
  )) {
    pieces.push(chunk);
    read += chunk.length;
    onEvent({ type: 'progress', pass: 'check', bytes: read, total });
  }
  const body = Buffer.concat(pieces);
  const pending = unstartedEntry(run, runId, total);
  // Before the request: a config folder that cannot be written fails the run before anything is sent.
  run.ledger.write(pending);
  const watch = opts.wait ? await watchImport(ports, run.userId, { filename }, onEvent) : null;
  try {
    const started = ports.clock.now();
    let answer: { task_id: string } | undefined;
    for (let attempt = 1; !answer; attempt++) {
      onEvent({ type: 'started', unit: 'part', index: 1, of: 1, bytes: body.length, attempt });
      try {
        answer = await ports.directImports.postXml({
          userId: run.userId,
          filename,
          body,
          signal: ports.signal,
        });
      } catch (err) {
        if (ports.signal.aborted || isAbortError(err)) throw new CancelledError();
        if (!isRetryable(err, DIRECT_RETRY) || attempt >= DIRECT_RETRY.maxAttempts) throw err;
        const delayMs = retryDelayMs(attempt, err);
        onEvent({
          type: 'retry',
          unit: 'part',
          index: 1,
          attempt,
          delayMs,
          reason: err instanceof ApiError || err instanceof Error ? err.message : String(err),
        });
        await ports.clock.sleep(delayMs, ports.signal).catch(() => {
          throw new CancelledError();
        });
      }
    }
    const at = new Date(ports.clock.now()).toISOString();
    const fileKey = `direct:${answer.task_id}`;
    // A re-run of the same export says it was sent, as for any other way it went.
    run.ledger.write({
      ...pending,
      parts: [{ index: 1, fileKey, filename, bytes: body.length, uploadedAt: at }],
      updatedAt: at,
      completedAt: at,
    });
    const durationMs = Math.round(ports.clock.now() - started);
    const imported = watch ? await guard(watch.outcome()) : undefined;
    return {
      ...run.base,
      status: 'uploaded',
      runId,
      bytes: body.length,
      maxPartSize: total,
      ...(summary ? { repairs: repairsOf(summary) } : {}),
      checkedWhileSending: summary ? { elements: summary.topLevelCount } : null,
      taskId: answer.task_id,
      ...(imported ? { imported } : {}),
      parts: [{ index: 1, filename, fileKey, bytes: body.length, resumed: false, durationMs, attempts: 1 }],
      durationMs: Math.round(ports.clock.now() - run.started),
      bytesSent: body.length,
    };
  } finally {
    watch?.stop();
  }
}
