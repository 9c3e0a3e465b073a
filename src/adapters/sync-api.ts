import { z } from '../vendor/zod.js';
import type { HttpClient } from './http.js';

/** Contract §4.2 `SyncStatusEvent`; unknown fields are kept, missing optional ones tolerated. */
export const syncStatusEventSchema = z
  .object({
    event_id: z.string().optional(),
    run_id: z.string().nullish(),
    user_id: z.string().nullish(),
    provider: z.string().nullish(),
    source: z.string().nullish(),
    stage: z.string(),
    status: z.string().nullish(),
    message: z.string().nullish(),
    progress: z.number().nullish(),
    items_processed: z.number().nullish(),
    items_total: z.number().nullish(),
    error: z.string().nullish(),
    metadata: z.record(z.string(), z.unknown()).nullish(),
    started_at: z.string().nullish(),
    ended_at: z.string().nullish(),
    timestamp: z.string().nullish(),
  })
  .loose();
export type SyncStatusEvent = z.infer<typeof syncStatusEventSchema>;

const userPath = (userId: string) => `/api/v1/users/${encodeURIComponent(userId)}/sync`;

/** The sync-status routes (contract §4), on a client that carries the credential. */
export class SyncApi {
  constructor(private readonly http: HttpClient) {}

  /** `GET /users/{id}/sync/recent?limit=N` — newest first, at most 200 kept per user (§4.1). */
  recent(req: { userId: string; limit: number; signal?: AbortSignal }): Promise<SyncStatusEvent[]> {
    return this.http.json(
      {
        method: 'GET',
        path: `${userPath(req.userId)}/recent`,
        query: { limit: req.limit },
        signal: req.signal,
      },
      z.array(syncStatusEventSchema),
    );
  }

  /**
   * `GET /users/{id}/sync/stream?replay=N` as an async iterable of events (§4.1). Comments (`: connected`,
   * heartbeats) are skipped; a frame that is not a valid event is skipped rather than ending the stream.
   * Ends when the server closes the connection; throws on transport errors.
   */
  async *stream(req: {
    userId: string;
    replay: number;
    signal?: AbortSignal;
    /** Called once the server has accepted the stream (before any event). */
    onOpen?: () => void;
  }): AsyncGenerator<SyncStatusEvent> {
    const res = await this.http.stream({
      method: 'GET',
      path: `${userPath(req.userId)}/stream`,
      query: { replay: req.replay },
      headers: { accept: 'text/event-stream' },
      signal: req.signal,
      // Heartbeats come every 15 s; a silent minute means the stream is dead.
      bodyTimeoutMs: 60_000,
    });
    req.onOpen?.();
    let buffer = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        buffer = buffer.replace(/\r\n?/g, '\n');
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseFrame(frame);
          if (event) yield event;
          end = buffer.indexOf('\n\n');
        }
      }
    } finally {
      res.body.destroy();
    }
  }
}

function parseFrame(frame: string): SyncStatusEvent | null {
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length === 0) return null;
  try {
    const parsed = syncStatusEventSchema.safeParse(JSON.parse(data.join('\n')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
