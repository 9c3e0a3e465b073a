// POST Object (the browser-form upload a presigned POST is for): the form is streamed, the policy checked
// once the fields before the file are in (post-policy.ts), and the file part written to a temp file that is
// renamed into place only when every rule held — a multi-GB upload never sits in memory.
import { createHash } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formBoundary } from '../multipart-headers.js';
import type { S3Context, S3Request } from './context.js';
import {
  drain,
  isS3Failure,
  requestId,
  S3_ERRORS,
  type S3Failure,
  sendS3Error,
  xmlEscape,
} from './errors.js';
import { type FormEvent, MalformedFormError, PreDataTooLargeError, readForm } from './form-stream.js';
import { type AcceptedPost, checkPostForm } from './post-policy.js';
import type { StoredObject } from './store.js';

/** S3's MaxPostPreDataLengthBytes (doc §4). */
const MAX_PRE_DATA_BYTES = 20 * 1024;

/** Stops reading the form: answers `failure`, closes the connection and discards the rest of the body. */
async function refuse(
  res: ServerResponse,
  req: IncomingMessage,
  source: AsyncGenerator<FormEvent>,
  failure: S3Failure,
  resource: string,
): Promise<'done'> {
  sendS3Error(res, failure, resource, true);
  await source.return(undefined);
  drain(req);
  return 'done';
}

async function storeFile(
  ctx: S3Context,
  bucket: string,
  accepted: AcceptedPost,
  source: AsyncGenerator<FormEvent>,
  res: ServerResponse,
  req: IncomingMessage,
): Promise<'done' | StoredObject> {
  const resource = `/${bucket}`;
  const tmp = ctx.store.tempPath();
  const file = await open(tmp, 'w');
  const md5 = createHash('md5');
  let size = 0;
  let fileEnded = false;
  let closed = false;
  const cleanup = async () => {
    if (!closed) await file.close();
    closed = true;
    await unlink(tmp).catch(() => {});
  };
  try {
    for (;;) {
      const next = await source.next();
      if (next.done) break;
      const event = next.value;
      if (!fileEnded && event.type === 'file-data') {
        size += event.data.length;
        if (size > accepted.maxBytes) {
          await cleanup();
          return refuse(res, req, source, S3_ERRORS.entityTooLarge(size, accepted.maxBytes), resource);
        }
        md5.update(event.data);
        await file.write(event.data);
      } else if (event.type === 'file-end') {
        fileEnded = true;
      } else if (event.type === 'file-start') {
        // Fields after the file are ignored (AWS docs), but a second file part is an error.
        await cleanup();
        return refuse(res, req, source, S3_ERRORS.oneFilePart(2), resource);
      }
    }
    await file.close();
    closed = true;
  } catch (err) {
    await cleanup();
    throw err;
  }
  if (size < accepted.minBytes) {
    await cleanup();
    sendS3Error(
      res,
      {
        status: 400,
        code: 'EntityTooSmall',
        message: 'Your proposed upload is smaller than the minimum allowed size',
        extra: [
          ['ProposedSize', String(size)],
          ['MinSizeAllowed', String(accepted.minBytes)],
        ],
      },
      resource,
    );
    return 'done';
  }
  return ctx.store.put(bucket, accepted.key, tmp, {
    size,
    contentType: accepted.contentType,
    etag: md5.digest('hex'),
  });
}

/** `POST /{bucket}` with a multipart/form-data body. */
export async function postObject(ctx: S3Context, { req, res, bucket }: S3Request): Promise<void> {
  const resource = `/${bucket}`;
  const boundary = formBoundary(req.headers['content-type']);
  if (boundary === null) {
    sendS3Error(
      res,
      {
        status: 412,
        code: 'PreconditionFailed',
        message: 'At least one of the pre-conditions you specified did not hold',
        extra: [['Condition', 'Bucket POST must be of the enclosure-type multipart/form-data']],
      },
      resource,
    );
    drain(req);
    return;
  }
  // Radosgw and S3's error table: a POST must say how long it is (doc §3 case f).
  if (req.headers['content-length'] === undefined) {
    sendS3Error(res, S3_ERRORS.missingContentLength(), resource, true);
    drain(req);
    return;
  }

  const creds = { accessKeyId: ctx.accessKeyId, secretAccessKey: ctx.secretAccessKey };
  const source = readForm(req.iterator({ destroyOnReturn: false }), boundary, {
    maxPreDataBytes: MAX_PRE_DATA_BYTES,
    fileField: 'file',
  });
  const fields: [string, string][] = [];
  let stored: StoredObject | undefined;
  let accepted: AcceptedPost | undefined;
  try {
    for (;;) {
      const next = await source.next();
      if (next.done) break;
      const event = next.value;
      if (event.type === 'field') {
        fields.push([event.name, event.value]);
        continue;
      }
      if (event.type !== 'file-start') continue;
      const checked = checkPostForm(fields, bucket, creds, ctx.now());
      if (isS3Failure(checked)) {
        await refuse(res, req, source, checked, resource);
        return;
      }
      accepted = checked;
      // The first file-data event has not been read yet: storeFile() consumes the rest of the body.
      const result = await storeFile(ctx, bucket, checked, source, res, req);
      if (result === 'done') return;
      stored = result;
      break;
    }
  } catch (err) {
    const failure: S3Failure | null =
      err instanceof PreDataTooLargeError
        ? {
            status: 400,
            code: 'MaxPostPreDataLengthExceeded',
            message: 'Your POST request fields preceeding the upload file was too large.',
            extra: [['MaxPostPreDataLengthBytes', String(MAX_PRE_DATA_BYTES)]],
          }
        : err instanceof MalformedFormError
          ? {
              status: 400,
              code: 'MalformedPOSTRequest',
              message: 'The body of your POST request is not well-formed multipart/form-data.',
            }
          : null;
    if (!failure) throw err;
    sendS3Error(res, failure, resource, true);
    drain(req);
    return;
  }
  if (!stored || !accepted) {
    // No file part: check the policy anyway so a bad form gets its own answer first, as S3 does.
    const checked = checkPostForm(fields, bucket, creds, ctx.now());
    sendS3Error(res, isS3Failure(checked) ? checked : S3_ERRORS.oneFilePart(0), resource);
    return;
  }
  const location = `${ctx.endpoint()}/${bucket}/${encodeURIComponent(stored.key)}`;
  const headers = { etag: `"${stored.etag}"`, location, 'x-amz-request-id': requestId() };
  if (accepted.successStatus === 201) {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<PostResponse><Location>${xmlEscape(location)}</Location><Bucket>${xmlEscape(bucket)}</Bucket>` +
      `<Key>${xmlEscape(stored.key)}</Key><ETag>"${stored.etag}"</ETag></PostResponse>`;
    res.writeHead(201, {
      ...headers,
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  } else {
    res.writeHead(accepted.successStatus, headers);
    res.end();
  }
  ctx.objectCreated(stored);
}
