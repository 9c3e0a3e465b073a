/**
 * The one loop that follows a user's sync-status feed (contract §4): `status --follow` and every `--wait`
 * go through it. It opens the stream with a replay of the last events, so a reconnect misses nothing
 * that happened while it was down; the replay repeats events already seen, so they are dropped by
 * `event_id`. A dropped stream is reopened with backoff; after `maxFailures` in a row the loop either
 * gives up with the last error or, where an answer matters more than liveness, polls `/sync/recent`.
 */
import type { Clock } from '../../adapters/clock.js';
import type { SyncStatusEvent } from '../../adapters/sync-api.js';
import { isAbortError } from '../../errors.js';

export type { SyncStatusEvent };

/** A user's feed, credentials and user id already bound (the Factory builds it). */
export interface SyncFeed {
  /** `onOpen` is called once the server has accepted the stream (before any event). */
  stream(replay: number, signal: AbortSignal, onOpen: () => void): AsyncIterable<SyncStatusEvent>;
  /** Newest first. */
  recent(limit: number, signal: AbortSignal): Promise<SyncStatusEvent[]>;
}

export type ConnectionState = 'connected' | 'reconnected' | 'reconnecting' | 'polling';

export interface FollowOptions {
  clock: Clock;
  signal: AbortSignal;
  /** Stored events replayed on every (re)connection (the server keeps at most 200, contract §4.1). */
  replay: number;
  /** Stream failures in a row before `whenDown` applies (a stream that opens resets the count). */
  maxFailures: number;
  /** `throw`: give up with the last error; `poll`: read `/sync/recent` every `pollIntervalMs` instead. */
  whenDown: 'throw' | 'poll';
  pollIntervalMs?: number;
  onConnection?(state: ConnectionState, detail?: string): void;
}

/** The most replay can repeat (contract §4.1), with room: ids older than this are forgotten. */
const DEDUPE_WINDOW = 4096;
const DEFAULT_POLL_MS = 5_000;

/** Delay before reopening the stream after `failures` failures in a row. */
export function reconnectDelayMs(failures: number): number {
  return Math.min(30_000, 250 * 2 ** failures);
}

/** Remembers the last DEDUPE_WINDOW event ids. */
class SeenIds {
  private readonly ids = new Set<string>();
  private readonly order: string[] = [];

  /** True the first time an id is seen; events without one are never treated as repeats. */
  first(id: string | undefined): boolean {
    if (id === undefined) return true;
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    this.order.push(id);
    if (this.order.length > DEDUPE_WINDOW) this.ids.delete(this.order.shift() as string);
    return true;
  }
}

/**
 * Delivers each event once, in the order the server sends them, until `signal` aborts (then it returns)
 * or, with `whenDown: 'throw'`, the stream cannot be kept open (then it throws the last error).
 */
export async function followSyncEvents(
  feed: SyncFeed,
  opts: FollowOptions,
  onEvent: (event: SyncStatusEvent) => void,
): Promise<void> {
  const { signal } = opts;
  const seen = new SeenIds();
  const deliver = (e: SyncStatusEvent) => {
    if (seen.first(e.event_id)) onEvent(e);
  };
  let failures = 0;
  let connectedOnce = false;
  let lastError: unknown = null;
  while (!signal.aborted && failures < opts.maxFailures) {
    try {
      const opened = () => {
        failures = 0;
        opts.onConnection?.(connectedOnce ? 'reconnected' : 'connected');
        connectedOnce = true;
      };
      for await (const event of feed.stream(opts.replay, signal, opened)) deliver(event);
      // A clean close: reconnect (the replay covers the gap).
      failures++;
      lastError = null;
      opts.onConnection?.('reconnecting', 'the server closed the stream');
    } catch (err) {
      if (signal.aborted || isAbortError(err)) return;
      failures++;
      lastError = err;
      opts.onConnection?.('reconnecting', err instanceof Error ? err.message : String(err));
    }
    if (signal.aborted) return;
    if (failures >= opts.maxFailures) break;
    if (!(await pause(opts.clock, reconnectDelayMs(failures), signal))) return;
  }
  if (signal.aborted) return;
  if (opts.whenDown === 'throw') {
    throw lastError ?? new Error('the status stream keeps closing');
  }
  opts.onConnection?.('polling');
  const interval = opts.pollIntervalMs ?? DEFAULT_POLL_MS;
  while (!signal.aborted) {
    try {
      const events = await feed.recent(Math.max(opts.replay, 1), signal);
      for (const event of events.reverse()) deliver(event);
    } catch (err) {
      if (signal.aborted || isAbortError(err)) return;
    }
    if (!(await pause(opts.clock, interval, signal))) return;
  }
}

/** false when the wait was cut short by the signal. */
async function pause(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await clock.sleep(ms, signal);
    return true;
  } catch {
    return !signal.aborted;
  }
}
