/**
 * The lines and document fields every upload method's renderer shares: the live view (render.ts) and
 * each method's result (render-<method>.ts, loaded only for that method) take them from here.
 */

import type { SdkBatchOutcome } from '../../core/upload/sdk/batch-flow.js';
import { plainImportError } from '../../core/upload/shared/verify.js';
import type { BatchOutcome, Repairs, UploadResultBase } from '../../core/upload/types.js';
import { formatBytes } from '../../io/progress.js';
import { count } from '../../io/text.js';

/** What the repair changes, one phrase each. */
export function describeRepairs(repairs: Repairs, streamed: boolean): string[] {
  const lines: string[] = [];
  if (repairs.doctypeRemoved)
    lines.push('the DOCTYPE declaration (Apple’s DTD is not needed and often broken)');
  if (repairs.illegalCharsDropped > 0)
    lines.push(
      `${count(repairs.illegalCharsDropped, 'illegal control character')}` +
        (streamed ? ' (replaced by as many newlines after the root, so the size was known up front)' : ''),
    );
  return lines;
}

/** One SDK batch as it goes (the route answers 202 with no id, so none is shown). */
export function sdkBatchLine(b: BatchOutcome): string {
  const what = `batch ${b.seq} (${count(b.records, 'sample')}, ${formatBytes(b.bytes)})`;
  const saved = b as Partial<SdkBatchOutcome>;
  switch (b.state) {
    case 'skipped':
      return `${what}: already accepted in an earlier run, skipped`;
    case 'sent':
      return `${what}: accepted`;
    case 'completed':
      return `${what}: imported, ${saved.recordsSaved ?? '?'} records, ${saved.workoutsSaved ?? '?'} workouts, ${saved.sleepSaved ?? '?'} sleep samples saved${saved.droppedCount ? `, ${saved.droppedCount} dropped by the server's validation` : ''}`;
    case 'failed':
      return `${what}: FAILED: ${b.error ?? 'no error given'}`;
    default:
      return `${what}: planned`;
  }
}

/** The fields every batch method's `--json` document starts with, named as every method names them. */
export function documentHead(r: UploadResultBase) {
  return {
    method: r.method,
    status: r.status,
    dryRun: r.status === 'dry-run',
    server: r.server,
    userId: r.userId,
    source: r.source,
    sourceBytes: r.sourceBytes,
    fingerprint: r.fingerprint,
    runId: r.runId,
    ...(r.uploadedAt ? { uploadedAt: r.uploadedAt } : {}),
  };
}

/** The fields every batch method's `--json` document ends with. */
export function documentTail(r: {
  sent: number;
  skipped: number;
  failed: number;
  bytesSent: number;
  durationMs: number;
  stoppedEarly: boolean;
  earlierBatches?: number;
}) {
  return {
    sent: r.sent,
    skipped: r.skipped,
    failed: r.failed,
    bytesSent: r.bytesSent,
    durationMs: r.durationMs,
    stoppedEarly: r.stoppedEarly,
    ...(r.earlierBatches !== undefined ? { earlierBatches: r.earlierBatches } : {}),
  };
}

/**
 * A batch method's summary line: what this run sent, the records of the batches it posted (not those an
 * earlier run did), out of every batch the export makes.
 */
export function sentLine(
  r: { sent: number; skipped: number; bytesSent: number; durationMs: number; batches: BatchOutcome[] },
  unit: [singular: string, plural: string],
  earlier: string,
): string {
  const records = r.batches
    .filter((b) => b.state === 'sent' || b.state === 'completed' || b.state === 'failed')
    .reduce((sum, b) => sum + b.records, 0);
  return (
    `Sent ${r.sent} of ${count(r.batches.length, 'batch', 'batches')} (${count(records, ...unit)}, ${formatBytes(r.bytesSent)}) in ${(r.durationMs / 1000).toFixed(1)} s` +
    (r.skipped ? `; ${r.skipped} ${earlier}` : '')
  );
}

export function batchLine(b: BatchOutcome): string {
  const what = `batch ${b.seq} (${b.filename}, ${count(b.records, 'record')}, ${formatBytes(b.bytes)})`;
  switch (b.state) {
    case 'skipped':
      return `${what}: already sent in an earlier run, skipped`;
    case 'sent':
      return `${what}: queued${b.taskId ? ` as task ${b.taskId}` : ' (accepted; found on the status feed)'}`;
    case 'completed':
      return `${what}: completed, ${b.itemsProcessed ?? '?'} items processed`;
    case 'failed':
      // In plain words; the server's own text is in --json (batches[].error).
      return `${what}: FAILED: ${plainImportError(b.error, 'it').message}`;
    default:
      return `${what}: planned`;
  }
}
