// A PUT body (UploadPart or PutObject) streamed to a temp file with its MD5 and SHA-256 computed on the way,
// never held in memory; the integrity checks S3 makes are applied before the caller keeps the file.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { S3_ERRORS, S3Error } from './errors.js';
import { UNSIGNED_PAYLOAD } from './sigv4.js';

/** S3's largest single PUT and largest part. */
export const MAX_PUT_BYTES = 5 * 1024 * 1024 * 1024;

export interface ReceivedBody {
  tmp: string;
  size: number;
  md5Hex: string;
}

/** Refuses what S3 refuses before reading any of the body: no length, a chunked body, or too many bytes. */
export function checkPutHeaders(req: IncomingMessage): void {
  if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined) {
    // AWS answers a chunked PUT with 501 (s3-testing-with-radosgw.md §4).
    throw new S3Error({
      status: 501,
      code: 'NotImplemented',
      message: 'A header you provided implies functionality that is not implemented',
      extra: [['Header', 'Transfer-Encoding']],
    });
  }
  const length = req.headers['content-length'];
  if (length === undefined) throw new S3Error(S3_ERRORS.missingContentLength());
  if (Number(length) > MAX_PUT_BYTES) {
    throw new S3Error(S3_ERRORS.entityTooLarge(length, MAX_PUT_BYTES));
  }
}

/**
 * Writes the body to `tmp`. Throws an S3Error (and removes the file) for a Content-MD5 or
 * x-amz-content-sha256 that does not match; rethrows a broken connection after removing the file.
 */
export async function receiveBody(
  req: IncomingMessage,
  tmp: string,
  payloadHash: string,
): Promise<ReceivedBody> {
  const md5 = createHash('md5');
  const sha = payloadHash === UNSIGNED_PAYLOAD ? null : createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      md5.update(chunk);
      sha?.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(req, tap, createWriteStream(tmp));
    const md5Digest = md5.digest();
    const contentMd5 = req.headers['content-md5'];
    if (typeof contentMd5 === 'string' && contentMd5 !== md5Digest.toString('base64')) {
      throw new S3Error({
        status: 400,
        code: 'BadDigest',
        message: 'The Content-MD5 you specified did not match what we received.',
      });
    }
    if (sha && sha.digest('hex') !== payloadHash) {
      throw new S3Error({
        status: 400,
        code: 'XAmzContentSHA256Mismatch',
        message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
      });
    }
    return { tmp, size, md5Hex: md5Digest.toString('hex') };
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
