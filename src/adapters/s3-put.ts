/**
 * One part of a multipart upload: a PUT of its raw bytes to the presigned `upload_part` URL (current page
 * §2.2), with an exact Content-Length and no content type (none is signed for parts). S3 answers with the
 * part's ETag, which `complete` must quote back exactly. The transport is the presigned POST's
 * (s3-post.ts): streamed with backpressure, chunks handed back once written, a stall ends it.
 */
import { type S3PostResult, type S3StreamOptions, streamToS3 } from './s3-post.js';

export type S3PutOptions = Omit<S3StreamOptions, 'method' | 'headers' | 'preamble' | 'epilogue'>;

export function putPartToS3(opts: S3PutOptions): Promise<S3PostResult> {
  return streamToS3({ ...opts, method: 'PUT', headers: {} });
}
