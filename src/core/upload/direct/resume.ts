/**
 * What a re-run does with a batch an earlier run recorded: skip it when the server has it, look for it on
 * the feed when its answer was lost, or send it (again).
 */
import type { Clock } from '../../../adapters/clock.js';
import { feedNames, type SyncFeed } from '../../sync/tracker.js';
import type { LedgerBatch } from '../shared/ledger.js';
import type { UploadEvents } from '../types.js';

export const DEFAULT_PENDING_GRACE_MS = 60_000;
/** Between looks at /sync/recent while waiting for a pending batch. */
const PENDING_POLL_MS = 2_000;

export interface ResumeDeps {
  feed: SyncFeed;
  clock: Clock;
  signal: AbortSignal;
  graceMs: number;
  onEvent: UploadEvents;
}

export type ResumeDecision =
  /** The server has it: nothing to send. */
  | { skip: LedgerBatch }
  /** Send it; `earlier` names earlier sends of the same body whose answers were lost. */
  | { skip: null; earlier?: string[] };

/**
 * `before` is what an earlier run recorded for this seq, `digest` the sha256 of the body built now: only a
 * byte-identical body that the server took (and did not fail to import) is skipped. `onFound` records a
 * pending batch the feed shows the server took.
 */
export async function resumeDecision(
  deps: ResumeDeps,
  seq: number,
  before: LedgerBatch | undefined,
  digest: string,
  onFound: (b: LedgerBatch) => void,
): Promise<ResumeDecision> {
  if (!before || before.sha256 !== digest) return { skip: null };
  let earlier: string[] | undefined;
  let known = before;
  if (before.pending) {
    const names = [before.filename, ...(before.earlier ?? [])];
    if (await reachedServer(deps, seq, names)) {
      // Interrupted between sending and hearing back, but the server did take it.
      known = { ...before, pending: false };
      onFound(known);
    } else {
      // Residual risk: an import still queued after the grace period (a backlog on the server's workers),
      // or whose events were evicted from the feed (200 per user, 24 h, contract §4.1), runs twice. The
      // body is byte-identical and records are upserted (§5.3), but its workouts collide and the later
      // task fails (§5.6). `earlier` keeps those names so a later run can still match them.
      earlier = names;
    }
  }
  if (!known.pending && known.fate !== 'failed') return { skip: known };
  return earlier ? { skip: null, earlier } : { skip: null };
}

/**
 * Whether a batch an earlier run left pending reached the server. The feed names a batch only once its
 * import has started (contract §3.4, §4.3); one the server accepted may still wait in its queue, so a
 * miss is not an answer until the grace period has passed.
 */
async function reachedServer(deps: ResumeDeps, seq: number, filenames: string[]): Promise<boolean> {
  const names = new Set(filenames);
  const deadline = deps.clock.now() + deps.graceMs;
  const pending = {
    unit: 'batch' as const,
    index: seq,
    filename: filenames[0] as string,
    waitMs: deps.graceMs,
  };
  for (let look = 0; ; look++) {
    // An unreachable feed is a miss: keep looking until the deadline, then fall back to a resend.
    if (await feedNames((n, s) => deps.feed.recent(n, s), names, deps.signal)) return true;
    const left = deadline - deps.clock.now();
    if (left <= 0) break;
    if (look === 0) deps.onEvent({ type: 'pending', ...pending, phase: 'waiting' });
    await deps.clock.sleep(Math.min(PENDING_POLL_MS, left), deps.signal);
  }
  deps.onEvent({ type: 'pending', ...pending, phase: 'resending' });
  return false;
}
