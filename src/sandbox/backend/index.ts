import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { listen } from '../listen.js';
import { addApiKey, addDeveloper, issueAccessToken, issueSdkToken } from './auth.js';
import type { BackendContext, CompletionMode, Generation, S3Settings } from './context.js';
import { runDirectImport } from './direct.js';
import { FaultInjector } from './faults.js';
import { ImportRunner } from './import-runner.js';
import { loadState, StateWriter } from './persist.js';
import { S3Client } from './s3-client.js';
import { notifyObjectCreated } from './s3-import.js';
import { createListener } from './server.js';
import {
  BackendState,
  type Developer,
  type DirectUpload,
  type ImportCounts,
  type S3ImportTask,
  type UserImports,
  type UserRead,
} from './state.js';
import { SyncHub } from './sync-status.js';
import { addUser } from './users.js';

export type { CompletionMode, Generation, S3Settings } from './context.js';
export type { FaultDecision, FaultMatch, FaultResponse } from './faults.js';
export { FaultInjector } from './faults.js';
export { MAPPED_RECORD_TYPES, SERIES_UNITS, SLEEP_STAGES, SLEEP_TYPE } from './mapped-types.js';
export { recommendedPartSize } from './s3-multipart.js';
export type {
  DataSourceIdentity,
  Developer,
  DirectUpload,
  ImportCounts,
  ImportedRecord,
  ImportedSleep,
  ImportedWorkout,
  MultipartOpened,
  PresignIssued,
  RefreshTokenRow,
  RequestLogEntry,
  S3ImportTask,
  SdkBatch,
  SnsNotification,
  SyncStatusEvent,
  UserRead,
} from './state.js';
export { BackendState, UserImports } from './state.js';
export { XmlParseError } from './xml-check.js';
export { ExportParser, type ParsedChunk, type ParsedWorkout, parseExport } from './xml-import.js';

export interface BackendDoubleOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /**
   * Which backend to be (context.ts `Generation`): `current` (default) has the multipart routes, completion
   * modes, unique keys and `xml_import` events on the S3 path; `2026-08` is the server before them.
   */
  generation?: Generation;
  /** `APPLE_XML_UPLOAD_COMPLETION_MODE` of a current backend; default `client`. Ignored for `2026-08`. */
  completionMode?: CompletionMode;
  /** null/absent → S3 routes answer 503 "S3 client not configured" (contract §2.5). */
  s3?: S3Settings | null;
  /** Default 3600 (contract §1.2). */
  accessTokenTtlSeconds?: number;
  /**
   * The cap of `/s3` `max_file_size` and multipart `file_size`, advertised as their `maximum` in
   * /openapi.json; default 5 GiB (`current`) or 1 GiB (`2026-08`).
   */
  maxFileSize?: number;
  /** `APPLE_XML_MULTIPART_PART_SIZE_BYTES`, the recommended part size; default 100 MiB. */
  partSize?: number;
  /** Cap on a direct upload's file part and an SDK batch (the real backend has none); default 64 MiB. */
  maxDirectBytes?: number;
  /** Without `developers`, the fresh-install admin `admin@admin.com` / `your-secure-password` exists (§1.1). */
  seed?: {
    developers?: { email: string; password: string; first_name?: string; last_name?: string }[];
    apiKeys?: string[];
    users?: Partial<UserRead>[];
  };
  /** How long after the answer an import or SDK task starts; default 20 ms. */
  directDelayMs?: number;
  /** Default 15000 (contract §4.1). */
  sseHeartbeatMs?: number;
  /**
   * Delay before retry `n` (0-based) of the S3 import task. The backend waits min(10·2^n, 300) s; the double
   * defaults to that many milliseconds, so a task that fails for good does so in 70 ms, after 4 attempts.
   */
  retryDelayMs?: (retry: number) => number;
  /**
   * The sandbox's limit on an S3 object it imports, since the double keeps every imported row in memory: a
   * bigger object's task fails with a reason saying so. Default: no limit.
   */
  maxImportBytes?: number;
  /** Called when an S3 import task ends (completed, skipped or failed for good); see `state.s3Imports`. */
  onS3Import?: (task: S3ImportTask) => void;
  /**
   * A JSON file holding accounts, keys, users, refresh tokens and the JWT secret: loaded at start (seeds are
   * then not applied again) and saved after every change.
   */
  stateFile?: string;
  now?: () => number;
}

