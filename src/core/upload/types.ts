/**
 * What every upload method shares: one options type, one set of ports, one event vocabulary and one
 * result header, so `upload` hands any method the same things and renders any method's events the same
 * way. A method is `run<Method>Upload(options, ports, onEvent)` and returns its result; it never prints.
 *
 * A unit is what a method sends one request at a time: an S3 part, a direct or an SDK batch (an S3
 * multipart upload's part would be one too). Events name the unit and its 1-based index.
 */
import type { BackendApi } from '../../adapters/backend-api.js';
import type { BatchFormat, BatchOutput } from '../../adapters/batch-output.js';
import type { Clock } from '../../adapters/clock.js';
import type { DirectApi } from '../../adapters/direct-api.js';
import type { ExportSource } from '../../adapters/export-source.js';
import type { ImportApi } from '../../adapters/import-api.js';
import type { ServerInfo } from '../../adapters/openapi.js';
import type { S3PostOptions, S3PostResult } from '../../adapters/s3-post.js';
import type { S3PutOptions } from '../../adapters/s3-put.js';
import type { FilterSpec } from '../selection/filters.js';
import type { ConnectionState, SyncFeed } from '../sync/follow.js';
import type { BatchLimits } from './direct/batcher.js';
import type { Repairs } from './s3/preflight.js';
import type { LedgerFilesPort } from './shared/ledger.js';

/** s3: how long a transfer may make no progress before it is given up (`--stall-timeout`). */
export const DEFAULT_STALL_TIMEOUT_MS = 120_000;

export type { BatchLimits, Repairs };

export type UploadMethod = 's3' | 'direct' | 'sdk';

export interface UploadOptions {
  method: UploadMethod;
  /** export.zip, export.xml or the unzipped folder. */
  path: string;
  server: string;
  /** `--user`, APPLE_IMPORT_USER or the profile's; checked on the server before anything is sent. */
  user: string | undefined;
  /** What to send (core/selection/filters.ts); the s3 method sends the whole export. */
  filters: FilterSpec;
  /** Check everything and report the plan; send nothing. */
  dryRun: boolean;
  /** Send again what the ledger says was sent. */
  force: boolean;
  /** Ignore the ranges the server already has (shared/imported.ts): send every record of the export. */
  full: boolean;
  /** Follow what was sent until the backend has imported it. */
  wait: boolean;
  /** With `wait`: stop at the first unit the backend fails to import. */
  failFast: boolean;
  /** s3 by presigned POST: the largest part, in bytes (default: the cap the server advertises). */
  maxPartSize: number | undefined;
  /** s3 multipart: parts in flight at once (1–16). */
  concurrency: number;
  /** s3: a transfer that makes no progress for this long is given up (and retried). */
  stallTimeoutMs: number;
  /**
   * s3 with `wait` on a server whose S3 import emits no events: the import is taken as over once the
   * user's summary has not changed for this long (s3/verify-import.ts; its default without).
   */
  waitSettleMs?: number | undefined;
  /** direct, sdk: the largest batch. */
  batch: BatchLimits;
  /** direct, sdk with dryRun: where to write the batches that would be sent (adapters/batch-output.ts). */
  out?: string | undefined;
}

/** The SDK sync route for one user, with the credential it takes (core/upload/sdk/auth.ts). */
export interface SdkRoute {
  sync(body: Buffer, requestId: string, signal: AbortSignal): Promise<unknown>;
  mode(): 'api-key' | 'sdk-token' | 'minted';
}

/** Every port an upload may use, built by the Factory. */
export interface UploadPorts {
  users: Pick<BackendApi, 'getUser' | 'listUsers'>;
  /** What the user has stored, counted (s3 with --wait: before and after the import). */
  summaries: Pick<BackendApi, 'dataSummary'>;
  openExport(path: string): Promise<ExportSource>;
  ledger: LedgerFilesPort;
  clock: Clock;
  /** The interrupt (Ctrl-C). */
  signal: AbortSignal;
  userAgent: string;
  /** s3 */
  imports: Pick<
    ImportApi,
    'presignXml' | 'createMultipart' | 'signParts' | 'completeMultipart' | 'abortMultipart'
  >;
  s3Post(opts: S3PostOptions): Promise<S3PostResult>;
  /** One part's PUT to its presigned URL (adapters/s3-put.ts). */
  s3Put(opts: S3PutOptions): Promise<S3PostResult>;
  /** What the server advertises (adapters/openapi.ts); throws OpenApiUnavailable when it cannot be read. */
  serverInfo(signal: AbortSignal): Promise<ServerInfo>;
  /** Remembers the completion mode a multipart `complete` revealed. */
  learnCompletionMode(mode: 'client' | 'sns'): void;
  /** direct */
  directImports: Pick<DirectApi, 'postXml'>;
  feed(userId: string): SyncFeed;
  /** sdk */
  sdk(userId: string): SdkRoute;
  /**
   * With an SDK token as the credential: the user it is for. Such a token reaches only the SDK routes,
   * not the user and status routes (contract §1.6).
   */
  sdkTokenUser(): string | null;
  batchOutput(path: string, format: BatchFormat): Promise<BatchOutput>;
}

export type UnitKind = 'part' | 'batch';

