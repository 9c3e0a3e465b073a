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
  developerId: string;
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

/** One stored time-series point (contract §5.3). `value` is kept as exported: the XML path converts nothing (§5.4). */
export interface ImportedRecord {
  type: string;
  seriesType: string;
  value: string;
  recordedAt: string;
  deviceModel: string | null;
  softwareVersion: string | null;
}

/** Contract §5.6. */
export interface ImportedWorkout {
  activityType: string;
  sourceName: string;
  start: string;
  end: string;
  durationSeconds: number;
  deviceModel: string | null;
  softwareVersion: string | null;
  heartRateMin: number | null;
  heartRateMax: number | null;
  heartRateAvg: string | null;
  energyBurned: number;
}

/** Contract §5.5 sleep sample as handed to the sleep service (sessions are not reconstructed by the double). */
export interface ImportedSleep {
  stage: 'light' | 'deep' | 'rem' | 'awake' | 'in_bed' | 'sleeping';
  start: string;
  end: string;
  sourceName: string | null;
}

/** What one user has received so far, across all imports (the union of batches). */
export class UserImports {
  private readonly recordIndex = new Map<string, number>();
  readonly records: ImportedRecord[] = [];
  readonly workouts: ImportedWorkout[] = [];
  readonly sleep: ImportedSleep[] = [];

  /** Contract §5.8: upsert on (data source, series type, recorded_at); the last write wins. */
  upsertRecord(record: ImportedRecord, recordedAtMs: number): void {
    const key = `${record.deviceModel ?? ''}\u0000${record.seriesType}\u0000${recordedAtMs}`;
    const at = this.recordIndex.get(key);
    if (at === undefined) {
      this.recordIndex.set(key, this.records.length);
      this.records.push(record);
    } else {
      this.records[at] = record;
    }
  }

  /** Records grouped by their HealthKit type. */
  recordsByType(): Record<string, ImportedRecord[]> {
    const out: Record<string, ImportedRecord[]> = {};
    for (const r of this.records) {
      const list = out[r.type] ?? [];
      list.push(r);
      out[r.type] = list;
    }
    return out;
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
