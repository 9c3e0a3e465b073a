/**
 * `--wait` for SDK batches: each batch's import, to its end, on the status feed (the one follow loop,
 * core/sync/follow.ts). The route's 202 carries no batch id (contract §4.3, §6.1), so a batch is matched
 * by order: the backend emits a batch's end once its task has run, and this run's batches are the only
 * ones sent for the user while it lasts, so the n-th `sdk`/`apple` terminal event that was not stored
 * before the watch began is the n-th batch's end. Events stored before (an earlier run's, replayed on
 * every connection) are never taken for this run's.
 */
import type { Clock } from '../../../adapters/clock.js';
import type { SyncStatusEvent } from '../../../adapters/sync-api.js';
import { isAbortError } from '../../../errors.js';
import { type ConnectionState, followSyncEvents, type SyncFeed } from '../../sync/follow.js';

export interface BatchEnd {
  stage: 'completed' | 'failed';
  error: string | null;
  recordsSaved: number | null;
  workoutsSaved: number | null;
  sleepSaved: number | null;
  droppedCount: number | null;
  itemsProcessed: number | null;
}

const TERMINAL = new Set(['completed', 'failed']);

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

export class SdkImportWatcher {
  private readonly ends: SyncStatusEvent[] = [];
  private readonly old = new Set<string>();
  private wake: (() => void) | null = null;
  private readonly stopper = new AbortController();
  private following: Promise<void> | null = null;

  constructor(
    private readonly feed: SyncFeed,
    private readonly opts: {
      clock: Clock;
      signal: AbortSignal;
      pollIntervalMs?: number;
      onConnection?(state: ConnectionState, detail?: string): void;
    },
  ) {}

  /** Before the first batch: what is on the feed already is not this run's. */
  async start(): Promise<void> {
    try {
      for (const e of await this.feed.recent(200, this.opts.signal)) if (e.event_id) this.old.add(e.event_id);
    } catch (err) {
      if (this.opts.signal.aborted || isAbortError(err)) throw err;
      // Without the snapshot, the replay's events are told apart by arriving before the first send.
    }
    const signal = AbortSignal.any([this.opts.signal, this.stopper.signal]);
    this.following = followSyncEvents(
      this.feed,
      {
        clock: this.opts.clock,
        signal,
        replay: 50,
        maxFailures: 5,
        whenDown: 'poll',
        ...(this.opts.pollIntervalMs !== undefined ? { pollIntervalMs: this.opts.pollIntervalMs } : {}),
        ...(this.opts.onConnection ? { onConnection: this.opts.onConnection } : {}),
      },
      (e) => {
        if (e.source !== 'sdk' || (e.provider ?? 'apple') !== 'apple' || !TERMINAL.has(e.stage)) return;
        if (e.event_id && this.old.has(e.event_id)) return;
        this.ends.push(e);
        this.wake?.();
      },
    ).catch(() => {});
  }

  /**
   * The end of the oldest batch sent whose end has not been taken yet; null when `timeoutMs` passes
   * first (that batch's end is then the next one taken).
   */
  async end(timeoutMs?: number): Promise<BatchEnd | null> {
    const deadline = new AbortController();
    let late = false;
    if (timeoutMs !== undefined)
      this.opts.clock.sleep(timeoutMs, deadline.signal).then(
        () => {
          late = true;
          this.wake?.();
        },
        () => {},
      );
    try {
      while (this.ends.length === 0) {
        this.opts.signal.throwIfAborted();
        if (late) return null;
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.opts.signal.addEventListener('abort', () => resolve(), { once: true });
        });
        this.wake = null;
      }
    } finally {
      deadline.abort();
    }
    this.opts.signal.throwIfAborted();
    const e = this.ends.shift() as SyncStatusEvent;
    if (e.event_id) this.old.add(e.event_id);
    const m = e.metadata ?? {};
    return {
      stage: e.stage as BatchEnd['stage'],
      error: e.error ?? null,
      recordsSaved: num(m.records_saved),
      workoutsSaved: num(m.workouts_saved),
      sleepSaved: num(m.sleep_saved),
      droppedCount: num(m.dropped_count),
      itemsProcessed: e.items_processed ?? null,
    };
  }

  /** Closes the stream; resolves once the follow loop has returned. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await this.following;
  }
}
