/** `status`: a user's recent sync-status events (contract §4.1), or all of them as they happen. */
import type { BackendApi } from '../../adapters/backend-api.js';
import type { Clock } from '../../adapters/clock.js';
import { requireUser } from '../users.js';
import { type ConnectionState, followSyncEvents, type SyncFeed, type SyncStatusEvent } from './follow.js';

export interface StatusPorts {
  users: Pick<BackendApi, 'getUser' | 'listUsers'>;
  /** The feed of one user. */
  feed(userId: string): SyncFeed;
  server: string;
  clock: Clock;
  signal: AbortSignal;
}

/** Newest first, as the server keeps them. */
export async function recentEvents(
  ports: StatusPorts,
  opts: { user: string | undefined; limit: number },
): Promise<{ userId: string; events: SyncStatusEvent[] }> {
  const user = await requireUser(ports, opts.user);
  const events = await ports.feed(user.id).recent(opts.limit, ports.signal);
  return { userId: user.id, events };
}

/** Stream failures in a row after which `status --follow` gives up (eight retries). */
const FOLLOW_MAX_FAILURES = 9;

/**
 * The last `replay` events, then every new one as it happens, each once, until the signal aborts (a
 * stream that cannot be kept open is an error).
 */
export async function followEvents(
  ports: StatusPorts,
  opts: {
    user: string | undefined;
    replay: number;
    onConnection?(state: ConnectionState, detail?: string): void;
  },
  onEvent: (event: SyncStatusEvent) => void,
): Promise<void> {
  const user = await requireUser(ports, opts.user);
  await followSyncEvents(
    ports.feed(user.id),
    {
      clock: ports.clock,
      signal: ports.signal,
      replay: opts.replay,
      maxFailures: FOLLOW_MAX_FAILURES,
      whenDown: 'throw',
      ...(opts.onConnection ? { onConnection: opts.onConnection } : {}),
    },
    onEvent,
  );
}
