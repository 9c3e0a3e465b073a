// `POST /api/v1/sdk/users/{user_id}/sync` and its task `process_sdk_upload` (contract §6, current page §2.5):
// 202 at once, then, off the request, per-record validation, the SDK path's unit conversions
// (`_normalize_unit`, contract §5.4), time series upserted, workouts inserted ON CONFLICT DO NOTHING, sleep
// handed to the sleep service, and `sdk` sync events. A batch that fails writes nothing (one transaction).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { count } from '../../io/text.js';
import { requireSdkAuth } from './auth.js';
import type { BackendContext, RouteHandler } from './context.js';
import { isoAt } from './context.js';
import {
  add,
  type Dec,
  decimalOfNumber,
  multiply,
  NUMERIC_OVERFLOW_ERROR,
  numeric10x3,
  parseDecimal,
  toText,
} from './decimal.js';
import { MAPPED_RECORD_TYPES, SERIES_UNITS } from './mapped-types.js';
import { HttpError, readJsonObject, sendJson } from './respond.js';
import {
  EnvelopeError,
  type MetricRecord,
  parseSyncRequest,
  type SourceInfo,
  type SyncRequest,
  type Workout,
} from './sdk-schema.js';
import type { ImportedRecord, ImportedSleep, ImportedWorkout, SdkBatch } from './state.js';
import { findUser } from './users.js';
import { canonicalUuid } from './validation.js';
import { unifiedSdkWorkoutType } from './workout-types.js';

/** Health Connect's factor (`MMOL_L_TO_MG_DL`), applied when a glucose record's unit starts with "mmol". */
const MMOL_TO_MG_DL = parseDecimal('18.0182') as Dec;
const HUNDRED = parseDecimal('100') as Dec;

/** Workout statistics stored in detail columns (`WORKOUT_STATISTIC_TYPE_TO_DETAIL_FIELD`). */
const DETAIL_FIELDS: Record<string, string> = {
  distance: 'distance',
  stepCount: 'steps_count',
  minHeartRate: 'heart_rate_min',
  averageHeartRate: 'heart_rate_avg',
  maxHeartRate: 'heart_rate_max',
  meanHeartRate: 'heart_rate_avg',
  averageRunningPower: 'average_watts',
  averageRunningSpeed: 'average_speed',
  elevationAscended: 'total_elevation_gain',
  altitudeGain: 'total_elevation_gain',
  maxAltitude: 'elev_high',
  minAltitude: 'elev_low',
  averageSpeed: 'average_speed',
  maxSpeed: 'max_speed',
  meanSpeed: 'average_speed',
};

/** Workout statistics stored as a time-series point at the workout's end (`…_TO_SERIES_TYPE`). */
const STAT_SERIES: Record<string, string> = {
  averageRunningStrideLength: 'running_stride_length',
  averageVerticalOscillation: 'running_vertical_oscillation',
  averageGroundContactTime: 'running_ground_contact_time',
  averageMETs: 'average_met',
  weatherTemperature: 'weather_temperature',
  weatherHumidity: 'weather_humidity',
  swimmingStrokeCount: 'swimming_stroke_count',
  meanCadence: 'cadence',
  maxCadence: 'cadence',
  vo2Max: 'vo2_max',
  totalEnergyBurned: 'energy',
  totalDistance: 'distance_walking_running',
  totalSteps: 'steps',
};

const ENERGY_STATS = new Set(['activeEnergyBurned', 'basalEnergyBurned', 'calories', 'totalCalories']);
const DURATION_STATS = new Set(['duration', 'totalDuration']);

/** The attribution headers the backend reads and logs (current page §2.5), sanitised and cut at 256. */
const LOGGED_HEADERS = [
  'x-open-wearables-sdk-version',
  'x-open-wearables-sdk-platform',
  'x-request-id',
  'x-open-wearables-outbox-item',
  'user-agent',
];

function loggedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of LOGGED_HEADERS) {
    const v = req.headers[name];
    if (typeof v === 'string') out[name] = v.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 256);
  }
  return out;
}

