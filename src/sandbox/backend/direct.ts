import { randomBytes, randomUUID } from 'node:crypto';
import { formBoundary } from '../multipart-headers.js';
import { requireApiKeyOrJwt } from './auth.js';
import type { BackendContext, RouteHandler } from './context.js';
import { isoAt } from './context.js';
import { parseMultipart } from './multipart.js';
import { HttpError, sendJson } from './respond.js';
import type { DirectUpload } from './state.js';
import { canonicalUuid } from './validation.js';
import { XmlImportSession } from './xml-commit.js';

/** `POST /users/{user_id}/import/apple/xml/direct` — contract §3: 200 and the import runs afterwards. */
export const directXmlUpload: RouteHandler = async (ctx, { req, res, params }) => {
  requireApiKeyOrJwt(ctx, req);
  ctx.imports.warm();
  const boundary = formBoundary(req.headers['content-type']);
  const parts = boundary
    ? await parseMultipart(req, boundary, { maxFileBytes: ctx.maxDirectBytes, maxFieldBytes: 1024 * 1024 })
    : [];
  const file = parts.find((p) => p.name === 'file');
  if (!file) throw new HttpError(400, 'Field required');
  if (file.filename === null) {
    throw new HttpError(400, "Value error, Expected UploadFile, received: <class 'str'>");
  }
  const userId = params.user_id ?? '';
  const upload: DirectUpload = {
    filename: file.filename,
    bytes: file.data,
    userId,
    taskId: randomUUID(),
    status: 'processing',
  };
  ctx.state.directUploads.push(upload);
  sendJson(res, 200, { status: 'processing', task_id: upload.taskId, user_id: userId });

  ctx.imports.schedule(ctx.directDelayMs, () => importTask(ctx, upload, false, null));
};

function takeForcedFailure(ctx: BackendContext, filename: string): string | null {
  const at = ctx.forcedFailures.findIndex((f) =>
    typeof f.filename === 'string' ? f.filename === filename : f.filename.test(filename),
  );
  if (at < 0) return null;
  const [forced] = ctx.forcedFailures.splice(at, 1);
  return forced?.error ?? null;
}

/**
 * The Celery task `process_xml_upload` (contract §3.4): events only when the user id is a UUID. Exported so the
 * double can run it on bytes from elsewhere (`importXml`). Queued behind the tasks before it (import-runner.ts);
 * resolves once it has finished, or without finishing when the double closed first (the upload then stays
 * `processing`). `failWith` fails it with that error instead of importing.
 */
export function runDirectImport(
  ctx: BackendContext,
  upload: DirectUpload,
  opts: { handOver?: boolean; failWith?: string } = {},
): Promise<void> {
  return ctx.imports.enqueue(() => importTask(ctx, upload, opts.handOver ?? false, opts.failWith ?? null));
}

async function importTask(
  ctx: BackendContext,
  upload: DirectUpload,
  handOver: boolean,
  failWith: string | null,
): Promise<void> {
  const uuid = canonicalUuid(upload.userId);
  const runId = `xml_${randomBytes(8).toString('hex')}`;
  const startedAt = isoAt(ctx.now());
  const base = {
    run_id: runId,
    user_id: uuid ?? upload.userId,
    provider: 'apple',
    source: 'xml_import' as const,
    progress: null,
    items_total: null,
    primary_user_id: null,
    metadata: { filename: upload.filename },
    started_at: startedAt,
  };
  if (uuid) {
    ctx.sync.emit({
      ...base,
      stage: 'started',
      status: 'in_progress',
      message: `Importing Apple Health XML file ${upload.filename}`,
      items_processed: null,
      error: null,
      ended_at: null,
    });
  }
  const complete = (items: number) => {
    upload.status = 'completed';
    if (!uuid) return;
    ctx.sync.emit({
      ...base,
      stage: 'completed',
      status: 'success',
      message: 'Apple Health XML import completed',
      items_processed: items,
      error: null,
      ended_at: isoAt(ctx.now()),
    });
  };
  const fail = (error: string) => {
    upload.status = 'failed';
    upload.error = error;
    if (!uuid) return;
    ctx.sync.emit({
      ...base,
      stage: 'failed',
      status: 'failed',
      message: `Apple Health XML import failed: ${upload.filename}`,
      items_processed: null,
      error,
      ended_at: isoAt(ctx.now()),
    });
  };

  const forced = failWith ?? takeForcedFailure(ctx, upload.filename);
  if (forced !== null) return fail(forced);
  let commitFailed = false;
  const session = new XmlImportSession(ctx, uuid ?? upload.userId, 'direct');
  const outcome = await ctx.imports.parse({ bytes: upload.bytes, handOver }, (chunk) => {
    try {
      session.commit(chunk);
      return true;
    } catch (err) {
      // The chunks before stay committed (contract §3.4 step 8); the task fails right away, as it did when
      // the commit ran inside the parse.
      commitFailed = true;
      fail(err instanceof Error ? err.message : String(err));
      return false;
    }
  });
  if (commitFailed || outcome === null) return;
  if ('items' in outcome) complete(outcome.items);
  else fail(outcome.error);
}
