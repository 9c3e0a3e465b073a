import type { Clock } from '../../adapters/clock.js';
import type { SyncStatusEvent } from '../../adapters/sync-api.js';
import { isAbortError } from '../../errors.js';

/**
 * Follows the sync-status feed for our batch files (contract §4, §9.11): the only way to learn a
 * batch's fate. SSE first (opened before the first upload, replaying what it missed on reconnect);
 * after repeated stream failures it polls `/sync/recent` instead.
 */

export interface SyncFeed {
  /** `onOpen` is called once the server has accepted the stream (before any event). */
  stream(replay: number, signal: AbortSignal, onOpen: () => void): AsyncIterable<SyncStatusEvent>;
  recent(limit: number, signal: AbortSignal): Promise<SyncStatusEvent[]>;
}

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
  onEvent?(fate: BatchFate, event: SyncStatusEvent): void;
  onConnection?(state: 'connected' | 'reconnected' | 'reconnecting' | 'polling', detail?: string): void;
}

/** Matching rule of contract §4.3: an xml_import event naming our file. */
export function filenameOf(event: SyncStatusEvent): string | null {
  if (event.source !== 'xml_import') return null;
  const name = event.metadata?.filename;
  return typeof name === 'string' ? name : null;
}

const MAX_REPLAY = 200;

export class SyncTracker {
  private readonly fates = new Map<string, BatchFate>();
  private readonly waiters = new Map<string, (f: BatchFate) => void>();
  private readonly seenEvents = new Set<string>();
  private readonly controller = new AbortController();
  private readonly signal: AbortSignal;
  private running: Promise<void> | null = null;
  private firstConnection: Promise<void>;
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
    this.running ??= this.loop().catch(() => {});
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
    const filename = filenameOf(event);
    if (filename === null) return;
    const fate = this.fates.get(filename);
    if (!fate) return;
    if (event.event_id) {
      if (this.seenEvents.has(event.event_id)) return;
      this.seenEvents.add(event.event_id);
    }
    const stage = event.stage === 'completed' || event.stage === 'failed' ? event.stage : 'started';
    // Replays can deliver an older event after a newer one: never move a terminal fate backwards.
    if (fate.stage === 'completed' || fate.stage === 'failed') return;
    fate.stage = stage;
    if (event.items_processed !== undefined && event.items_processed !== null)
      fate.itemsProcessed = event.items_processed;
    if (event.error) fate.error = event.error;
    this.opts.onEvent?.({ ...fate }, event);
    if (stage === 'completed' || stage === 'failed') {
      const resolve = this.waiters.get(filename);
      this.waiters.delete(filename);
      resolve?.({ ...fate });
    }
  }

  private async loop(): Promise<void> {
    const maxFailures = this.opts.maxStreamFailures ?? 5;
    let failures = 0;
    while (!this.signal.aborted && failures < maxFailures) {
      try {
        const opened = () => {
          failures = 0;
          this.connected();
        };
        for await (const event of this.feed.stream(MAX_REPLAY, this.signal, opened)) this.ingest(event);
        // A clean close: reconnect (replay covers the gap).
        failures++;
        this.opts.onConnection?.('reconnecting', 'the server closed the stream');
      } catch (err) {
        if (this.signal.aborted || isAbortError(err)) return;
        failures++;
        this.opts.onConnection?.('reconnecting', err instanceof Error ? err.message : String(err));
      }
      if (this.signal.aborted) return;
      await this.sleep(Math.min(30_000, 250 * 2 ** failures));
    }
    if (this.signal.aborted) return;
    this.opts.onConnection?.('polling');
    this.markConnected();
    await this.poll();
  }

  private connectedOnce = false;
  private connected(): void {
    if (!this.connectedOnce) this.markConnected();
    this.opts.onConnection?.(this.connectedOnce ? 'reconnected' : 'connected');
    this.connectedOnce = true;
  }

  /** Polls the stored events (newest first) while anything is still open. */
  private async poll(): Promise<void> {
    const interval = this.opts.pollIntervalMs ?? 5_000;
    while (!this.signal.aborted) {
      try {
        const events = await this.feed.recent(MAX_REPLAY, this.signal);
        for (const event of events.reverse()) this.ingest(event);
      } catch (err) {
        if (this.signal.aborted || isAbortError(err)) return;
      }
      await this.sleep(interval);
    }
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await this.opts.clock.sleep(ms, this.signal);
    } catch {
      // aborted: the loop checks the signal
    }
  }
}
