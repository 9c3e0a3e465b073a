import type { Clock } from '../../adapters/clock.js';
import { isAbortError } from '../../errors.js';
import { type ConnectionState, followSyncEvents, type SyncFeed, type SyncStatusEvent } from './follow.js';

/**
 * The fate of what an upload sent, from the sync-status feed (contract §4, §9.11): the only way to learn
 * it. It follows the feed (follow.ts) from before the first upload, so no event can be missed, and when
 * the stream keeps failing it polls `/sync/recent` instead: a `--wait` needs an answer more than a live
 * stream. Only watched keys are kept (bounded memory); what names an event is `match` (by default the
 * batch file, contract §4.3).
 */

export type { SyncFeed };

export type BatchStage = 'queued' | 'started' | 'completed' | 'failed';

export interface BatchFate {
  filename: string;
  stage: BatchStage;
  itemsProcessed: number | null;
  error: string | null;
}

export interface TrackerOptions {
  clock: Clock;
  signal: AbortSignal;
  /** Stream failures in a row before switching to polling. */
  maxStreamFailures?: number;
  pollIntervalMs?: number;
  /** The watched key an event is about, or null (default: filenameOf). */
  match?(event: SyncStatusEvent): string | null;
  onEvent?(fate: BatchFate, event: SyncStatusEvent): void;
  onConnection?(state: ConnectionState, detail?: string): void;
}

/** Matching rule of contract §4.3: an xml_import event naming our file. */
export function filenameOf(event: SyncStatusEvent): string | null {
  if (event.source !== 'xml_import') return null;
  const name = event.metadata?.filename;
  return typeof name === 'string' ? name : null;
}

/** As many stored events as the server keeps per user (contract §4.1). */
const MAX_REPLAY = 200;

/**
 * One look at the stored events (`/sync/recent`) for an xml_import event naming one of `names`: how a
 * batch whose answer was lost is found to have reached the server. An unreachable feed is a miss, so the
 * caller keeps looking or sends the batch again.
 */
export async function feedNames(
  recent: SyncFeed['recent'],
  names: ReadonlySet<string>,
  signal: AbortSignal,
): Promise<boolean> {
  try {
    const events = await recent(MAX_REPLAY, signal);
    return events.some((e) => names.has(filenameOf(e) ?? ''));
  } catch (err) {
    if (signal.aborted || isAbortError(err)) throw err;
    return false;
  }
}

export class SyncTracker {
  private readonly fates = new Map<string, BatchFate>();
  private readonly waiters = new Map<string, (f: BatchFate) => void>();
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private running: Promise<void> | null = null;
  private readonly firstConnection: Promise<void>;
  private markConnected: () => void = () => {};

  constructor(
    private readonly feed: SyncFeed,
    private readonly opts: TrackerOptions,
  ) {
    this.signal = AbortSignal.any([opts.signal, this.controller.signal]);
    this.firstConnection = new Promise((resolve) => {
      this.markConnected = resolve;
    });
  }

  /** Starts following; resolves once the stream is open (or polling has taken over). */
  async start(): Promise<void> {
    this.running ??= followSyncEvents(
      this.feed,
      {
        clock: this.opts.clock,
        signal: this.signal,
        replay: MAX_REPLAY,
        maxFailures: this.opts.maxStreamFailures ?? 5,
        whenDown: 'poll',
        ...(this.opts.pollIntervalMs !== undefined ? { pollIntervalMs: this.opts.pollIntervalMs } : {}),
        onConnection: (state, detail) => {
          if (state === 'connected' || state === 'polling') this.markConnected();
          this.opts.onConnection?.(state, detail);
        },
      },
      (event) => this.ingest(event),
    ).catch(() => {});
    await Promise.race([this.firstConnection, this.running]);
  }

  stop(): void {
    this.controller.abort();
    for (const [, resolve] of this.waiters)
      resolve({ filename: '', stage: 'queued', itemsProcessed: null, error: null });
    this.waiters.clear();
  }

  /** Registers a file we are about to send; only watched files are tracked (bounded memory). */
  watch(filename: string): void {
    if (!this.fates.has(filename))
      this.fates.set(filename, { filename, stage: 'queued', itemsProcessed: null, error: null });
  }

  fate(filename: string): BatchFate | undefined {
    return this.fates.get(filename);
  }

  /** Resolves with the completed/failed fate of a watched file. */
  terminal(filename: string): Promise<BatchFate> {
    const fate = this.fates.get(filename);
    if (fate && (fate.stage === 'completed' || fate.stage === 'failed')) return Promise.resolve(fate);
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(this.opts.signal.reason ?? new Error('aborted'));
      if (this.opts.signal.aborted) return onAbort();
      this.opts.signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(filename, (f) => {
        this.opts.signal.removeEventListener('abort', onAbort);
        resolve(f);
      });
    });
  }

  /** Drops a finished file from memory. */
  forget(filename: string): void {
    this.fates.delete(filename);
  }

  private ingest(event: SyncStatusEvent): void {
    const key = (this.opts.match ?? filenameOf)(event);
    if (key === null) return;
    const fate = this.fates.get(key);
    if (!fate) return;
    const stage = event.stage === 'completed' || event.stage === 'failed' ? event.stage : 'started';
    // Replays can deliver an older event after a newer one: never move a terminal fate backwards.
    if (fate.stage === 'completed' || fate.stage === 'failed') return;
    fate.stage = stage;
    if (event.items_processed !== undefined && event.items_processed !== null)
      fate.itemsProcessed = event.items_processed;
    if (event.error) fate.error = event.error;
    this.opts.onEvent?.({ ...fate }, event);
    if (stage === 'completed' || stage === 'failed') {
      const resolve = this.waiters.get(key);
      this.waiters.delete(key);
      resolve?.({ ...fate });
    }
  }
}
