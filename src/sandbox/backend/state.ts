import type { IncomingHttpHeaders } from 'node:http';

/** A developer account (contract §1.4 `DeveloperRead` plus the password the double checks at login). */
export interface Developer {
  id: string;
  email: string;
  password: string;
  first_name: string | null;
  last_name: string | null;
  created_at: string;
  updated_at: string;
}

/** Contract §1.9 `UserRead`. */
export interface UserRead {
  id: string;
  created_at: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  external_user_id: string | null;
  last_synced_at: string | null;
  last_synced_provider: string | null;
  has_active_connection: boolean;
}

/** Contract §1.2: refresh tokens never expire by time; valid means "exists and not revoked". */
export interface RefreshTokenRow {
  token: string;
  /** The developer's id for a developer token; for an SDK token (§1.7) the developer who minted it, if any. */
  developerId: string;
  /** Refresh returns a token of the same kind (§1.3). */
  kind: 'developer' | 'sdk';
  /** SDK tokens: the user the token is for and the app id it carries (`admin:<developer id>`). */
  userId?: string;
  appId?: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  at: number;
  /** Set when the answer is sent; absent for dropped, stalled or still-open requests. */
  status?: number;
  /** A stalled request: set once its whole body has been read (it is never answered). */
  bodyReceived?: boolean;
}

export interface DirectUpload {
  filename: string;
  bytes: Buffer;
  userId: string;
  taskId: string;
  status: 'processing' | 'completed' | 'failed';
  error?: string;
}

export interface PresignIssued {
  userId: string;
  fileKey: string;
  bucket: string;
  expiresIn: number;
  maxFileSize: number;
  uploadUrl: string;
}

/** A multipart upload opened through `/s3/multipart/create` (current page §2.2). */
export interface MultipartOpened {
  userId: string;
  key: string;
  uploadId: string;
  bucket: string;
  fileSize: number;
  partSize: number;
  /** Part numbers signed so far, in request order (with repeats when a part was signed again). */
  signed: number[];
  /** What `/complete` answered, once it was called successfully. */
  completed?: { status: 'processing' | 'uploaded'; taskId: string | null };
  aborted?: boolean;
}

/**
 * One run of the S3 import task: `complete_and_process_aws_upload` (client mode) or `process_aws_upload`
 * (after an S3 notification in sns mode, or on a server before August 2026).
 */
export interface S3ImportTask {
  taskId: string;
  bucket: string;
  key: string;
  userId: string;
  trigger: 'complete' | 'notification';
  status: 'queued' | 'processing' | 'completed' | 'skipped' | 'failed';
  /** Attempts made (the task retries up to 3 times, current page §2.3). */
  attempts: number;
  /** Items parsed by the last attempt that got through the file. */
  items: number | null;
  error?: string;
  reason?: string;
}

/** What the SNS handler made of an S3 notification (current page §2.1 item 4, contract §2.6). */
export interface SnsNotification {
  key: string;
  response: string;
  taskId: string | null;
}

/** One batch received on `POST /sdk/users/{id}/sync` (contract §6) and what its task made of it. */
export interface SdkBatch {
  userId: string;
  batchId: string;
  runId: string;
  status: 'queued' | 'completed' | 'failed' | 'skipped';
  recordsSaved: number;
  workoutsSaved: number;
  sleepSaved: number;
  droppedCount: number;
  /** Per-record validation failures: collection, index and the first error's location and message. */
  dropped: { collection: string; index: number; loc: string; msg: string }[];
  error?: string;
  /** The request headers the backend logs (current page §2.5). */
  headers: Record<string, string>;
}

/** Which route put a row there: the XML import (direct or S3) or the SDK sync. */
export type ImportPath = 'xml' | 'sdk';

/**
 * A data source's identity (contract §5.7): the unique keys of time series and workouts are per data source,
 * and on the XML path every app and device of one `model` shares one.
 */
export interface DataSourceIdentity {
  provider: string;
  deviceModel: string | null;
  /** `apple_health_xml` on the XML path; the SourceInfo's name (or its fallbacks) on the SDK path. */
  source: string | null;
}

function dataSourceKey(d: DataSourceIdentity): string {
  return `${d.provider}\u0000${d.deviceModel ?? ''}\u0000${d.source ?? ''}`;
}

