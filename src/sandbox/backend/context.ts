import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImportRunner } from './import-runner.js';
import type { S3Client } from './s3-client.js';
import type { BackendState, S3ImportTask } from './state.js';
import type { SyncHub } from './sync-status.js';

/**
 * Which backend the double is: `current` is Open Wearables as it is now (multipart routes, completion modes,
 * 5 GiB cap, unique object keys, `xml_import` events on the S3 path — open-wearables-current.md); `2026-08`
 * is the server deployed before mid-August 2026 (open-wearables-contract.md: presigned POST only, 1 GiB cap,
 * `{user}/raw/{clean}` keys, an S3 import that emits no events).
 */
export type Generation = 'current' | '2026-08';

/** `APPLE_XML_UPLOAD_COMPLETION_MODE` (current page §2.8). */
export type CompletionMode = 'client' | 'sns';

export interface S3Settings {
  /** Where the backend talks to S3 (`AWS_ENDPOINT_URL`). */
  endpoint: string;
  /** Where the URLs it hands out point (`AWS_PUBLIC_ENDPOINT_URL`); default `endpoint`. */
  publicEndpoint?: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /**
   * Signs the URLs and forms it hands out (presigned POST, part URLs) with this secret instead, while its own
   * calls (head_bucket, ListParts, …) use `secretAccessKey`: a stand-in for a deployment whose
   * browser-facing client is misconfigured, so a test can see S3 refuse a signature. Default secretAccessKey.
   */
  formSecretAccessKey?: string;
  /**
   * Whether this S3 tells the double about new objects itself (by calling `notifyObjectCreated`, as the
   * sandbox's S3 endpoint does), standing in for S3 → SNS → `/sns/notification`. When false (radosgw), the
   * double stands in for that notification after each multipart upload it completes in sns mode; objects
   * uploaded by presigned POST then need a `notifyObjectCreated` call from the test.
   */
  notifies?: boolean;
}

/** Faults that fire inside a route, after its checks, where a generic HTTP fault cannot reach. */
export interface InjectedFailures {
  /** `/multipart/complete` in client mode: the Celery publish fails (503, upload stays incomplete). */
  completionQueue: number;
  /** `/sdk/users/{id}/sync`: writing the payload fails (503 "Failed to persist payload; please retry."). */
  sdkPersist: number;
  /**
   * XML imports (direct and S3): the next this many time-series records are dropped without a word, as
   * a backend losing rows would, so a client's check of what was stored can be shown to catch it.
   */
  loseRecords: number;
}

/** What every route handler gets: the instance's state and settings. */
export interface BackendContext {
  state: BackendState;
  generation: Generation;
  completionMode: CompletionMode;
  jwtSecret: Buffer;
  accessTokenTtlSeconds: number;
  /** The cap of `/s3` `max_file_size` and multipart `file_size` (`APPLE_XML_MAX_FILE_SIZE_BYTES`). */
  maxFileSize: number;
  /** `APPLE_XML_MULTIPART_PART_SIZE_BYTES`. */
  partSize: number;
  s3: S3Settings | null;
  /** Talks to `s3` (null without it). */
  s3Client: S3Client | null;
  directDelayMs: number;
  sseHeartbeatMs: number;
  maxDirectBytes: number;
  /** The sandbox's own limit on an S3 object it imports (it keeps every row in memory); Infinity by default. */
  maxImportBytes: number;
  /** Called when an S3 import task ends (completed, skipped or failed for good). */
  onS3Import: (task: S3ImportTask) => void;
  /** Delay before retry `n` (0-based) of the S3 import task; the backend waits min(10·2^n, 300) s. */
  retryDelayMs: (retry: number) => number;
  now: () => number;
  sync: SyncHub;
  /** One-shot forced failures for the direct import task. */
  forcedFailures: { filename: string | RegExp; error: string }[];
  inject: InjectedFailures;
  /** Runs the import tasks off the request loop, one at a time (contract §3.4). */
  imports: ImportRunner;
  /** The `sdk_sync` queue: SDK batches, one at a time, beside the XML imports. */
  sdkTasks: ImportRunner;
  /** Timers the instance owns, cleared on close. */
  timers: Set<NodeJS.Timeout>;
}

export interface RouteRequest {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
}

export type RouteHandler = (ctx: BackendContext, r: RouteRequest) => Promise<void> | void;

/** ISO-8601 UTC timestamp for `ms`. */
export const isoAt = (ms: number): string => new Date(ms).toISOString();
