import { intFlag } from '../../config/flags.js';
import type { SyncStatusEvent } from '../../core/sync/follow.js';
import { followEvents, recentEvents, type StatusPorts } from '../../core/sync/status.js';
import { ExitCode } from '../../errors.js';
import type { Factory } from '../../factory.js';

/** The flags as commander hands them over (strings), before run() checks them. */
export interface StatusFlags {
  user?: string;
  follow?: boolean;
  limit?: string;
}

function line(e: SyncStatusEvent): string {
  const file = typeof e.metadata?.filename === 'string' ? ` ${e.metadata.filename}` : '';
  const items = e.items_processed == null ? '' : ` items=${e.items_processed}`;
  const error = e.error ? ` error: ${e.error}` : '';
  return `${e.timestamp ?? ''}  ${e.source ?? ''}/${e.provider ?? ''}  ${e.stage}${file}${items}${error}`.trim();
}

/** `status`: the user's recent sync-status events (contract §4.1), or a live stream of them. */
export async function runStatus(f: Factory, flags: StatusFlags): Promise<number> {
  const limit = intFlag('--limit', flags.limit, { min: 1, max: 200 }, 20);
  const settings = f.settings({ user: flags.user });
  const user = settings.user?.value;
  const ports: StatusPorts = {
    users: f.backend(),
    feed: (userId) => f.syncFeed(userId),
    server: settings.server.value,
    clock: f.clock,
    signal: f.signal,
  };
  if (!flags.follow) {
    const { events } = await recentEvents(ports, { user, limit });
    if (f.globals.json) f.out.json(events);
    else if (events.length === 0)
      f.out.info('No recent events (events are kept 24 h, at most 200 per user).');
    else for (const e of [...events].reverse()) f.out.data(line(e));
    return ExitCode.OK;
  }
  // One JSON document per line with --json: a stream has no end to close one document with.
  await followEvents(
    ports,
    {
      user,
      replay: limit,
      onConnection: (state, detail) => {
        if (state === 'reconnecting') f.out.verbose(`stream dropped (${detail ?? 'closed'}); reconnecting`);
      },
    },
    (e) => {
      if (f.globals.json) f.io.stdout.write(`${f.redactor.redact(JSON.stringify(e))}\n`);
      else f.out.data(line(e));
    },
  );
  // Only Ctrl-C ends a follow that has not failed.
  return ExitCode.INTERRUPTED;
}