/** One stored time-series point (contract §5.3, §5.8, §6.3). */
export interface ImportedRecord extends DataSourceIdentity {
  /** The HealthKit type it came from; null for a series written from a workout statistic (§6.2). */
  type: string | null;
  seriesType: string;
  /** The series' canonical unit (`SERIES_TYPE_DEFINITIONS`); the value is in it only if the client sent it so. */
  unit: string;
  /**
   * The value as the backend computed it before the column's rounding: exactly as exported on the XML path
   * (§5.4, no conversion), after `_normalize_unit` and the glucose factor on the SDK path.
   */
  value: string;
  /** What the NUMERIC(10,3) column holds: `value` rounded half away from zero to 3 places. */
  stored: string;
  /** The start date as received. */
  recordedAt: string;
  recordedAtMs: number;
  zoneOffset: string | null;
  externalId: string | null;
  softwareVersion: string | null;
  path: ImportPath;
}

/** Contract §5.6 (XML) and §6.2 (SDK). */
export interface ImportedWorkout extends DataSourceIdentity {
  id: string;
  /** As received: `HKWorkoutActivityType…` on the XML path, the SDK name on the SDK path. */
  activityType: string;
  /** The backend's unified `WorkoutType`. */
  type: string;
  sourceName: string;
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  durationSeconds: number;
  softwareVersion: string | null;
  externalId: string | null;
  zoneOffset: string | null;
  heartRateMin: number | null;
  heartRateMax: number | null;
  heartRateAvg: string | null;
  /** 0 on the XML path without statistics; null on the SDK path for a workout sent without `values`. */
  energyBurned: number | null;
  /** Other detail columns the SDK path fills (distance, steps_count, average_speed, …), as decimal text. */
  details: Record<string, string>;
  path: ImportPath;
}

/** Contract §5.5 / §6.2: a sleep sample as handed to the sleep service. */
export interface ImportedSleep extends DataSourceIdentity {
  stage: 'light' | 'deep' | 'rem' | 'awake' | 'in_bed' | 'sleeping' | 'unknown';
  start: string;
  end: string;
  startMs: number;
  endMs: number;
  sourceName: string | null;
  path: ImportPath;
}

/** Counts of what a user has, as a test compares them with a prediction. */
export interface ImportCounts {
  records: number;
  workouts: number;
  /** Sleep samples kept (a sample repeating start, end, stage and source is dropped, §6.3). */
  sleep: number;
  /** Sleep sessions: samples no more than 120 minutes apart joined, per source (§5.5). */
  sleepSessions: number;
  /** Records per series type. */
  bySeries: Record<string, number>;
}

/** The sleep service closes a session after a gap of more than this (contract §5.5 `SLEEP_END_GAP_MINUTES`). */
const SLEEP_END_GAP_MS = 120 * 60 * 1000;

/** What one user has received so far, across all imports and both paths. */
export class UserImports {
  private readonly recordIndex = new Map<string, number>();
  private readonly workoutIndex = new Map<string, ImportedWorkout>();
  private readonly sleepIndex = new Set<string>();
  readonly records: ImportedRecord[] = [];
  readonly workouts: ImportedWorkout[] = [];
  readonly sleep: ImportedSleep[] = [];

  /** Contract §5.8: upsert on (data source, series type, recorded_at); the last write wins. */
  upsertRecord(record: ImportedRecord): void {
    const key = `${dataSourceKey(record)}\u0000${record.seriesType}\u0000${record.recordedAtMs}`;
    const at = this.recordIndex.get(key);
    if (at === undefined) {
      this.recordIndex.set(key, this.records.length);
      this.records.push(record);
    } else {
      this.records[at] = record;
    }
  }

  /** The stored workout with the same unique key (data source, start, end), if any. */
  findWorkout(w: DataSourceIdentity & { startMs: number; endMs: number }): ImportedWorkout | undefined {
    return this.workoutIndex.get(`${dataSourceKey(w)}\u0000${w.startMs}\u0000${w.endMs}`);
  }

  /** Inserts a workout whose key is free (the caller checked findWorkout). */
  addWorkout(w: ImportedWorkout): void {
    this.workoutIndex.set(`${dataSourceKey(w)}\u0000${w.startMs}\u0000${w.endMs}`, w);
    this.workouts.push(w);
  }

  /** Keeps a sleep sample unless one with the same start, end, stage and source is there; false when dropped. */
  addSleep(s: ImportedSleep): boolean {
    const key = `${dataSourceKey(s)}\u0000${s.startMs}\u0000${s.endMs}\u0000${s.stage}`;
    if (this.sleepIndex.has(key)) return false;
    this.sleepIndex.add(key);
    this.sleep.push(s);
    return true;
  }

