import { total } from '../../core/upload/direct/normalize.js';
import type { DirectUploadResult } from '../../core/upload/direct/run.js';
import { plainImportError } from '../../core/upload/shared/verify.js';
import { describeCollision } from '../../core/upload/shared/workout-keys.js';
import type { UploadOptions } from '../../core/upload/types.js';
import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';
import { count, firstOf, grouped } from '../../io/text.js';
import { documentHead, documentTail, sentLine } from './lines.js';

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
      `This export was already sent to this user (${count(r.earlierBatches ?? 0, 'batch', 'batches')}, ${r.uploadedAt}).`,
    );
    out.hint('use --force --full to send its records again (a workout the server has is never sent twice)');
    return;
  }
  if (r.status === 'dry-run') {
    out.data(`Plan: ${count(r.batches.length, 'batch', 'batches')}, ${count(r.records, 'record')}`);
    for (const [type, n] of Object.entries(r.report.kept).sort()) out.data(`  ${type}  ${n}`);
    for (const b of r.batches)
      out.data(`  batch ${b.seq}: ${count(b.records, 'record')}, ${formatBytes(b.bytes)}`);
    if (r.out) out.info(`Wrote the batches' documents to ${r.out.path}.`);
  } else {
    out.data(sentLine(r, ['record', 'records'], 'already sent earlier'));
  }
  for (const [reason, d] of Object.entries(dropped)) {
    const types = Object.entries(d.byType)
      .sort((a, b) => b[1] - a[1])
      .map(([t, n]) => `${t.replace(/^HK\w+TypeIdentifier/, '')} ${grouped(n)}`);
    out.info(
      `${r.status === 'dry-run' ? 'will drop' : 'dropped'} ${grouped(d.total)} (${reason}): ${firstOf(types)}`,
    );
  }
  if (r.report.datesRewritten > 0)
    out.info(
      `rewrote the iOS 8-era compact dates of ${count(r.report.datesRewritten, 'sample')} into the backend's format`,
    );
  for (const c of r.report.collisions)
    out.info(`left out ${describeCollision(c)}, which the backend cannot store twice`);
  if (r.status === 'uploaded' && !o.wait && r.sent > 0) {
    const ids = r.batches.filter((b) => b.taskId).map((b) => b.taskId);
    if (ids.length) out.info(`task ids: ${ids.join(', ')}`);
    out.hint(`follow the import with: apple-import status --user ${r.userId} --follow`);
  }
  if (r.verification) {
    const v = r.verification;
    out.info(
      `The backend imported ${count(v.imported, 'item')}; apple-import predicted ${grouped(v.predicted)} for the ${count(v.units, 'batch', 'batches')} followed.`,
    );
    if (v.failed === 0 && v.imported < v.predicted)
      out.error(`the backend imported ${count(v.predicted - v.imported, 'item')} fewer than predicted`);
  }
  for (const b of r.batches) {
    if (b.state !== 'failed') continue;
    const e = plainImportError(b.error, `batch ${b.seq}`);
    out.error(e.message);
    if (e.hint) out.hint(e.hint);
  }
  if (r.failed > 0 && r.batches.every((b) => b.state !== 'failed' || plainImportError(b.error, '').retryable))
    out.hint(`re-run the same command to send the failed ${r.failed === 1 ? 'batch' : 'batches'} again`);
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
    repairs: { datesRewritten: r.report.datesRewritten, workoutCollisions: r.report.collisions },
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
    ...(r.verification ? { verification: r.verification } : {}),
    ...(r.out ? { out: r.out } : {}),
  };
}
