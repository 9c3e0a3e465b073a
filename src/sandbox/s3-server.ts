// A local S3-compatible endpoint for presigned-POST uploads (and reading objects back), so `apple-import
// sandbox` works offline. It enforces the policy like S3 (s3-testing-with-radosgw.md §3–§4) because a sink
// that accepts everything would hide exactly the client bugs the sandbox is for. The file part is streamed
// to a temp file and renamed into place on success: a multi-GB upload never sits in memory.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formBoundary } from './multipart-headers.js';
import { type FormEvent, MalformedFormError, PreDataTooLargeError, readForm } from './s3-form-stream.js';
import { type AcceptedPost, checkPostForm, isS3Failure, type S3Failure } from './s3-post-policy.js';

export interface S3ServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Where objects live; default a fresh temp dir that close() removes. A given dir is kept. */
  dataDir?: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  now?: () => number;
  /** Called after an upload is stored and answered, as S3's ObjectCreated notification would be. */
  onObjectCreated?: (object: StoredObject) => void;
}

export interface StoredObject {
  bucket: string;
  key: string;
  /** Absolute path of the object's bytes on disk. */
  path: string;
  size: number;
  contentType: string | null;
  /** Hex MD5 of the bytes, as S3's ETag for a single-part upload. */
  etag: string;
}

export interface S3Server {
  /** http://HOST:PORT; path-style URLs only (`${endpoint}/${bucket}/${key}`). */
  endpoint: string;
  bucket: string;
  dataDir: string;
  /** The stored object for a key, or undefined. */
  stat(key: string): Promise<StoredObject | undefined>;
  close(): Promise<void>;
}

/** S3's MaxPostPreDataLengthBytes (doc §4). */
const MAX_PRE_DATA_BYTES = 20 * 1024;
/** After an early error, read at most this much more before dropping the connection (RGW reads ~8 MiB). */
const DRAIN_LIMIT_BYTES = 8 * 1024 * 1024;

/** Element text only (never attributes), so quotes stay readable as in AWS's messages. */
function xmlEscape(s: string): string {
  return s.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}

function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** Objects are stored under a hash of bucket and key: keys may hold `/`, `..` or be longer than a filename. */
function objectName(bucket: string, key: string): string {
  return createHash('sha256').update(`${bucket}\0${key}`).digest('hex');
}