export interface BackendDouble {
  /** Base URL, e.g. http://127.0.0.1:PORT; API routes are under /api/v1. */
  url: string;
  generation: Generation;
  completionMode: CompletionMode;
  /**
   * Stops listening, ends open SSE streams and stalled requests, cancels pending tasks and stops the one
   * running (its upload stays `processing`, with no terminal event).
   */
  close(): Promise<void>;
  state: BackendState;
  faults: FaultInjector;
  /**
   * Resolves once every task accepted so far (direct uploads, S3 imports and their retries, SDK batches,
   * importXml) has finished. Tasks run after the answer, off the request loop (contract §3.4), so a client
   * that got its answers can finish before the imports do.
   */
  idle(): Promise<void>;
  seedDeveloper(email: string, password: string): Developer;
  /** A new instance-wide API key, `sk-` + 32 hex (contract §1.5). The name is not kept. */
  createApiKey(name?: string): string;
  createUser(fields: Partial<UserRead>): UserRead;
  /** A developer JWT; a negative or zero ttl makes an already expired one. */
  issueAccessToken(developerId: string, ttlSeconds?: number): string;
  /** An SDK token for `userId` (contract §1.7), as `POST /users/{id}/token` mints it for a developer. */
  issueSdkToken(userId: string, developerId?: string, ttlSeconds?: number): string;
  /** What a user has stored so far: records (by series with `series()`), workouts, sleep. */
  imports(userId: string): UserImports;
  /** Counts of a user's stored records, workouts, sleep samples and sessions. */
  counts(userId: string): ImportCounts;
  /**
   * Stands in for S3 → SNS → `/sns/notification` for an object just stored: ignored by a current backend in
   * client mode (recorded in `state.snsNotifications`), otherwise queues `process_aws_upload`. The sandbox's
   * S3 calls it itself; a test using radosgw calls it after a presigned POST.
   */
  notifyObjectCreated(key: string): void;
  /** The next `times` client-mode `/multipart/complete` calls pass their checks, then fail to queue (503). */
  failNextCompletionQueue(times?: number): void;
  /** The next `times` SDK batches get 503 "Failed to persist payload; please retry." (current generation). */
  failNextSdkPersist(times?: number): void;
  /**
   * The next `n` time-series records an import (direct, S3 or an SDK batch) would store are lost, the
   * task still completing as if they were stored: an import that comes short.
   */
  loseNextRecords(n: number): void;
  /** The next direct import of a matching filename emits `failed` with `error` instead of importing. */
  failNextDirectImport(filename: string | RegExp, error: string): void;
  /**
   * Runs the direct path's import task (same parsing, storage and sync events) on bytes stored elsewhere; not
   * listed in `state.directUploads`. It queues behind the direct uploads and imports before it, and resolves
   * with the task's record once the task has finished (still `processing` if the double closed first).
   * `bytes` is handed to the import thread and may be left detached. `failWith` fails the task with that
   * error instead of importing.
   */
  importXml(
    userId: string,
    filename: string,
    bytes: Buffer,
    opts?: { failWith?: string },
  ): Promise<DirectUpload>;
}

