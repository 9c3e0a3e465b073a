/**
 * `upload --wait` for what went to S3 whole (a multipart object) or to `/direct` as one file: the one
 * follow loop (core/sync/follow.ts, through the tracker) watches the user's sync feed for the backend's
 * `xml_import` events about it (current page §2.3): in client mode `run_id` is the task id `complete`
 * returned; in either mode `metadata.object_key` is the object's key; a direct upload's events name its
 * file (contract §4.3). The tracker is started before the request that queues the import, and replays
 * what the server kept, so no event is missed.
 */
import type { SyncStatusEvent } from '../../../adapters/sync-api.js';
import { SyncTracker } from '../../sync/tracker.js';
import type { UploadEvents, UploadPorts } from '../types.js';
import type { ImportOutcome } from './result.js';

export interface ImportWatch {
  /** The task id once known (client mode): events with that run id are about this import too. */
  setTaskId(taskId: string | null): void;
  /** Resolves with the backend's verdict. */
  outcome(): Promise<ImportOutcome>;
  stop(): void;
}

/** Watches for the import of the object `key` (or the direct file `filename`). */
export async function watchImport(
  ports: Pick<UploadPorts, 'feed' | 'clock' | 'signal'>,
  userId: string,
  what: { key?: string; filename?: string },
  onEvent: UploadEvents,
): Promise<ImportWatch> {
  const name = what.key ?? what.filename ?? '';
  let taskId: string | null = null;
  let last: SyncStatusEvent | null = null;
  const matches = (e: SyncStatusEvent): boolean => {
    if (e.source !== 'xml_import') return false;
    const meta = e.metadata ?? {};
    if (what.key !== undefined && meta.object_key === what.key) return true;
    if (what.filename !== undefined && meta.filename === what.filename) return true;
    return taskId !== null && (e.run_id === taskId || meta.task_id === taskId);
  };
  const tracker = new SyncTracker(ports.feed(userId), {
    clock: ports.clock,
    signal: ports.signal,
    match: (e) => (matches(e) ? name : null),
    onEvent: (_fate, e) => {
      last = e;
      onEvent({ type: 'import', stage: e.stage, status: e.status ?? null, message: e.message ?? null });
    },
    onConnection: (state, detail) =>
      onEvent({ type: 'connection', state, ...(detail !== undefined ? { detail } : {}) }),
  });
  tracker.watch(name);
  await tracker.start();
  return {
    setTaskId: (id) => {
      taskId = id;
    },
    outcome: async () => {
      const fate = await tracker.terminal(name);
      const e = last as SyncStatusEvent | null;
      return {
        stage: fate.stage === 'failed' ? 'failed' : 'completed',
        status: e?.status ?? null,
        message: e?.message ?? null,
        error: fate.error ?? e?.error ?? null,
      };
    },
    stop: () => tracker.stop(),
  };
}
