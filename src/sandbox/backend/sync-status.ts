import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { requireApiKeyOrJwt } from './auth.js';
import type { BackendContext, RouteHandler } from './context.js';
import { HttpError, sendJson } from './respond.js';
import type { BackendState, SyncStatusEvent } from './state.js';
import { findUser } from './users.js';
import { boundedInt, requireUuid } from './validation.js';

/** Contract §4.1: at most 200 events per user, kept 24 h. */
const MAX_EVENTS_PER_USER = 200;
const EVENT_TTL_MS = 24 * 60 * 60 * 1000;

export type SyncEventInput = Omit<SyncStatusEvent, 'event_id' | 'timestamp'>;

function frame(event: SyncStatusEvent): string {
  return `event: sync.status\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Stores sync events per user and fans them out to open SSE streams. */
export class SyncHub {
  private readonly streams = new Map<string, Set<ServerResponse>>();

  constructor(
    private readonly state: BackendState,
    private readonly now: () => number,
  ) {}

  emit(input: SyncEventInput): SyncStatusEvent {
    const event: SyncStatusEvent = {
      ...input,
      event_id: randomUUID(),
      timestamp: new Date(this.now()).toISOString(),
    };
    const list = this.state.syncEvents.get(event.user_id) ?? [];
    list.push(event);
    if (list.length > MAX_EVENTS_PER_USER) list.splice(0, list.length - MAX_EVENTS_PER_USER);
    this.state.syncEvents.set(event.user_id, list);
    for (const res of this.streams.get(event.user_id) ?? []) res.write(frame(event));
    return event;
  }

  /** Unexpired events for a user, oldest first. */
  stored(userId: string): SyncStatusEvent[] {
    const cutoff = this.now() - EVENT_TTL_MS;
    return (this.state.syncEvents.get(userId) ?? []).filter((e) => Date.parse(e.timestamp) > cutoff);
  }

  subscribe(userId: string, res: ServerResponse): () => void {
    const set = this.streams.get(userId) ?? new Set();
    set.add(res);
    this.streams.set(userId, set);
    return () => set.delete(res);
  }

  /** Ends every open stream (on close). */
  endAll(): void {
    for (const set of this.streams.values()) for (const res of set) res.end();
    this.streams.clear();
  }
}

function existingUser(ctx: BackendContext, rawId: string): string {
  const id = requireUuid(rawId);
  if (!findUser(ctx, id)) throw new HttpError(404, 'User not found');
  return id;
}

/** `GET /users/{user_id}/sync/recent` — contract §4.1: newest first. */
export const recentSyncEvents: RouteHandler = (ctx, { req, res, params, query }) => {
  requireApiKeyOrJwt(ctx, req);
  const id = existingUser(ctx, params.user_id ?? '');
  const limit = boundedInt(query.get('limit') ?? 50, 1, 200);
  sendJson(res, 200, ctx.sync.stored(id).reverse().slice(0, limit));
};

/** `GET /users/{user_id}/sync/stream` — contract §4.1 SSE. */
export const syncStream: RouteHandler = (ctx, { req, res, params, query }) => {
  requireApiKeyOrJwt(ctx, req);
  const id = existingUser(ctx, params.user_id ?? '');
  const replay = boundedInt(query.get('replay') ?? 20, 1, 200);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  res.write(': connected\n\n');
  for (const event of ctx.sync.stored(id).slice(-replay)) res.write(frame(event));
  const unsubscribe = ctx.sync.subscribe(id, res);
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), ctx.sseHeartbeatMs);
  ctx.timers.add(heartbeat);
  res.on('close', () => {
    clearInterval(heartbeat);
    ctx.timers.delete(heartbeat);
    unsubscribe();
  });
};
