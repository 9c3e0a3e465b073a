import { createReadStream } from 'node:fs';
import type { S3Context, S3Request } from './context.js';
import { requestId, S3_ERRORS, S3Error } from './errors.js';

/** `GET` / `HEAD /{bucket}/{key}`: the stored bytes, streamed from disk. */
export async function getObject(ctx: S3Context, { req, res, bucket, key }: S3Request): Promise<void> {
  const object = await ctx.store.get(bucket, key);
  if (!object) throw new S3Error(S3_ERRORS.noSuchKey());
  res.writeHead(200, {
    'content-type': object.contentType ?? 'binary/octet-stream',
    'content-length': object.size,
    etag: `"${object.etag}"`,
    'x-amz-request-id': requestId(),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(object.path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
