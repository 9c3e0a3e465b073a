import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addApiKey, addDeveloper, issueAccessToken } from './auth.js';
import type { BackendContext, S3Settings } from './context.js';
import { FaultInjector } from './faults.js';
import { ImportRunner } from './import-runner.js';
import { runDirectImport } from './imports.js';
import { createListener } from './server.js';
import { BackendState, type Developer, type DirectUpload, type UserRead } from './state.js';
import { SyncHub } from './sync-status.js';
import { addUser } from './users.js';

export type { FaultDecision, FaultMatch, FaultResponse } from './faults.js';
export { FaultInjector } from './faults.js';
export { MAPPED_RECORD_TYPES, SLEEP_STAGES, SLEEP_TYPE } from './mapped-types.js';
export type {
  Developer,
  DirectUpload,
  ImportedRecord,
  ImportedSleep,
  ImportedWorkout,
  PresignIssued,
  RefreshTokenRow,
  RequestLogEntry,
  SyncStatusEvent,
  UserRead,
} from './state.js';
export { BackendState, UserImports } from './state.js';
export { XmlParseError } from './xml-check.js';
export { parseExport } from './xml-import.js';

export interface BackendDoubleOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** null/absent → presign answers 503 "S3 client not configured" (contract §2.5). */
  s3?: S3Settings | null;
  /** Default 3600 (contract §1.2). */
  accessTokenTtlSeconds?: number;
  /** Presign cap, default 1 GiB (contract §2.1). */
  maxFileSize?: number;
  /** Cap on a direct upload's file part (the real backend has none); default 64 MiB, above it 413. */
  maxDirectBytes?: number;
  /** Without `developers`, the fresh-install admin `admin@admin.com` / `your-secure-password` exists (§1.1). */
  seed?: {
    developers?: { email: string; password: string; first_name?: string; last_name?: string }[];
    apiKeys?: string[];
    users?: Partial<UserRead>[];
  };
  /** How long after the 200 the direct import task starts; default 20 ms. */
  directDelayMs?: number;
  /** Default 15000 (contract §4.1). */
  sseHeartbeatMs?: number;
  now?: () => number;
}

export interface BackendDouble {
  /** Base URL, e.g. http://127.0.0.1:PORT; API routes are under /api/v1. */
  url: string;
  /**
   * Stops listening, ends open SSE streams and stalled requests, cancels pending tasks and stops the one
   * running (its upload stays `processing`, with no terminal event).
   */
  close(): Promise<void>;
  state: BackendState;
  faults: FaultInjector;
  /**
   * Resolves once every import task accepted so far (direct uploads, importXml) has finished. Import tasks
   * run after the 200, off the request loop (contract §3.4), so a client that got its answers can finish
   * before the imports do.
   */
  idle(): Promise<void>;
  seedDeveloper(email: string, password: string): Developer;
  /** A new instance-wide API key, `sk-` + 32 hex (contract §1.5). The name is not kept. */
  createApiKey(name?: string): string;
  createUser(fields: Partial<UserRead>): UserRead;
  /** A developer JWT; a negative or zero ttl makes an already expired one. */
  issueAccessToken(developerId: string, ttlSeconds?: number): string;
  /** The next direct import of a matching filename emits `failed` with `error` instead of importing. */
  failNextDirectImport(filename: string | RegExp, error: string): void;
  /**
   * Runs the direct path's import task (same parsing, storage and sync events) on bytes stored elsewhere, e.g.
   * the sandbox's S3 object; not listed in `state.directUploads`. It queues behind the direct uploads and
   * imports before it, and resolves with the task's record once the task has finished (still `processing`
   * if the double closed first). `bytes` is handed to the import thread and may be left detached.
   * `failWith` fails the task with that error instead of importing.
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
  const ctx: BackendContext = {
    state,
    jwtSecret: randomBytes(32),
    accessTokenTtlSeconds: opts.accessTokenTtlSeconds ?? 3600,
    maxFileSize: opts.maxFileSize ?? 1024 * 1024 * 1024,
    maxDirectBytes: opts.maxDirectBytes ?? 64 * 1024 * 1024,
    s3: opts.s3 ?? null,
    directDelayMs: opts.directDelayMs ?? 20,
    sseHeartbeatMs: opts.sseHeartbeatMs ?? 15_000,
    now,
    sync: new SyncHub(state, now),
    forcedFailures: [],
    imports: new ImportRunner(),
    timers: new Set(),
  };

  const developers = opts.seed?.developers ?? [
    { email: 'admin@admin.com', password: 'your-secure-password' },
  ];
  for (const developer of developers) addDeveloper(ctx, developer);
  for (const key of opts.seed?.apiKeys ?? []) addApiKey(ctx, key);
  for (const user of opts.seed?.users ?? []) addUser(ctx, user);

  const faults = new FaultInjector();
  const server = createServer(createListener(ctx, faults));
  // Short keep-alive so clients' pooled sockets do not outlive a test.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    state,
    faults,
    idle: () => ctx.imports.idle(),
    async close() {
      for (const timer of ctx.timers) clearTimeout(timer);
      ctx.timers.clear();
      await ctx.imports.close();
      ctx.sync.endAll();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
    seedDeveloper: (email, password) => addDeveloper(ctx, { email, password }),
    createApiKey: () => addApiKey(ctx),
    createUser: (fields) => addUser(ctx, fields),
    issueAccessToken: (developerId, ttlSeconds) => issueAccessToken(ctx, developerId, ttlSeconds),
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