/** `extract_device_info`: device model (or product type), OS version, and the source's name with its fallbacks. */
function deviceInfo(s: SourceInfo | null): {
  model: string | null;
  software: string | null;
  source: string | null;
} {
  if (!s) return { model: null, software: null, source: null };
  const os = s.operatingSystemVersion;
  return {
    model: s.deviceModel ?? s.productType ?? null,
    software: os ? `${os.majorVersion}.${os.minorVersion}.${os.patchVersion}` : null,
    source: s.name ?? s.deviceName ?? s.appId ?? s.bundleIdentifier ?? null,
  };
}

/** `_normalize_unit` plus the glucose factor: what the SDK path stores for a value it receives. */
export function sdkStoredValue(seriesType: string, value: Dec, provider: string, unit: string | null): Dec {
  let v = value;
  if (seriesType === 'height' || seriesType === 'walking_step_length') v = multiply(v, HUNDRED);
  else if (seriesType === 'body_fat_percentage' && provider === 'apple') v = multiply(v, HUNDRED);
  else if (
    seriesType === 'walking_double_support_percentage' ||
    seriesType === 'walking_asymmetry_percentage' ||
    seriesType === 'walking_steadiness'
  )
    v = multiply(v, HUNDRED);
  if (seriesType === 'blood_glucose' && (unit ?? '').toLowerCase().startsWith('mmol'))
    v = multiply(v, MMOL_TO_MG_DL);
  return v;
}

/** A row for the data_point_series table, checked against its column types (NUMERIC(10,3), VARCHAR(100/10)). */
function sample(fields: Omit<ImportedRecord, 'stored' | 'unit' | 'path'> & { dec: Dec }): ImportedRecord {
  const stored = numeric10x3(fields.dec);
  if (stored === null) throw new Error(NUMERIC_OVERFLOW_ERROR);
  for (const [value, length] of [
    [fields.externalId, 100],
    [fields.zoneOffset, 10],
  ] as const) {
    if (value !== null && [...value].length > length) {
      throw new Error(
        `(psycopg.errors.StringDataRightTruncation) value too long for type character varying(${length})`,
      );
    }
  }
  const { dec: _dec, ...rest } = fields;
  return { ...rest, unit: SERIES_UNITS.get(fields.seriesType) ?? '', stored, path: 'sdk' };
}

function recordRows(request: SyncRequest, records: MetricRecord[]): ImportedRecord[] {
  const rows: ImportedRecord[] = [];
  for (const r of records) {
    // Only the HealthKit part of the metric map is modelled (an Apple export's path).
    const seriesType = MAPPED_RECORD_TYPES.get(r.type ?? '');
    if (!seriesType) continue;
    const dec = sdkStoredValue(seriesType, parseDecimal(r.value) as Dec, request.provider, r.unit);
    const device = deviceInfo(r.source);
    rows.push(
      sample({
        type: r.type,
        seriesType,
        value: toText(dec),
        dec,
        recordedAt: r.startDate,
        recordedAtMs: r.startMs,
        zoneOffset: r.zoneOffset,
        externalId: r.id,
        provider: 'apple',
        source: device.source,
        deviceModel: device.model,
        softwareVersion: device.software,
      }),
    );
  }
  return rows;
}

