import { recentSyncEvents, type SyncStatusEvent, syncEventStream } from '../../adapters/sync-api.js';
import type { AppContext } from '../../context.js';
import { requireUser } from '../../core/users.js';
import { isAbortError, UsageError } from '../../errors.js';
import { services } from '../../services.js';
import type { StatusFlags } from './command.js';

function line(e: SyncStatusEvent): string {
  const file = typeof e.metadata?.filename === 'string' ? ` ${e.metadata.filename}` : '';
  const items = e.items_processed == null ? '' : ` items=${e.items_processed}`;
  const error = e.error ? ` error: ${e.error}` : '';
  return `${e.timestamp ?? ''}  ${e.source ?? ''}/${e.provider ?? ''}  ${e.stage}${file}${items}${error}`.trim();
}

/** `status`: the user's recent sync-status events (contract §4.1), or a live stream of them. */
export async function runStatus(ctx: AppContext, flags: StatusFlags): Promise<number> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
    throw new UsageError(`--limit must be a whole number from 1 to 200, not "${flags.limit}".`);
  }
  const { api, session, http, settings } = services(ctx, { user: flags.user });
  const server = settings.server.value;
  const user = await requireUser(
    { api, session, server, signal: ctx.signal },
    flags.user ?? settings.user?.value,
  );
  if (!flags.follow) {
    const events = await session.call((h) => recentSyncEvents(http, h, user.id, limit, ctx.signal));
    if (ctx.globals.json) ctx.out.json(events);
    else if (events.length === 0)
      ctx.out.info('No recent events (events are kept 24 h, at most 200 per user).');
    else for (const e of [...events].reverse()) ctx.out.data(line(e));
    return 0;
  }
  // --follow: replay the last N, then stream; reconnect with backoff (replay covers the gap, deduped by id).
  const seen = new Set<string>();
  let failures = 0;
  while (!ctx.signal.aborted) {
    try {
      const headers = await session.call(async (h) => h);
      for await (const e of syncEventStream(http, headers, user.id, limit, ctx.signal, () => {
        failures = 0;
      })) {
        if (e.event_id) {
          if (seen.has(e.event_id)) continue;
          seen.add(e.event_id);
        }
        if (ctx.globals.json) ctx.io.stdout.write(`${JSON.stringify(e)}\n`);
        else ctx.out.data(line(e));
      }
    } catch (err) {
      if (ctx.signal.aborted || isAbortError(err)) break;
      if (++failures > 8) throw err;
      ctx.out.verbose(`stream dropped (${err instanceof Error ? err.message : String(err)}); reconnecting`);
    }
    try {
      await ctx.clock.sleep(Math.min(30_000, 250 * 2 ** failures), ctx.signal);
    } catch {
      break;
    }
  }
  return 130;
}
