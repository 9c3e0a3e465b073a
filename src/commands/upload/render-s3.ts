import type { S3UploadResult } from '../../core/upload/s3/run.js';
import { plainImportError } from '../../core/upload/shared/verify.js';
import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';
import { count } from '../../io/text.js';
import { describeRepairs } from './lines.js';
import { renderShort, renderStored } from './render-verify.js';

/** `upload --method s3`'s result: the JSON document, or the plan, the stored keys and what comes next. */
export function renderS3Result(f: Factory, r: S3UploadResult): void {
  const out = f.out;
  if (f.globals.json) {
    out.json(s3Document(r));
    return;
  }
  if (r.status === 'already-uploaded') {
    out.info(
      `This export was already uploaded for user ${r.userId} on ${r.uploadedAt} (${count(r.parts.length, 'part')}); nothing sent.`,
    );
    for (const p of r.parts) if (p.fileKey) out.data(p.fileKey);
    out.hint('use --force to send it again (the backend imports it again)');
    return;
  }
  if (r.status === 'dry-run') {
    out.info(`Plan (dry run, nothing sent) for user ${r.userId} on ${r.server}:`);
    out.data(`backend: ${r.backend}`);
    if (r.transport !== 'post') {
      const how =
        r.transport === 'multipart'
          ? 'one multipart upload, in parts of the size the server sets at create, then complete'
          : 'the direct route, as one repaired file (under the 5 MiB multipart minimum)';
      out.data(`${r.bytes} bytes by ${how}; ${r.parts[0]?.elements ?? '?'} elements checked`);
      const lines = r.repairs ? describeRepairs(r.repairs, true) : [];
      if (lines.length > 0) out.data(`repairs: ${lines.join('; ')}`);
      return;
    }
    for (const p of r.parts)
      out.data(`part ${p.index}/${r.parts.length}  ${p.filename}  ${p.bytes} bytes  ${p.elements} elements`);
    return;
  }
  if (r.checkedWhileSending) {
    const lines = r.repairs ? describeRepairs(r.repairs, true) : [];
    out.info(
      `${r.checkedWhileSending.elements} elements checked while sending.` +
        (lines.length > 0 ? ` Repaired (your file is not changed): ${lines.join('; ')}.` : ''),
    );
  }
  if (r.multipart) {
    const m = r.multipart;
    out.data(m.key);
    const resumed = r.parts.filter((p) => p.resumed).length;
    out.success(
      `Uploaded ${r.source} for user ${r.userId}: one object in ${count(r.parts.length, 'part')} of ${formatBytes(m.partSize)}, ${formatBytes(r.bytesSent)} sent in ${(r.durationMs / 1000).toFixed(1)} s (${m.concurrency} at a time${resumed > 0 ? `; ${resumed} sent by an earlier run` : ''}).`,
    );
    if (r.imported) renderImported(f, r);
    else if (m.completionMode === 'client')
      out.info(
        `Import queued as task ${m.taskId}. Follow it with \`apple-import status --user ${r.userId} --follow\`, or upload with --wait.`,
      );
    else
      out.info(
        `Completed; the backend imports it when S3 notifies it (sns mode). Follow it with \`apple-import status --user ${r.userId} --follow\`.`,
      );
    renderVerification(f, r);
    return;
  }
  if (r.transport === 'direct') {
    out.success(
      `Uploaded ${r.source} for user ${r.userId} through the direct route (${formatBytes(r.bytesSent)}), task ${r.taskId}.`,
    );
    if (r.imported) renderImported(f, r);
    else
      out.info(
        `Follow the import with \`apple-import status --user ${r.userId} --follow\`, or upload with --wait.`,
      );
    renderVerification(f, r);
    return;
  }
  for (const p of r.parts) if (p.fileKey) out.data(p.fileKey);
  out.success(
    `Uploaded ${r.source} for user ${r.userId}: ${count(r.parts.length, 'part')}, ${formatBytes(r.bytesSent)} sent in ${(r.durationMs / 1000).toFixed(1)} s.`,
  );
  if (r.verification) renderVerification(f, r);
  else
    out.info(
      'Next: the backend imports each part when S3 notifies it; this path reports no progress. ' +
        `Check later with \`apple-import status --user ${r.userId}\`, or upload with --wait.`,
    );
}

/**
 * With --wait: what the user's summary gained next to what apple-import predicted of the document sent,
 * and a failure in plain words with advice that can succeed.
 */
function renderVerification(f: Factory, r: S3UploadResult): void {
  const v = r.verification;
  if (!v) return;
  const out = f.out;
  renderStored(f, v);
  if (v.settled === 'timeout')
    out.warn(
      v.imported === 0
        ? 'The summary did not change within the time allowed: the server has not imported the upload (or not yet).'
        : 'The summary was still changing when the wait ended: the import may not be over.',
    );
  const i = r.imported;
  if (i?.stage === 'failed') {
    const e = plainImportError(i.error, 'the import', {
      method: 's3',
      workout: v.stoppedAt ? { key: '', ...v.stoppedAt } : null,
      ...(v.learnt !== undefined ? { learnt: v.learnt } : {}),
    });
    out.error(e.message);
    if (e.hint) out.hint(e.hint);
    return;
  }
  if (!v.ok) renderShort(f, v, r.userId);
}

/** What the backend said of the import (--wait). */
function renderImported(f: Factory, r: S3UploadResult): void {
  const i = r.imported!;
  if (i.stage === 'failed') {
    // An error apple-import knows is said in plain words (here, or with the verification), not as the server's text.
    const plain = plainImportError(i.error, 'the import', { method: 's3' });
    const known = !plain.retryable;
    const said = i.message ?? (known ? 'its task stopped' : (i.error ?? 'no message'));
    f.out.error(
      `The backend's import failed: ${said}${!known && i.error && i.error !== said ? ` (${i.error})` : ''}`,
    );
    if (known && !r.verification) {
      f.out.error(plain.message);
      if (plain.hint) f.out.hint(plain.hint);
    }
    return;
  }
  const said = i.message ?? i.error ?? 'no message';
  if (i.status === 'skipped') f.out.error(`The backend imported nothing: ${said}`);
  else f.out.success(`Imported: ${said}`);
}

/** The `--json` document: the fields every method shares, then the S3 ones. */
function s3Document(r: S3UploadResult) {
  const { checkedWhileSending: _streamed, ...doc } = r;
  return {
    ...doc,
    dryRun: r.status === 'dry-run',
    ...(r.status === 'uploaded'
      ? { bytesPerSecond: Math.round(r.durationMs > 0 ? (r.bytesSent * 1000) / r.durationMs : r.bytesSent) }
      : {}),
  };
}
