import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultInjector } from '../backend/faults.js';
import type { ObjectStore, StoredObject } from './store.js';

/** What every route of the sandbox S3 endpoint gets. */
export interface S3Context {
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  now: () => number;
  store: ObjectStore;
  /** http://HOST:PORT, known once the server listens. */
  endpoint: () => string;
  /** After an object is stored and answered, as S3's ObjectCreated notification would be. */
  objectCreated: (object: StoredObject) => void;
  faults: FaultInjector;
}

/** One request, as every route handler gets it. */
export interface S3Request {
  req: IncomingMessage;
  res: ServerResponse;
  bucket: string;
  /** '' for a bucket-level request. */
  key: string;
  query: URLSearchParams;
  /** `x-amz-content-sha256` as signed, or UNSIGNED-PAYLOAD: what a body must hash to. */
  payloadHash: string;
}