function workoutRows(w: Workout): { workout: ImportedWorkout; samples: ImportedRecord[] } {
  const device = deviceInfo(w.source);
  const samples: ImportedRecord[] = [];
  const details: Record<string, string> = {};
  let energy: Dec = { mantissa: 0n, scale: 0 };
  let duration: number | null = null;
  for (const stat of w.values ?? []) {
    const dec = decimalOfNumber(stat.value);
    if (!dec) continue;
    const series = STAT_SERIES[stat.type];
    if (series) {
      samples.push(
        sample({
          type: null,
          seriesType: series,
          value: toText(dec),
          dec,
          recordedAt: w.endDate,
          recordedAtMs: w.endMs,
          zoneOffset: w.zoneOffset,
          externalId: null,
          provider: 'apple',
          source: device.source,
          deviceModel: device.model,
          softwareVersion: device.software,
        }),
      );
    } else if (DURATION_STATS.has(stat.type)) {
      duration = stat.unit === 'ms' ? stat.value / 1000 : stat.value;
    } else if (ENERGY_STATS.has(stat.type)) {
      energy = add(energy, dec);
    } else if (DETAIL_FIELDS[stat.type]) {
      const field = DETAIL_FIELDS[stat.type] as string;
      details[field] = field === 'steps_count' ? String(Math.trunc(stat.value)) : toText(dec);
    }
  }
  const seconds = duration ?? (w.endMs - w.startMs) / 1000;
  const type = w.type ? w.type.toLowerCase() : null;
  const hr = (field: string) => (details[field] === undefined ? null : Math.trunc(Number(details[field])));
  const workout: ImportedWorkout = {
    id: randomUUID(),
    activityType: w.type ?? '',
    type: type ? unifiedSdkWorkoutType(type) : '',
    sourceName: device.source ?? 'unknown',
    start: w.startDate,
    end: w.endDate,
    startMs: w.startMs,
    endMs: w.endMs,
    durationSeconds: Math.trunc(seconds),
    provider: 'apple',
    source: device.source,
    deviceModel: device.model,
    softwareVersion: device.software,
    externalId: w.id,
    zoneOffset: w.zoneOffset,
    heartRateMin: hr('heart_rate_min'),
    heartRateMax: hr('heart_rate_max'),
    heartRateAvg: details.heart_rate_avg ?? null,
    energyBurned: w.values ? Number(toText(energy)) : null,
    details,
    path: 'sdk',
  };
  return { workout, samples };
}

/** `load_data`: every row the batch writes, built first (a failure writes nothing), then stored. */
function loadData(ctx: BackendContext, userId: string, request: SyncRequest) {
  const imports = ctx.state.importsFor(userId);
  const bundles = request.workouts.map((w) => workoutRows(w));
  const statSamples = bundles.flatMap((b) => b.samples);
  const records = recordRows(request, request.records);
  let workoutsSaved = 0;
  for (const { workout } of bundles) {
    if (imports.findWorkout(workout)) continue;
    imports.addWorkout(workout);
    workoutsSaved++;
  }
  const rows = [...statSamples, ...records];
  // loseNextRecords: rows not stored while the batch reports them saved (an import that comes short).
  const lost = Math.min(ctx.inject.loseRecords, rows.length);
  ctx.inject.loseRecords -= lost;
  for (const row of rows.slice(lost)) imports.upsertRecord(row);
  for (const s of request.sleep) {
    // `SleepPhase | str`: any stage validates; the sleep service keeps the phases it knows.
    const stage = SDK_STAGES.has(s.stage) ? s.stage : undefined;
    if (!stage) continue;
    const device = deviceInfo(s.source);
    const row: ImportedSleep = {
      stage: stage as ImportedSleep['stage'],
      start: s.startDate,
      end: s.endDate,
      startMs: s.startMs,
      endMs: s.endMs,
      sourceName: device.source,
      provider: 'apple',
      source: device.source,
      deviceModel: device.model,
      path: 'sdk',
    };
    imports.addSleep(row);
  }
  return {
    recordsSaved: statSamples.length + records.length,
    workoutsSaved,
    sleepSaved: request.sleep.length,
  };
}

const SDK_STAGES = new Set(['in_bed', 'sleeping', 'awake', 'light', 'deep', 'rem', 'unknown']);