/** Starts a contract-faithful Open Wearables backend double on a local port. */
export async function startBackendDouble(opts: BackendDoubleOptions = {}): Promise<BackendDouble> {
  const state = new BackendState();
  const now = opts.now ?? Date.now;
  const generation = opts.generation ?? 'current';
  const saved = opts.stateFile ? loadState(opts.stateFile) : null;
  const s3 = opts.s3 ?? null;
  const ctx: BackendContext = {
    state,
    generation,
    completionMode: generation === 'current' ? (opts.completionMode ?? 'client') : 'sns',
    jwtSecret: saved?.jwtSecret ?? randomBytes(32),
    accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 3600,
    maxFileSize: opts.maxFileSize ?? (generation === 'current' ? 5 * 1024 ** 3 : 1024 ** 3),
    partSize: opts.partSize ?? 100 * 1024 * 1024,
    maxDirectBytes: opts.maxDirectBytes ?? 64 * 1024 * 1024,
    s3,
    s3Client: s3 ? new S3Client(s3, now) : null,
    directDelayMs: opts.directDelayMs ?? 20,
    sseHeartbeatMs: opts.sseHeartbeatMs ?? 15_000,
    retryDelayMs: opts.retryDelayMs ?? ((n) => Math.min(10 * 2 ** n, 300)),
    maxImportBytes: opts.maxImportBytes ?? Number.POSITIVE_INFINITY,
    onS3Import: opts.onS3Import ?? (() => {}),
    now,
    sync: new SyncHub(state, now),
    forcedFailures: [],
    inject: { completionQueue: 0, sdkPersist: 0, loseRecords: 0 },
    imports: new ImportRunner(),
    sdkTasks: new ImportRunner(),
    timers: new Set(),
  };

  if (saved) {
    state.developers.push(...saved.developers);
    state.users.push(...saved.users);
    for (const key of saved.apiKeys) state.apiKeys.add(key);
    for (const row of saved.refreshTokens) state.refreshTokens.set(row.token, row);
  } else {
    const developers = opts.seed?.developers ?? [
      { email: 'admin@admin.com', password: 'your-secure-password' },
    ];
    for (const developer of developers) addDeveloper(ctx, developer);
    for (const key of opts.seed?.apiKeys ?? []) addApiKey(ctx, key);
    for (const user of opts.seed?.users ?? []) addUser(ctx, user);
  }
  const writer = opts.stateFile ? new StateWriter(opts.stateFile, state, ctx.jwtSecret) : null;
  const persist = () => {
    writer?.save().catch(() => {});
  };
  persist();

  const faults = new FaultInjector();
  const listener = createListener(ctx, faults);
  const server = createServer((req, res) => {
    // Any change of accounts, users or tokens comes through a POST (or a direct call below).
    if (writer && req.method !== 'GET') res.on('finish', persist);
    void listener(req, res);
  });
  const url = await listen(server, opts.port ?? 0, opts.host ?? '127.0.0.1');
  const persisted = <T>(value: T): T => {
    persist();
    return value;
  };

  return {
    url,
    generation,
    completionMode: ctx.completionMode,
    state,
    faults,
    idle: async () => {
      // A task can queue another (an S3 import's retry): wait until both queues are quiet together.
      for (;;) {
        await Promise.all([ctx.imports.idle(), ctx.sdkTasks.idle()]);
        if (ctx.imports.isIdle() && ctx.sdkTasks.isIdle()) return;
      }
    },
    async close() {
      for (const timer of ctx.timers) clearTimeout(timer);
      ctx.timers.clear();
      await ctx.imports.close();
      await ctx.sdkTasks.close();
      ctx.sync.endAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await writer?.save();
    },
    seedDeveloper: (email, password) => persisted(addDeveloper(ctx, { email, password })),
    createApiKey: () => persisted(addApiKey(ctx)),
    createUser: (fields) => persisted(addUser(ctx, fields)),
    issueAccessToken: (developerId, ttlSeconds) => issueAccessToken(ctx, developerId, ttlSeconds),
    issueSdkToken: (userId, developerId = state.developers[0]?.id ?? '', ttlSeconds) =>
      issueSdkToken(ctx, userId, `admin:${developerId}`, ttlSeconds),
    imports: (userId) => state.importsFor(userId),
    counts: (userId) => state.importsFor(userId).counts(),
    notifyObjectCreated: (key) => notifyObjectCreated(ctx, key),
    failNextCompletionQueue: (times = 1) => {
      ctx.inject.completionQueue += times;
    },
    failNextSdkPersist: (times = 1) => {
      ctx.inject.sdkPersist += times;
    },
    loseNextRecords: (n) => {
      ctx.inject.loseRecords += n;
    },
    failNextDirectImport: (filename, error) => {
      ctx.forcedFailures.push({ filename, error });
    },
    importXml: async (userId, filename, bytes, opts = {}) => {
      const upload: DirectUpload = { filename, bytes, userId, taskId: randomUUID(), status: 'processing' };
      await runDirectImport(ctx, upload, { handOver: true, failWith: opts.failWith });
      return upload;
    },
  };
}
