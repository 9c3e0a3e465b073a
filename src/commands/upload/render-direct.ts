import { total } from '../../core/upload/direct/normalize.js';
import type { DirectUploadResult } from '../../core/upload/direct/run.js';
import type { UploadOptions } from '../../core/upload/types.js';
import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';
import { documentHead, documentTail } from './render.js';

/** `upload --method direct`'s result: the JSON document, or the plan or what was sent, and what was left out. */
export function renderDirectResult(f: Factory, o: UploadOptions, r: DirectUploadResult): void {
  const out = f.out;
  const dropped = Object.fromEntries(
    Object.entries(r.report.dropped).map(([k, v]) => [k, { total: total(v), byType: v }]),
  );
  if (f.globals.json) {
    out.json(directDocument(r, dropped));
    return;
  }
  if (r.status === 'already-uploaded') {
    out.info(
      `This export was already sent to this user (${r.earlierBatches ?? 0} batches, ${r.uploadedAt}).`,
    );
    out.hint(
      'use --force to send it again (workouts already imported may make the batches fail, contract §5.6)',
    );
    return;
  }
  if (r.status === 'dry-run') {
    out.data(`Plan: ${r.batches.length} batches, ${r.records} records`);
    for (const [type, n] of Object.entries(r.report.kept).sort()) out.data(`  ${type}  ${n}`);
    for (const b of r.batches) out.data(`  batch ${b.seq}: ${b.records} records, ${formatBytes(b.bytes)}`);
  } else {
    out.data(
      `Sent ${r.sent} of ${r.batches.length} batches (${r.records} records, ${formatBytes(r.bytesSent)}) in ${(r.durationMs / 1000).toFixed(1)} s` +
        (r.skipped ? `; ${r.skipped} already sent earlier` : ''),
    );
  }
  for (const [reason, d] of Object.entries(dropped)) {
    const top = Object.entries(d.byType)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([t, n]) => `${t.replace(/^HK\w+TypeIdentifier/, '')} ${n}`)
      .join(', ');
    out.info(`${r.status === 'dry-run' ? 'will drop' : 'dropped'} ${d.total} (${reason}): ${top}`);
  }
  if (r.status === 'uploaded' && !o.wait && r.sent > 0) {
    const ids = r.batches.filter((b) => b.taskId).map((b) => b.taskId);
    if (ids.length) out.info(`task ids: ${ids.join(', ')}`);
    out.hint(`follow the import with: apple-import status --user ${r.userId} --follow`);
  }
  if (r.failed > 0)
    out.error(`${r.failed} batch(es) failed on the server; re-run the same command to resend them`);
}

/** The `--json` document: the fields every method shares, then the direct ones. */
function directDocument(
  r: DirectUploadResult,
  dropped: Record<string, { total: number; byType: Record<string, number> }>,
) {
  return {
    ...documentHead(r),
    batchBytes: r.batchBytes,
    batchRecords: r.batchRecords,
    records: r.records,
    selected: { total: total(r.report.selected), byType: r.report.selected },
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
    ...documentTail(r),
  };
}
