import { randomBytes, randomUUID } from 'node:crypto';
import { formBoundary } from '../multipart-headers.js';
import { createPresignedPost } from '../s3/presign.js';
import { requireApiKeyOrJwt } from './auth.js';
import type { BackendContext, RouteHandler } from './context.js';
import { isoAt } from './context.js';
import { parseMultipart } from './multipart.js';
import { HttpError, readJsonObject, sendJson } from './respond.js';
import type { DirectUpload } from './state.js';
import { boundedInt, boundedString, canonicalUuid } from './validation.js';
import type { ParsedChunk } from './xml-import.js';

/** Contract §2.1 defaults. */
const DEFAULT_EXPIRATION_SECONDS = 300;
const DEFAULT_MAX_FILE_SIZE = 52_428_800;

/** Python's `str(datetime.now(UTC))`: space separator, microseconds only when non-zero, `+00:00`. */
export function pythonUtcNow(ms: number): string {
  const iso = new Date(ms).toISOString();
  const micros = (ms % 1000) * 1000;
  const fraction = micros === 0 ? '' : `.${String(micros).padStart(6, '0')}`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}+00:00`;
}

/** Contract §2.3 `generate_file_key`: keep alphanumerics (Unicode, like `str.isalnum`) and `.-_`. */
export function generateFileKey(userId: string, filename: string, nowMs: number): string {
  const clean = [...filename].filter((c) => /[\p{L}\p{N}._-]/u.test(c)).join('');
  return clean ? `${userId}/raw/${clean}` : `${userId}/raw/${pythonUtcNow(nowMs)}.xml`;
}

/** `POST /users/{user_id}/import/apple/xml/s3` — contract §2. The user id is not checked (§2.1). */
export const presignXmlUpload: RouteHandler = async (ctx, { req, res, params }) => {
  requireApiKeyOrJwt(ctx, req);
  const body = await readJsonObject(req);
  const filename = body.filename === undefined ? '' : boundedString(body.filename, 200);
  const expiresIn =
    body.expiration_seconds === undefined
      ? DEFAULT_EXPIRATION_SECONDS
      : boundedInt(body.expiration_seconds, 60, 3600);
  const maxFileSize =
    body.max_file_size === undefined
      ? DEFAULT_MAX_FILE_SIZE
      : boundedInt(body.max_file_size, 1024, ctx.maxFileSize);
  if (!ctx.s3) throw new HttpError(503, 'S3 client not configured');

  const userId = params.user_id ?? '';
  const now = ctx.now();
  const fileKey = generateFileKey(userId, filename, now);
  const post = createPresignedPost({
    endpoint: ctx.s3.endpoint,
    bucket: ctx.s3.bucket,
    region: ctx.s3.region,
    accessKeyId: ctx.s3.accessKeyId,
    secretAccessKey: ctx.s3.secretAccessKey,
    key: fileKey,
    expiresSeconds: expiresIn,
    // Contract §2.4: exact Content-Type condition and a 1..max_file_size length range.
    contentType: 'application/xml',
    maxBytes: maxFileSize,
    minBytes: 1,
    now: new Date(now),
  });
  ctx.state.presigns.push({
    userId,
    fileKey,
    bucket: ctx.s3.bucket,
    expiresIn,
    maxFileSize,
    uploadUrl: post.url,
  });
  sendJson(res, 200, {
    upload_url: post.url,
    form_fields: post.fields,
    file_key: fileKey,
    expires_in: expiresIn,
    max_file_size: maxFileSize,
    bucket: ctx.s3.bucket,
  });
};

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
 * Contract §5.6 [inferred]: a workout already stored for the same data source and times makes the detail insert
 * fail and leaves the DB session unusable, so the rest of the chunk is lost and the task fails.
 */
const DUPLICATE_WORKOUT_ERROR =
  "This Session's transaction has been rolled back due to a previous exception during flush. " +
  'Original exception was: (psycopg.errors.UniqueViolation) duplicate key value violates unique constraint ' +
  '"event_record_detail_pkey"';

function commitChunk(ctx: BackendContext, userKey: string, chunk: ParsedChunk): void {
  const imports = ctx.state.importsFor(userKey);
  for (const workout of chunk.workouts) {
    const clash = imports.workouts.some(
      (w) => w.deviceModel === workout.deviceModel && w.start === workout.start && w.end === workout.end,
    );
    if (clash) throw new Error(DUPLICATE_WORKOUT_ERROR);
    imports.workouts.push(workout);
  }
  for (const { record, recordedAtMs } of chunk.records) imports.upsertRecord(record, recordedAtMs);
  for (const sample of chunk.sleep) {
    const seen = imports.sleep.some(
      (s) => s.start === sample.start && s.end === sample.end && s.stage === sample.stage,
    );
    if (!seen) imports.sleep.push(sample);
  }
}

/**
 * The Celery task `process_xml_upload` (contract §3.4): events only when the user id is a UUID. Exported so the
 * sandbox can run it on an S3 object, standing in for the S3 notification path (§2.6). Queued behind the tasks
 * before it (import-runner.ts); resolves once it has finished, or without finishing when the double closed
 * first (the upload then stays `processing`). `failWith` fails it with that error instead of importing.
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
  const outcome = await ctx.imports.parse(upload.bytes, handOver, (chunk) => {
    try {
      commitChunk(ctx, uuid ?? upload.userId, chunk);
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