function sendError(res: ServerResponse, failure: S3Failure, resource: string, close = false): void {
  const id = requestId();
  const extra = (failure.extra ?? []).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${failure.code}</Code><Message>${xmlEscape(failure.message)}</Message>${extra}` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${id}</RequestId><HostId>${id}</HostId></Error>`;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(failure.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': id,
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/** Reads and discards what the client is still sending, so it sees our answer rather than a reset. */
function drain(req: IncomingMessage): void {
  let seen = 0;
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > DRAIN_LIMIT_BYTES) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

export async function startS3Server(opts: S3ServerOptions): Promise<S3Server> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'apple-import-s3-')));
  const objectsDir = join(dataDir, 'objects');
  const tmpDir = join(dataDir, 'tmp');
  await mkdir(objectsDir, { recursive: true });
  await mkdir(tmpDir, { recursive: true });
  const now = opts.now ?? Date.now;
  const creds = { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey };
  let endpoint = '';

  const readMeta = async (bucket: string, key: string): Promise<StoredObject | undefined> => {
    const name = objectName(bucket, key);
    try {
      const meta = JSON.parse(await readFile(join(objectsDir, `${name}.json`), 'utf8')) as Omit<
        StoredObject,
        'path'
      >;
      return { ...meta, path: join(objectsDir, name) };
    } catch {
      return undefined;
    }
  };

  const store = async (
    bucket: string,
    accepted: AcceptedPost,
    source: AsyncGenerator<FormEvent>,
    res: ServerResponse,
    req: IncomingMessage,
  ): Promise<'done' | StoredObject> => {
    const resource = `/${bucket}`;
    const tmp = join(tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
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
            sendError(
              res,
              {
                status: 400,
                code: 'EntityTooLarge',
                message: 'Your proposed upload exceeds the maximum allowed size',
                extra: [
                  ['ProposedSize', String(size)],
                  ['MaxSizeAllowed', String(accepted.maxBytes)],
                ],
              },
              resource,
              true,
            );
            await source.return(undefined);
            drain(req);
            return 'done';
          }
          md5.update(event.data);
          await file.write(event.data);
        } else if (event.type === 'file-end') {
          fileEnded = true;
        } else if (event.type === 'file-start') {
          // Fields after the file are ignored (AWS docs), but a second file part is an error.
          await cleanup();
          sendError(
            res,
            {
              status: 400,
              code: 'InvalidArgument',
              message: 'POST requires exactly one file upload per request.',
              extra: [
                ['ArgumentName', 'file'],
                ['ArgumentValue', '2'],
              ],
            },
            resource,
            true,
          );
          await source.return(undefined);
          drain(req);
          return 'done';
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
      sendError(
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
    const name = objectName(bucket, accepted.key);
    const object: StoredObject = {
      bucket,
      key: accepted.key,
      path: join(objectsDir, name),
      size,
      contentType: accepted.contentType,
      etag: md5.digest('hex'),
    };
    const { path: _path, ...meta } = object;
    // Metadata first, then the bytes' rename: a reader that finds the object also finds its metadata.
    await writeFile(join(objectsDir, `${name}.json`), JSON.stringify(meta));
    await rename(tmp, object.path);
    return object;
  };

  const handlePost = async (req: IncomingMessage, res: ServerResponse, bucket: string): Promise<void> => {
    const resource = `/${bucket}`;
    if (bucket !== opts.bucket) {
      sendError(
        res,
        { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' },
        resource,
      );
      drain(req);
      return;
    }
    const boundary = formBoundary(req.headers['content-type']);
    if (boundary === null) {
      sendError(
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
      sendError(
        res,
        {
          status: 411,
          code: 'MissingContentLength',
          message: 'You must provide the Content-Length HTTP header.',
        },
        resource,
        true,
      );
      drain(req);
      return;
    }

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
        const checked = checkPostForm(fields, bucket, { ...creds }, now());
        if (isS3Failure(checked)) {
          await source.return(undefined);
          sendError(res, checked, resource, true);
          drain(req);
          return;
        }
        accepted = checked;
        // The first file-data event has not been read yet: store() consumes the rest of the body.
        const result = await store(bucket, checked, source, res, req);
        if (result === 'done') return;
        stored = result;
        break;
      }
    } catch (err) {
      if (err instanceof PreDataTooLargeError) {
        sendError(
          res,
          {
            status: 400,
            code: 'MaxPostPreDataLengthExceeded',
            message: 'Your POST request fields preceeding the upload file was too large.',
            extra: [['MaxPostPreDataLengthBytes', String(MAX_PRE_DATA_BYTES)]],
          },
          resource,
          true,
        );
        drain(req);
        return;
      }
      if (err instanceof MalformedFormError) {
        sendError(
          res,
          {
            status: 400,
            code: 'MalformedPOSTRequest',
            message: 'The body of your POST request is not well-formed multipart/form-data.',
          },
          resource,
          true,
        );
        drain(req);
        return;
      }
      throw err;
    }
    if (!stored || !accepted) {
      // No file part: check the policy anyway so a bad form gets its own answer first, as S3 does.
      const checked = checkPostForm(fields, bucket, { ...creds }, now());
      sendError(
        res,
        isS3Failure(checked)
          ? checked
          : {
              status: 400,
              code: 'InvalidArgument',
              message: 'POST requires exactly one file upload per request.',
              extra: [
                ['ArgumentName', 'file'],
                ['ArgumentValue', '0'],
              ],
            },
        resource,
      );
      return;
    }
    const location = `${endpoint}/${bucket}/${encodeURIComponent(stored.key)}`;
    const headers = {
      etag: `"${stored.etag}"`,
      location,
      'x-amz-request-id': requestId(),
    };
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
    opts.onObjectCreated?.(stored);
  };

  const handleGet = async (req: IncomingMessage, res: ServerResponse, bucket: string, key: string) => {
    const resource = `/${bucket}/${key}`;
    if (bucket !== opts.bucket) {
      sendError(
        res,
        { status: 404, code: 'NoSuchBucket', message: 'The specified bucket does not exist' },
        resource,
      );
      return;
    }
    const object = key === '' ? undefined : await readMeta(bucket, key);
    const size = object
      ? await stat(object.path).then(
          (s) => s.size,
          () => undefined,
        )
      : undefined;
    if (!object || size === undefined) {
      sendError(
        res,
        { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' },
        resource,
      );
      return;
    }
    res.writeHead(200, {
      'content-type': object.contentType ?? 'binary/octet-stream',
      'content-length': size,
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
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://s3.local');
    const path = url.pathname.slice(1);
    const slash = path.indexOf('/');
    const bucket = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
    const key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
    const fail = (err: unknown) => {
      sendError(
        res,
        { status: 500, code: 'InternalError', message: `We encountered an internal error: ${String(err)}` },
        url.pathname,
        true,
      );
      drain(req);
    };
    if (req.method === 'POST' && slash < 0 && bucket !== '') {
      handlePost(req, res, bucket).catch(fail);
    } else if ((req.method === 'GET' || req.method === 'HEAD') && bucket !== '' && slash >= 0) {
      handleGet(req, res, bucket, key).catch(fail);
    } else {
      sendError(
        res,
        {
          status: 405,
          code: 'MethodNotAllowed',
          message: 'The specified method is not allowed against this resource.',
        },
        url.pathname,
      );
      drain(req);
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  endpoint = `http://${host}:${address.port}`;

  return {
    endpoint,
    bucket: opts.bucket,
    dataDir,
    stat: (key) => readMeta(opts.bucket, key),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
      else await rm(tmpDir, { recursive: true, force: true });
    },
  };
}
