import type { S3Context, S3Request } from './context.js';
import { requestId } from './errors.js';
import { checkPutHeaders, receiveBody } from './receive-body.js';

/** `PUT /{bucket}/{key}`: a single-part upload (tests seed objects with it; the CLI never sends one). */
export async function putObject(
  ctx: S3Context,
  { req, res, bucket, key, payloadHash }: S3Request,
): Promise<void> {
  checkPutHeaders(req);
  const body = await receiveBody(req, ctx.store.tempPath(), payloadHash);
  const type = req.headers['content-type'];
  const object = await ctx.store.put(bucket, key, body.tmp, {
    size: body.size,
    contentType: typeof type === 'string' ? type : null,
    etag: body.md5Hex,
  });
  res.writeHead(200, { etag: `"${object.etag}"`, 'content-length': 0, 'x-amz-request-id': requestId() });
  res.end();
  ctx.objectCreated(object);
}
