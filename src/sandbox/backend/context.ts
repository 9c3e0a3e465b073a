import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ImportRunner } from './import-runner.js';
import type { BackendState } from './state.js';
import type { SyncHub } from './sync-status.js';

export interface S3Settings {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** What every route handler gets: the instance's state and settings. */
export interface BackendContext {
  state: BackendState;
  jwtSecret: Buffer;
  accessTokenTtlSeconds: number;
  maxFileSize: number;
  s3: S3Settings | null;
  directDelayMs: number;
  sseHeartbeatMs: number;
  maxDirectBytes: number;
  now: () => number;
  sync: SyncHub;
  /** One-shot forced failures for the direct import task. */
  forcedFailures: { filename: string | RegExp; error: string }[];
  /** Runs the import tasks off the request loop, one at a time (contract §3.4). */
  imports: ImportRunner;
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
