import { createPresignedPost } from '../s3/presign.js';
import { requireApiKeyOrJwt } from './auth.js';
import type { BackendContext, RouteHandler } from './context.js';
import { objectKeyFor } from './object-keys.js';
import { HttpError, readJsonObject, sendJson } from './respond.js';
import { S3ClientError } from './s3-client.js';
import { boundedInt, boundedString } from './validation.js';

/** Contract §2.1 defaults, the same in both generations. */
const DEFAULT_EXPIRATION_SECONDS = 300;
const DEFAULT_MAX_FILE_SIZE = 52_428_800;

/** Thrown where the backend has no handler, so FastAPI answers a plain-text 500. */
export class UnhandledError extends Error {}

/**
 * The S3 settings a route needs: 503 "S3 client not configured" without them; a missing bucket is 503
 * "S3 bucket not configured" now (`require_bucket_name`), an unhandled 500 before August 2026 (contract §2.5).
 */
export function requireS3(ctx: BackendContext) {
  if (!ctx.s3 || !ctx.s3Client) throw new HttpError(503, 'S3 client not configured');
  if (ctx.s3.bucket === '') {
    if (ctx.generation === 'current') throw new HttpError(503, 'S3 bucket not configured');
    throw new UnhandledError('Invalid bucket name ""');
  }
  return { s3: ctx.s3, client: ctx.s3Client };
}

/** `validate_bucket_exists`: `head_bucket`, whose error code is the status for a HEAD (contract §2.5). */
async function validateBucket(ctx: BackendContext): Promise<void> {
  const { client } = requireS3(ctx);
  try {
    await client.headBucket();
  } catch (err) {
    if (!(err instanceof S3ClientError)) throw new UnhandledError(String(err));
    if (err.code === '404') throw new HttpError(404, 'S3 bucket not found');
    if (err.code === '403') throw new HttpError(403, 'Access denied to S3 bucket');
    throw new HttpError(400, `S3 bucket error: ${err.code}`);
  }
}

/** `POST /users/{user_id}/import/apple/xml/s3` — contract §2, current page §2.1. The user id is not checked. */
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
  const { s3 } = requireS3(ctx);
  await validateBucket(ctx);

  const userId = params.user_id ?? '';
  const now = ctx.now();
  const fileKey = objectKeyFor(ctx.generation, userId, filename, now);
  const post = createPresignedPost({
    endpoint: s3.publicEndpoint ?? s3.endpoint,
    bucket: s3.bucket,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.formSecretAccessKey ?? s3.secretAccessKey,
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
    bucket: s3.bucket,
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
    bucket: s3.bucket,
  });
};