/** What the plan of an upload says before anything is sent. */
export type PlanInfo =
  | {
      method: 's3';
      /** How it goes: one multipart object, presigned POSTs, or (small, client mode) the direct route. */
      transport: S3Transport;
      /** What the server was found to offer (whoami's line). */
      backend: string;
      source: string;
      sourceBytes: number;
      /** Top-level elements, when the export was scanned before sending. */
      elements: number | null;
      parts: number;
      cap: number;
      /** What the repair changes while sending, when the scan has told (else it is learnt while sending). */
      repairs: Repairs | null;
      /** One part, checked while it is sent: illegal characters are padded, so the size is known. */
      streamed: boolean;
    }
  | {
      method: 'direct';
      source: string;
      sourceBytes: number;
      userId: string;
      limits: BatchLimits;
      dryRun: boolean;
      /**
       * What the server already has from earlier uploads (shared/imported.ts), which this one leaves
       * out; null when nothing is known or with --full (then only the known workouts are left out).
       */
      incremental: IncrementalPlan | null;
    }
  | {
      method: 'sdk';
      source: string;
      sourceBytes: number;
      userId: string;
      limits: BatchLimits;
      dryRun: boolean;
      /** How the route is called (null in a dry run, which sends nothing). */
      auth: 'api-key' | 'sdk-token' | 'minted' | null;
      /** What the server already has from earlier uploads, which this one leaves out (as direct's). */
      incremental: IncrementalPlan | null;
    };

export type S3Transport = 'multipart' | 'post' | 'direct';

/** The ledger's computed `--since`: per type, records before this instant are already on the server. */
export interface IncrementalPlan {
  /** Type → ISO instant (exclusive: records from then on are sent). */
  since: Record<string, string>;
  /** The latest of them. */
  through: string | null;
  /** Workouts the server has, never sent again. */
  workoutsKnown: number;
}

export type UploadEvent =
  /** A step that waits on the server before anything else can happen. */
  | { type: 'step'; step: 'user' | 'server' | 'presign' | 'create' | 'complete'; done: boolean }
  /** Parts of one multipart object going up together: bytes the transport has taken of `total`. */
  | { type: 'transfer'; sentBytes: number; total: number; inFlight: number }
  /** With --wait: the backend's import of an S3 object or a small export sent whole. */
  | { type: 'import'; stage: string; status: string | null; message: string | null }
  /** Bytes of the export read by a pass: `check` before sending, `read` while sending or planning. */
  | { type: 'progress'; pass: 'check' | 'read'; bytes: number; total: number }
  | { type: 'plan'; plan: PlanInfo }
  /**
   * s3: what the server already has from earlier uploads, which the filtered document leaves out (the
   * direct and sdk plans carry theirs); before the plan, which the transport announces.
   */
  | { type: 'incremental'; plan: IncrementalPlan }
  /** The server's cap is smaller than the part size: the parts are planned again. */
  | { type: 'replan'; cap: number }
  /** An earlier run sent `done` units of `total` (null: not known before the end). */
  | { type: 'resume'; unit: UnitKind; done: number; total: number | null }
  /** A unit's body starts going out (attempt 1, 2, …). */
  | { type: 'started'; unit: UnitKind; index: number; of: number | null; bytes: number; attempt: number }
  /** Bytes of the unit's body the transport has taken. */
  | { type: 'sending'; unit: UnitKind; index: number; sentBytes: number; bytes: number }
  /** The server has the unit (or had it from an earlier run; or, in a dry run, it is planned). */
  | { type: 'done'; unit: 'part'; index: number; of: number; part: SentPart }
  | { type: 'done'; unit: 'batch'; index: number; of: null; batch: BatchOutcome }
  /** The backend reports the unit imported, or failed. */
  | { type: 'imported'; unit: 'batch'; index: number; batch: BatchOutcome }
  | { type: 'retry'; unit: UnitKind; index: number; attempt: number; delayMs: number; reason: string }
  /** Ctrl-C came while a unit sent in full awaited its answer; the run waits for it up to `waitMs`. */
  | { type: 'drain'; unit: UnitKind; index: number; waitMs: number }
  /**
   * A unit an earlier run left without an answer is not on the feed: `waiting` once before watching for
   * up to `waitMs`, `resending` when it did not appear.
   */
  | {
      type: 'pending';
      unit: UnitKind;
      index: number;
      filename: string;
      phase: 'waiting' | 'resending';
      waitMs: number;
    }
  | { type: 'connection'; state: ConnectionState; detail?: string }
  /** The run stopped (interrupted or failed) after storing `stored` of `total` units. */
  | {
      type: 'stopped';
      unit: 'part';
      stored: { index: number; fileKey: string }[];
      total: number;
      /** A multipart upload: kept for a re-run to finish (true), or aborted on the server (false). */
      kept?: boolean;
    }
  | { type: 'warning'; message: string }
  /** Something the user should know about how the upload goes (one line, not a problem). */
  | { type: 'notice'; message: string };

export type UploadEvents = (event: UploadEvent) => void;

/** An S3 part stored by this run. */
export interface SentPart {
  index: number;
  filename: string;
  fileKey: string;
  bytes: number;
  durationMs: number;
  attempts: number;
}

/** A direct batch and what became of it. */
export interface BatchOutcome {
  seq: number;
  filename: string;
  records: number;
  bytes: number;
  byType: Record<string, number>;
  state: 'planned' | 'skipped' | 'sent' | 'completed' | 'failed';
  taskId: string | null;
  itemsProcessed: number | null;
  error: string | null;
  attempts: number;
}

/** Fields every method's result has, named the same. */
export interface UploadResultBase {
  method: UploadMethod;
  status: 'uploaded' | 'dry-run' | 'already-uploaded';
  server: string;
  userId: string;
  /** As shown: the path, plus the entry for a zip. */
  source: string;
  sourceBytes: number;
  fingerprint: string;
  /** This run's id (of the run that sent it, for `already-uploaded`). */
  runId: string | null;
  durationMs: number;
  bytesSent: number;
  /** `already-uploaded`: when the earlier run finished. */
  uploadedAt?: string;
}