/** The task `process_sdk_upload` (contract §4.3, §6.1), with the current backend's historical runs (§2.5). */
function processBatch(
  ctx: BackendContext,
  batch: SdkBatch,
  provider: string,
  body: Record<string, unknown>,
): void {
  const uuid = canonicalUuid(batch.userId);
  // A bad user id or an unknown user returns quietly, with no event.
  if (!uuid || !findUser(ctx, uuid)) {
    batch.status = 'skipped';
    return;
  }
  const startedAt = isoAt(ctx.now());
  const base = {
    run_id: batch.runId,
    user_id: uuid,
    provider,
    source: 'sdk' as const,
    progress: null,
    items_total: null,
    primary_user_id: null,
    started_at: startedAt,
  };
  ctx.sync.emit({
    ...base,
    stage: 'started',
    status: 'in_progress',
    message: `Processing ${provider} SDK batch`,
    items_processed: null,
    error: null,
    metadata: { batch_id: batch.batchId },
    ended_at: null,
  });
  const Provider = provider.charAt(0).toUpperCase() + provider.slice(1);
  const fail = (response: string) => {
    batch.status = 'failed';
    batch.error = response;
    ctx.sync.emit({
      ...base,
      stage: 'failed',
      status: 'failed',
      message: `${Provider} batch failed`,
      items_processed: null,
      error: response,
      metadata: { batch_id: batch.batchId, status_code: 400 },
      ended_at: isoAt(ctx.now()),
    });
  };
  let parsed: ReturnType<typeof parseSyncRequest>;
  try {
    parsed = parseSyncRequest(body);
  } catch (err) {
    fail(
      err instanceof EnvelopeError ? `Validation failed: ${err.message}` : `Import failed: ${String(err)}`,
    );
    return;
  }
  let saved: ReturnType<typeof loadData>;
  try {
    saved = loadData(ctx, uuid, parsed.request);
  } catch (err) {
    fail(`Import failed: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  batch.status = 'completed';
  batch.recordsSaved = saved.recordsSaved;
  batch.workoutsSaved = saved.workoutsSaved;
  batch.sleepSaved = saved.sleepSaved;
  batch.droppedCount = parsed.dropped.length;
  batch.dropped = parsed.dropped;
  const dropped = parsed.dropped.length;
  ctx.sync.emit({
    ...base,
    stage: 'completed',
    status: 'success',
    message: `${Provider} batch saved${dropped ? ` (${count(dropped, 'record')} dropped by validation)` : ''}`,
    items_processed: saved.recordsSaved + saved.workoutsSaved + saved.sleepSaved,
    error: null,
    metadata: {
      batch_id: batch.batchId,
      records_saved: saved.recordsSaved,
      workouts_saved: saved.workoutsSaved,
      sleep_saved: saved.sleepSaved,
      dropped_count: dropped,
    },
    ended_at: isoAt(ctx.now()),
  });
}

/** The run a batch belongs to: `sdk_<session>` for a historical sync on the current backend, else its batch. */
function runIdOf(ctx: BackendContext, body: Record<string, unknown>, batchId: string): string {
  const session = body.syncSessionId;
  if (
    ctx.generation === 'current' &&
    body.syncType === 'historical' &&
    typeof session === 'string' &&
    session !== ''
  ) {
    return `sdk_${session}`;
  }
  return batchId;
}

/** `POST /sdk/users/{user_id}/sync` → 202 `UploadDataResponse`; the work happens in the queued task. */
export const sdkSync: RouteHandler = async (ctx, { req, res, params }) => {
  const auth = requireSdkAuth(ctx, req);
  const userId = params.user_id ?? '';
  if (auth.kind === 'sdk_token' && auth.userId !== userId)
    throw new HttpError(403, 'Token does not match user_id');
  // The route takes `body: dict`, whose wording differs from a pydantic model's.
  const payload = await readJsonObject(req, {
    cap: ctx.maxDirectBytes,
    notAnObject: 'Input should be a valid dictionary',
  });
  const provider = String(payload.provider || '').toLowerCase();
  if (!['apple', 'samsung', 'google'].includes(provider)) {
    throw new HttpError(400, `Unsupported provider: ${provider}. Supported: apple, samsung, google`);
  }
  // With SDK_PAYLOAD_S3_OFFLOAD on, a failed write of the body rejects the batch (current page §2.5, #1460).
  if (ctx.generation === 'current' && ctx.inject.sdkPersist > 0) {
    ctx.inject.sdkPersist--;
    throw new HttpError(503, 'Failed to persist payload; please retry.');
  }
  const batchId = randomUUID();
  const batch: SdkBatch = {
    userId,
    batchId,
    runId: runIdOf(ctx, payload, batchId),
    status: 'queued',
    recordsSaved: 0,
    workoutsSaved: 0,
    sleepSaved: 0,
    droppedCount: 0,
    dropped: [],
    headers: loggedHeaders(req),
  };
  ctx.state.sdkBatches.push(batch);
  sendJson(res, 202, {
    status_code: 202,
    response: 'Import task queued successfully',
    user_id: userId,
    dropped_count: 0,
    records_saved: 0,
    workouts_saved: 0,
    sleep_saved: 0,
  });
  ctx.sdkTasks.schedule(ctx.directDelayMs, async () => processBatch(ctx, batch, provider, payload));
};
