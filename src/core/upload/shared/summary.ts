/**
 * The user's summary (`/summaries/data`, contract §4.5) as the after-upload comparison reads it: read
 * before anything is sent and once the import is over, by every method whose backend reports no
 * distinct rows of its own (S3's events carry no counts; the SDK route's count what it wrote, not what
 * was new).
 */
import type { DataSummary } from '../../../adapters/backend-api.js';
import { CancelledError } from '../../../errors.js';
import type { UploadEvents, UploadPorts } from '../types.js';
import type { SummaryCounts } from './verify.js';

export function countsOf(s: DataSummary): SummaryCounts {
  return {
    records: s.total_data_points,
    workouts: s.total_workouts,
    sleepSessions: s.total_sleep_events,
    bySeries: s.series_type_counts,
  };
}

export function sameCounts(a: SummaryCounts, b: SummaryCounts): boolean {
  if (a.records !== b.records || a.workouts !== b.workouts || a.sleepSessions !== b.sleepSessions)
    return false;
  const keys = new Set([...Object.keys(a.bySeries), ...Object.keys(b.bySeries)]);
  for (const k of keys) if ((a.bySeries[k] ?? 0) !== (b.bySeries[k] ?? 0)) return false;
  return true;
}

/** Reads the user's summary. */
export function summaryReader(ports: UploadPorts, userId: string): () => Promise<SummaryCounts> {
  return async () => countsOf(await ports.summaries.dataSummary({ id: userId, signal: ports.signal }));
}

/**
 * A summary that cannot be read leaves the upload to go on unverified, said once (an interrupt is
 * the interrupt).
 */
export function summaryUnreadable(ports: UploadPorts, onEvent: UploadEvents, err: unknown): null {
  if (ports.signal.aborted) throw new CancelledError();
  onEvent({
    type: 'warning',
    message: `The user’s summary could not be read (${err instanceof Error ? err.message : String(err)}): what the backend stores is not compared with the prediction.`,
  });
  return null;
}
