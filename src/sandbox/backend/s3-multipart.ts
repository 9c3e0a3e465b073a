// The multipart routes of the current backend (current page §2.2, `import_xml.py` and
// `multipart_upload_service.py` after PR #1445): create → sign → complete → abort, with the ownership check,
// the S3 ClientError → status mapping and the exact detail strings. In client mode `complete` checks the
// claimed parts against ListParts and queues the task that completes the upload and imports it (202); in sns
// mode it completes the upload itself (200) and the S3 notification brings the import.
import { randomUUID } from 'node:crypto';
import { requireApiKeyOrJwt } from './auth.js';
import type { BackendContext, RouteHandler } from './context.js';
import { buildObjectKey } from './object-keys.js';
import { requireS3, UnhandledError } from './presign.js';
import { HttpError, readJsonObject, sendJson } from './respond.js';
import { S3ClientError } from './s3-client.js';
import { notifyObjectCreated, queueS3Import } from './s3-import.js';
import type { MultipartOpened } from './state.js';
import { boundedInt, boundedList, boundedString, object, required } from './validation.js';

/** S3's protocol limits (`multipart.py`): 5 MiB parts except the last, at most 10,000 of them, ≤ 5 GiB each. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_SIZE = 5 * 1024 * 1024 * 1024;
const MAX_PARTS = 10_000;
const MIB = 1024 * 1024;

/** `recommended_part_size`: the configured size, grown to whole MiB only past 10,000 parts, clamped. */
export function recommendedPartSize(fileSize: number, configured: number): number {
  let partSize = configured;
  if (Math.ceil(fileSize / partSize) > MAX_PARTS)
    partSize = Math.ceil(Math.ceil(fileSize / MAX_PARTS) / MIB) * MIB;
  return Math.min(Math.max(partSize, MIN_PART_SIZE), MAX_PART_SIZE);
}

/** `_client_error`: the status for an S3 error code, the detail `"<message>: <Code>"`. */
export function clientErrorHttp(err: unknown, message: string): HttpError {
  // Anything that is not an S3 answer (a refused connection, say) is not a ClientError: FastAPI's plain 500.
  if (!(err instanceof S3ClientError)) throw new UnhandledError(String(err));
  const code = err.code;
  const status = ['NoSuchUpload', 'NoSuchKey', 'NotFound', '404'].includes(code)
    ? 404
    : ['AccessDenied', 'AllAccessDisabled', 'Forbidden', '403'].includes(code)
      ? 403
      : ['EntityTooSmall', 'InvalidArgument', 'InvalidPart', 'InvalidPartOrder', 'MalformedXML'].includes(
            code,
          )
        ? 400
        : ['InternalError', 'RequestTimeout', 'ServiceUnavailable', 'SlowDown'].includes(code)
          ? 503
          : 502;
  return new HttpError(status, `${message}: ${code}`);
}

/** `_verify_owner`: every call after `create` names a key under the user's prefix. */
function verifyOwner(userId: string, key: string): void {
  if (!key.startsWith(`${userId}/`)) throw new HttpError(403, 'Object key does not belong to this user');
}

const keyField = (v: unknown) => required(v, (x) => boundedString(x, 1024));

function opened(ctx: BackendContext, key: string, uploadId: string): MultipartOpened | undefined {
  return ctx.state.multipartUploads.find((u) => u.key === key && u.uploadId === uploadId);
}

