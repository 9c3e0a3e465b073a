import type { SdkUploadResult } from '../../core/upload/sdk/run.js';
import { plainImportError } from '../../core/upload/shared/verify.js';
import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';
import { count, firstOf, grouped } from '../../io/text.js';
import { documentHead, documentTail, sentLine } from './lines.js';
import { renderShort, renderStored } from './render-verify.js';

const short = (t: string) => t.replace(/^HK\w+TypeIdentifier/, '');

/** `upload --method sdk`'s result: the JSON document, or the plan or what was sent, and what was left out. */
export function renderSdkResult(f: Factory, wait: boolean, r: SdkUploadResult): void {
  const out = f.out;
  if (f.globals.json) {
    out.json(sdkDocument(r));
    return;
  }
  if (r.status === 'already-uploaded') {
    out.info(
      `This export was already sent to this user (${count(r.earlierBatches ?? 0, 'batch', 'batches')}, ${r.uploadedAt}).`,
    );
    out.hint('use --force to send it again (safe on this route: nothing is stored twice)');
    return;
  }
  if (r.status === 'dry-run') {
    out.data(`Plan: ${count(r.batches.length, 'batch', 'batches')}, ${count(r.records, 'sample')}`);
    for (const [type, n] of Object.entries(r.conversion.sent).sort()) out.data(`  ${type}  ${n}`);
    for (const b of r.batches)
      out.data(
        `  batch ${b.seq}: ${count(b.byCollection.records, 'record')}, ${grouped(b.byCollection.sleep)} sleep, ${count(b.byCollection.workouts, 'workout')}, ${formatBytes(b.bytes)}`,
      );
    if (r.out)
      out.info(
        `Wrote the batches to ${r.out.path}${r.out.layout === 'lines' ? ' (one request body per line)' : ''}.`,
      );
  } else {
    out.data(sentLine(r, ['sample', 'samples'], 'already accepted earlier'));
  }
  const verb = r.status === 'dry-run' ? 'will drop' : 'dropped';
  for (const [reason, byType] of Object.entries(r.selection.dropped)) {
    const n = Object.values(byType).reduce((a, b) => a + b, 0);
    const types = Object.entries(byType)
      .sort((a, b) => b[1] - a[1])
      .map(([t, k]) => `${short(t)} ${grouped(k)}`);
    out.info(`${verb} ${grouped(n)} (${reason}): ${firstOf(types)}`);
  }
  for (const [reason, byType] of Object.entries(r.conversion.skipped)) {
    const n = Object.values(byType).reduce((a, b) => a + b, 0);
    const detail =
      reason === 'unknown-unit'
        ? Object.entries(r.conversion.unknownUnits)
            .map(
              ([t, units]) =>
                `${short(t)} in ${Object.keys(units)
                  .map((u) => `"${u}"`)
                  .join(', ')}`,
            )
            .join('; ')
        : Object.entries(byType)
            .map(([t, k]) => `${short(t)} ${k}`)
            .join(', ');
    out.warn(`${r.status === 'dry-run' ? 'cannot send' : 'not sent'} ${n} (${reason}): ${detail}`);
  }
  for (const [stat, units] of Object.entries(r.conversion.workoutValuesSkipped))
    out.warn(
      `workout value ${short(stat)} left out for its unit: ${Object.keys(units)
        .map((u) => `"${u}"`)
        .join(', ')}`,
    );
  if (r.status === 'uploaded' && !wait && r.sent > 0)
    out.hint(`follow the import with: apple-import status --user ${r.userId} --follow`);
  // With --wait: what the user's summary gained next to what the batches sent were expected to add.
  if (r.verification) {
    renderStored(f, r.verification);
    if (r.verification.failed === 0 && !r.verification.ok) renderShort(f, r.verification, r.userId);
  }
  // Backend errors in plain words (shared/verify.ts, as for every method); a re-run only when it can succeed.
  const failed = r.batches.filter((b) => b.state === 'failed');
  const plain = failed.map((b) => plainImportError(b.error, `batch ${b.seq}`));
  for (const e of plain) if (!e.retryable) out.error(e.message);
  for (const hint of new Set(plain.map((e) => e.hint).filter((h) => h !== undefined))) out.hint(hint);
  if (r.failed > 0 && plain.every((e) => e.retryable))
    out.error(
      `${count(r.failed, 'batch', 'batches')} failed on the server; re-run the same command to resend ${r.failed === 1 ? 'it' : 'them'} (safe on this route)`,
    );
}

function sdkDocument(r: SdkUploadResult) {
  const sum = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  return {
    ...documentHead(r),
    auth: r.auth,
    syncSessionId: r.syncSessionId,
    batchBytes: r.batchBytes,
    batchRecords: r.batchRecords,
    records: r.records,
    selected: { total: sum(r.selection.selected), byType: r.selection.selected },
    recordsByType: r.conversion.sent,
    dropped: Object.fromEntries(
      Object.entries(r.selection.dropped).map(([k, v]) => [k, { total: sum(v), byType: v }]),
    ),
    notSent: Object.fromEntries(
      Object.entries(r.conversion.skipped).map(([k, v]) => [k, { total: sum(v), byType: v }]),
    ),
    unknownUnits: r.conversion.unknownUnits,
    workoutValuesSkipped: r.conversion.workoutValuesSkipped,
    correlationMembersPromoted: r.selection.correlationMembersPromoted,
    batches: r.batches.map((b) => ({
      seq: b.seq,
      requestId: b.filename,
      records: b.records,
      byCollection: b.byCollection,
      bytes: b.bytes,
      state: b.state,
      attempts: b.attempts,
      itemsProcessed: b.itemsProcessed,
      recordsSaved: b.recordsSaved,
      workoutsSaved: b.workoutsSaved,
      sleepSaved: b.sleepSaved,
      droppedCount: b.droppedCount,
      error: b.error,
    })),
    ...(r.out ? { out: r.out } : {}),
    ...documentTail(r),
    ...(r.verification ? { verification: r.verification } : {}),
  };
}
