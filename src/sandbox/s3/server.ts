// A local S3-compatible endpoint, so `apple-import sandbox` and the tests work offline: presigned POST
// uploads (post-object.ts), multipart uploads through presigned part URLs (multipart.ts), and reading
// objects back (get-object.ts). It enforces S3's rules — POST policies, SigV4 signatures and expiry on every
// signed request, part sizes and ETags — because a sink that accepts everything would hide exactly the
// client bugs the sandbox is for. Bytes live on disk (store.ts), never in memory.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultInjector, type FaultResponse } from '../backend/faults.js';
import { listen } from '../listen.js';
import type { S3Context } from './context.js';
import { drain, S3_ERRORS, S3Error, type S3Failure, sendS3Error } from './errors.js';
import { getObject } from './get-object.js';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listParts,
  uploadPart,
} from './multipart.js';
import { postObject } from './post-object.js';
import { putObject } from './put-object.js';
import { UNSIGNED_PAYLOAD, verifyRequest } from './sigv4.js';
import { ObjectStore, type StoredObject } from './store.js';

export type { StoredObject } from './store.js';

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
  /**
   * Called after an object is stored and answered (a POST upload, a completed multipart upload or a PUT),
   * as S3's ObjectCreated notification would be.
   */
  onObjectCreated?: (object: StoredObject) => void;
}

export interface S3Server {
  /** http://HOST:PORT; path-style URLs only (`${endpoint}/${bucket}/${key}`). */
  endpoint: string;
  bucket: string;
  dataDir: string;
  /**
   * Scripted misbehaviour, matched on method and path (`/{bucket}/{key}`): e.g. `faults.next(1, {status: 503})`
   * answers the next request with S3's 503 SlowDown. A response without a body gets S3's XML error for its
   * status.
   */
  faults: FaultInjector;
  /** The stored object for a key, or undefined. */
  stat(key: string): Promise<StoredObject | undefined>;
  close(): Promise<void>;
}

/** The S3 error a bare fault status stands for. */
function faultFailure(status: number): S3Failure {
  if (status === 503) return { status, code: 'SlowDown', message: 'Please reduce your request rate.' };
  if (status === 500)
    return { status, code: 'InternalError', message: 'We encountered an internal error. Please try again.' };
  if (status === 403) return S3_ERRORS.accessDenied();
  if (status === 404) return S3_ERRORS.noSuchKey();
  return { status, code: 'InvalidRequest', message: 'Injected failure' };
}

function sendFault(res: ServerResponse, fault: FaultResponse, resource: string): void {
  if (fault.body === undefined) {
    sendS3Error(res, faultFailure(fault.status), resource, true);
    return;
  }
  const body = typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
  res.writeHead(fault.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    connection: 'close',
    ...fault.headers,
  });
  res.end(body);
}

/** Which S3 operation a request is, by method and sub-resource, or null for one the endpoint lacks. */
type Operation =
  | 'PostObject'
  | 'HeadBucket'
  | 'CreateMultipartUpload'
  | 'CompleteMultipartUpload'
  | 'UploadPart'
  | 'PutObject'
  | 'ListParts'
  | 'GetObject'
  | 'AbortMultipartUpload';

function operationOf(method: string, hasKey: boolean, query: URLSearchParams): Operation | null {
  const uploadId = query.has('uploadId');
  if (!hasKey) {
    if (method === 'POST') return 'PostObject';
    if (method === 'HEAD') return 'HeadBucket';
    return null;
  }
  if (method === 'POST')
    return query.has('uploads') ? 'CreateMultipartUpload' : uploadId ? 'CompleteMultipartUpload' : null;
  if (method === 'PUT') return uploadId || query.has('partNumber') ? 'UploadPart' : 'PutObject';
  if (method === 'GET') return uploadId ? 'ListParts' : 'GetObject';
  if (method === 'HEAD') return 'GetObject';
  if (method === 'DELETE') return uploadId ? 'AbortMultipartUpload' : null;
  return null;
}

/** Reading objects needs no signature (the sandbox bucket is public-read); every write does. */
const ANONYMOUS_OK = new Set<Operation>(['GetObject', 'HeadBucket']);

export async function startS3Server(opts: S3ServerOptions): Promise<S3Server> {
  const ownDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'apple-import-s3-')));
  const store = new ObjectStore(dataDir);
  await store.init();
  let endpoint = '';
  const faults = new FaultInjector();
  const ctx: S3Context = {
    bucket: opts.bucket,
    region: opts.region,
    accessKeyId: opts.accessKeyId,
    secretAccessKey: opts.secretAccessKey,
    now: opts.now ?? Date.now,
    store,
    endpoint: () => endpoint,
    objectCreated: (object) => opts.onObjectCreated?.(object),
    faults,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = url.pathname.slice(1);
    const slash = path.indexOf('/');
    const bucket = decodeURIComponent(slash < 0 ? path : path.slice(0, slash));
    const key = slash < 0 ? '' : decodeURIComponent(path.slice(slash + 1));
    const operation = bucket === '' ? null : operationOf(method, key !== '', url.searchParams);
    if (operation === null) throw new S3Error(S3_ERRORS.methodNotAllowed());
    if (bucket !== ctx.bucket) throw new S3Error(S3_ERRORS.noSuchBucket());
    // A POST form carries its own signature, over its policy (post-policy.ts).
    const r = { req, res, bucket, key, query: url.searchParams, payloadHash: UNSIGNED_PAYLOAD };
    if (operation === 'PostObject') return postObject(ctx, r);
    const auth = verifyRequest(
      { method, rawUrl: req.url ?? '/', headers: req.headers },
      { accessKeyId: ctx.accessKeyId, secretAccessKey: ctx.secretAccessKey, region: ctx.region },
      ctx.now(),
    );
    if (!auth.ok) throw new S3Error(auth.failure);
    if (auth.anonymous && !ANONYMOUS_OK.has(operation)) throw new S3Error(S3_ERRORS.accessDenied());
    r.payloadHash = auth.payloadHash;
    switch (operation) {
      case 'HeadBucket':
        res.writeHead(200);
        res.end();
        return;
      case 'GetObject':
        return getObject(ctx, r);
      case 'PutObject':
        return putObject(ctx, r);
      case 'CreateMultipartUpload':
        return createMultipartUpload(ctx, r);
      case 'UploadPart':
        return uploadPart(ctx, r);
      case 'ListParts':
        return listParts(ctx, r);
      case 'CompleteMultipartUpload':
        return completeMultipartUpload(ctx, r);
      case 'AbortMultipartUpload':
        return abortMultipartUpload(ctx, r);
    }
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://s3.local');
    const decision = faults.decide(req.method ?? 'GET', url.pathname);
    if (decision.kind === 'stall') return;
    if (decision.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (decision.kind === 'respond') {
      sendFault(res, decision.response, url.pathname);
      drain(req);
      return;
    }
    const run = () =>
      handle(req, res, url).catch((err: unknown) => {
        const failure = err instanceof S3Error ? err.failure : S3_ERRORS.internal(err);
        // An answer before the body was read: close rather than drain a possibly huge body.
        const unread = !req.readableEnded;
        sendS3Error(res, failure, url.pathname, unread);
        if (unread) drain(req);
      });
    if (decision.delayMs > 0) setTimeout(run, decision.delayMs);
    else void run();
  });
  endpoint = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');

  return {
    endpoint,
    bucket: opts.bucket,
    dataDir,
    faults,
    stat: (key) => store.get(opts.bucket, key),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
      else await rm(store.tmpDir, { recursive: true, force: true });
    },
  };
}
