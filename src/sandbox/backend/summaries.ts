// `GET /users/{user_id}/summaries/data` (contract §4.5): per-user counts by series type, workout type and
// provider — the only way to see what an S3 import stored on a server whose S3 path emits no counts.
import { requireApiKeyOrJwt } from './auth.js';
import type { RouteHandler } from './context.js';
import { HttpError, sendJson } from './respond.js';
import { requireUuid } from './validation.js';

/** `parse_query_datetime`: ISO 8601 or a Unix timestamp, else 400 with the backend's text. */
function queryDatetime(raw: string | null): number | null {
  if (raw === null) return null;
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw) * 1000;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) {
    throw new HttpError(
      400,
      `Invalid datetime format: '${raw}'. Expected ISO 8601 format or Unix timestamp.`,
    );
  }
  return ms;
}

export const dataSummary: RouteHandler = (ctx, { req, res, params, query }) => {
  requireApiKeyOrJwt(ctx, req);
  const userId = requireUuid(params.user_id ?? '');
  const start = queryDatetime(query.get('start_date'));
  const end = queryDatetime(query.get('end_date'));
  const inWindow = (ms: number) => (start === null || ms >= start) && (end === null || ms <= end);
  const imports = ctx.state.imported.get(userId);
  const series: Record<string, number> = {};
  const workoutTypes: Record<string, number> = {};
  const providers = new Map<
    string,
    { data_points: number; series_counts: Record<string, number>; workout_count: number; sleep_count: number }
  >();
  const provider = (name: string) => {
    let p = providers.get(name);
    if (!p) {
      p = { data_points: 0, series_counts: {}, workout_count: 0, sleep_count: 0 };
      providers.set(name, p);
    }
    return p;
  };
  for (const r of imports?.records ?? []) {
    if (!inWindow(r.recordedAtMs)) continue;
    series[r.seriesType] = (series[r.seriesType] ?? 0) + 1;
    const p = provider(r.provider);
    p.data_points++;
    p.series_counts[r.seriesType] = (p.series_counts[r.seriesType] ?? 0) + 1;
  }
  for (const w of imports?.workouts ?? []) {
    if (!inWindow(w.startMs)) continue;
    const type = w.type || 'unknown';
    workoutTypes[type] = (workoutTypes[type] ?? 0) + 1;
    provider(w.provider).workout_count++;
  }
  let sleepEvents = 0;
  for (const s of imports?.sleepSessions() ?? []) {
    if (!inWindow(s.start)) continue;
    sleepEvents++;
    provider('apple').sleep_count++;
  }
  const byCount = (o: Record<string, number>) =>
    Object.fromEntries(Object.entries(o).sort((a, b) => b[1] - a[1]));
  const byProvider = [...providers]
    .map(([name, p]) => ({ provider: name, ...p }))
    .sort(
      (a, b) =>
        b.data_points + b.workout_count + b.sleep_count - (a.data_points + a.workout_count + a.sleep_count),
    );
  sendJson(res, 200, {
    user_id: userId,
    total_data_points: byProvider.reduce((n, p) => n + p.data_points, 0),
    total_workouts: byProvider.reduce((n, p) => n + p.workout_count, 0),
    total_sleep_events: sleepEvents,
    series_type_counts: byCount(series),
    workout_type_counts: byCount(workoutTypes),
    by_provider: byProvider,
    has_womens_health_data: false,
  });
};