/** `POST …/import/apple/xml/s3/multipart/create` → 201 `{upload_id, key, bucket, part_size}`. */
export const createMultipart: RouteHandler = async (ctx, { req, res, params }) => {
  requireApiKeyOrJwt(ctx, req);
  const body = await readJsonObject(req);
  const filename = body.filename === undefined ? '' : boundedString(body.filename, 200);
  const contentType =
    body.content_type === undefined ? 'application/xml' : boundedString(body.content_type, 100);
  const fileSize = required(body.file_size, (v) => boundedInt(v, MIN_PART_SIZE, ctx.maxFileSize));
  const { s3, client } = requireS3(ctx);
  const userId = params.user_id ?? '';
  const key = buildObjectKey(userId, filename);
  let uploadId: string;
  try {
    uploadId = await client.createMultipartUpload(key, contentType);
  } catch (err) {
    throw clientErrorHttp(err, 'Failed to create multipart upload');
  }
  const partSize = recommendedPartSize(fileSize, ctx.partSize);
  ctx.state.multipartUploads.push({
    userId,
    key,
    uploadId,
    bucket: s3.bucket,
    fileSize,
    partSize,
    signed: [],
  });
  sendJson(res, 201, { upload_id: uploadId, key, bucket: s3.bucket, part_size: partSize });
};

/** `POST …/s3/multipart/sign` → `{urls: [{part_number, url}]}`, presigned `upload_part` URLs. */
export const signMultipart: RouteHandler = async (ctx, { req, res, params }) => {
  requireApiKeyOrJwt(ctx, req);
  const body = await readJsonObject(req);
  const key = keyField(body.key);
  const uploadId = keyField(body.upload_id);
  const partNumbers = required(body.part_numbers, (v) =>
    boundedList(v, 1, MAX_PARTS, (n) => boundedInt(n, 1, MAX_PARTS)),
  );
  const expires =
    body.expiration_seconds === undefined ? 86_400 : boundedInt(body.expiration_seconds, 60, 86_400);
  verifyOwner(params.user_id ?? '', key);
  const { client } = requireS3(ctx);
  // Signing is local to boto3: an unknown upload id still gets URLs, which S3 then refuses (NoSuchUpload).
  const urls = partNumbers.map((n) => ({
    part_number: n,
    url: client.presignUploadPart(key, uploadId, n, expires),
  }));
  opened(ctx, key, uploadId)?.signed.push(...partNumbers);
  sendJson(res, 200, { urls });
};

function parseParts(value: unknown): { partNumber: number; etag: string }[] {
  return required(value, (v) =>
    boundedList(v, 1, MAX_PARTS, (item) => {
      const part = object(item);
      return {
        partNumber: required(part.part_number, (n) => boundedInt(n, 1, MAX_PARTS)),
        etag: required(part.etag, (e) => boundedString(e, 256)),
      };
    }),
  );
}

/**
 * `validate_completion_request`: the claimed parts (ETags trimmed, quotes kept) must equal what ListParts
 * reports, page by page, or 400; a listing that makes no sense is 502.
 */
async function validateCompletion(
  ctx: BackendContext,
  key: string,
  uploadId: string,
  parts: { partNumber: number; etag: string }[],
): Promise<void> {
  const { client } = requireS3(ctx);
  const invalid = () => new HttpError(502, 'Object storage returned an invalid multipart part listing');
  const uploaded = new Map<number, string>();
  let marker = 0;
  let listed = 0;
  for (let page = 1; ; page++) {
    if (page > MAX_PARTS)
      throw new HttpError(502, 'Object storage returned too many multipart listing pages');
    let response: Awaited<ReturnType<typeof client.listParts>>;
    try {
      response = await client.listParts(key, uploadId, { maxParts: 1000, marker });
    } catch (err) {
      throw clientErrorHttp(err, 'Failed to validate multipart upload');
    }
    let previous = marker;
    for (const part of response.parts) {
      const number = Number(part.partNumber);
      if (part.partNumber === undefined || !Number.isInteger(number) || part.etag === undefined)
        throw invalid();
      listed++;
      if (listed > MAX_PARTS || number <= previous || number > MAX_PARTS || uploaded.has(number))
        throw invalid();
      uploaded.set(number, part.etag.trim());
      previous = number;
    }
    if (!response.isTruncated) break;
    if (listed >= MAX_PARTS || page >= MAX_PARTS) {
      throw new HttpError(502, 'Object storage returned more multipart parts than allowed');
    }
    const next = Number(response.nextMarker);
    if (!Number.isInteger(next) || next <= marker || next < previous) throw invalid();
    marker = next;
  }
  const claimed = new Map(parts.map((p) => [p.partNumber, p.etag.trim()]));
  const same =
    claimed.size === parts.length &&
    claimed.size === uploaded.size &&
    [...claimed].every(([n, etag]) => uploaded.get(n) === etag);
  if (!same)
    throw new HttpError(400, 'Completed parts do not match the parts stored for this multipart upload');
}