  /** Records grouped by their HealthKit type (workout-statistic series under their series type). */
  recordsByType(): Record<string, ImportedRecord[]> {
    const out: Record<string, ImportedRecord[]> = {};
    for (const r of this.records) {
      const list = out[r.type ?? r.seriesType] ?? [];
      list.push(r);
      out[r.type ?? r.seriesType] = list;
    }
    return out;
  }

  /** The stored points of one series type (e.g. `weight`), oldest first. */
  series(seriesType: string): ImportedRecord[] {
    return this.records
      .filter((r) => r.seriesType === seriesType)
      .sort((a, b) => a.recordedAtMs - b.recordedAtMs);
  }

  /** Sleep sessions as the sleep service would build them; an approximation (see ImportCounts.sleepSessions). */
  sleepSessions(): { start: number; end: number; source: string | null }[] {
    const bySource = new Map<string, ImportedSleep[]>();
    for (const s of this.sleep) {
      const key = dataSourceKey(s);
      bySource.set(key, [...(bySource.get(key) ?? []), s]);
    }
    const sessions: { start: number; end: number; source: string | null }[] = [];
    for (const samples of bySource.values()) {
      samples.sort((a, b) => a.startMs - b.startMs);
      let current: { start: number; end: number; source: string | null } | null = null;
      for (const s of samples) {
        if (current && s.startMs - current.end <= SLEEP_END_GAP_MS) {
          current.end = Math.max(current.end, s.endMs);
        } else {
          current = { start: s.startMs, end: s.endMs, source: s.source };
          sessions.push(current);
        }
      }
    }
    return sessions;
  }

  counts(): ImportCounts {
    const bySeries: Record<string, number> = {};
    for (const r of this.records) bySeries[r.seriesType] = (bySeries[r.seriesType] ?? 0) + 1;
    return {
      records: this.records.length,
      workouts: this.workouts.length,
      sleep: this.sleep.length,
      sleepSessions: this.sleepSessions().length,
      bySeries,
    };
  }
}

/** Contract §4.2. */
export interface SyncStatusEvent {
  event_id: string;
  run_id: string;
  user_id: string;
  provider: string;
  source: 'pull' | 'webhook' | 'sdk' | 'backfill' | 'xml_import' | 'linked_account';
  stage: 'queued' | 'started' | 'fetching' | 'processing' | 'saving' | 'completed' | 'failed' | 'cancelled';
  status: 'in_progress' | 'success' | 'partial' | 'failed' | 'cancelled' | 'skipped';
  message: string | null;
  progress: number | null;
  items_processed: number | null;
  items_total: number | null;
  error: string | null;
  primary_user_id: string | null;
  metadata: Record<string, unknown>;
  started_at: string | null;
  ended_at: string | null;
  timestamp: string;
}

/** Everything the double holds; tests read it directly. */
export class BackendState {
  readonly developers: Developer[] = [];
  readonly users: UserRead[] = [];
  readonly refreshTokens = new Map<string, RefreshTokenRow>();
  readonly apiKeys = new Set<string>();
  readonly requests: RequestLogEntry[] = [];
  readonly directUploads: DirectUpload[] = [];
  readonly presigns: PresignIssued[] = [];
  readonly multipartUploads: MultipartOpened[] = [];
  readonly s3Imports: S3ImportTask[] = [];
  readonly snsNotifications: SnsNotification[] = [];
  readonly sdkBatches: SdkBatch[] = [];
  /** Keyed by the user id as it appears in the path (canonical UUID form when it parses as one). */
  readonly imported = new Map<string, UserImports>();
  /** Oldest first; capped per user (contract §4.1). */
  readonly syncEvents = new Map<string, SyncStatusEvent[]>();

  importsFor(userId: string): UserImports {
    let imports = this.imported.get(userId);
    if (!imports) {
      imports = new UserImports();
      this.imported.set(userId, imports);
    }
    return imports;
  }

  /** Refresh tokens still usable. */
  activeRefreshTokens(): RefreshTokenRow[] {
    return [...this.refreshTokens.values()].filter((r) => r.revokedAt === null);
  }

  revokedRefreshTokens(): RefreshTokenRow[] {
    return [...this.refreshTokens.values()].filter((r) => r.revokedAt !== null);
  }
}