/** `complete_upload`: CompleteMultipartUpload with the parts in order (also run by the queued task). */
export async function completeUpload(
  ctx: BackendContext,
  key: string,
  uploadId: string,
  parts: readonly { partNumber: number; etag: string }[],
): Promise<void> {
  const { client } = requireS3(ctx);
  const ordered = [...parts]
    .sort((a, b) => a.partNumber - b.partNumber)
    .map((p) => ({ ...p, etag: p.etag.trim() }));
  try {
    await client.completeMultipartUpload(key, uploadId, ordered);
  } catch (err) {
    throw clientErrorHttp(err, 'Failed to complete multipart upload');
  }
}

/** `POST …/s3/multipart/complete` — 202 `processing` with the task id (client), 200 `uploaded` (sns). */
export const completeMultipart: RouteHandler = async (ctx, { req, res, params }) => {
  requireApiKeyOrJwt(ctx, req);
  const body = await readJsonObject(req);
  const key = keyField(body.key);
  const uploadId = keyField(body.upload_id);
  const parts = parseParts(body.parts);
  const userId = params.user_id ?? '';
  verifyOwner(userId, key);
  const { s3 } = requireS3(ctx);
  const record = opened(ctx, key, uploadId);
  if (ctx.completionMode === 'client') {
    await validateCompletion(ctx, key, uploadId, parts);
    if (ctx.inject.completionQueue > 0) {
      ctx.inject.completionQueue--;
      throw new HttpError(503, 'Unable to queue upload processing; the multipart upload remains incomplete');
    }
    const task = queueS3Import(ctx, {
      taskId: randomUUID(),
      bucket: s3.bucket,
      key,
      userId,
      trigger: 'complete',
      complete: { uploadId, parts },
    });
    if (record) record.completed = { status: 'processing', taskId: task.taskId };
    sendJson(res, 202, { status: 'processing', key, bucket: s3.bucket, task_id: task.taskId });
    return;
  }
  await completeUpload(ctx, key, uploadId, parts);
  if (record) record.completed = { status: 'uploaded', taskId: null };
  sendJson(res, 200, { status: 'uploaded', key, bucket: s3.bucket, task_id: null });
  // S3 → SNS → /sns/notification brings the import; an S3 that sends no notification of its own gets this one.
  if (!ctx.s3?.notifies) notifyObjectCreated(ctx, key);
};

/** `POST …/s3/multipart/abort` → `{"status": "aborted", "key"}`; NoSuchUpload is swallowed (idempotent). */
export const abortMultipart: RouteHandler = async (ctx, { req, res, params }) => {
  requireApiKeyOrJwt(ctx, req);
  const body = await readJsonObject(req);
  const key = keyField(body.key);
  const uploadId = keyField(body.upload_id);
  verifyOwner(params.user_id ?? '', key);
  const { client } = requireS3(ctx);
  try {
    await client.abortMultipartUpload(key, uploadId);
  } catch (err) {
    if (!(err instanceof S3ClientError && err.code === 'NoSuchUpload')) {
      throw clientErrorHttp(err, 'Failed to abort multipart upload');
    }
  }
  const record = opened(ctx, key, uploadId);
  if (record) record.aborted = true;
  sendJson(res, 200, { status: 'aborted', key });
};
