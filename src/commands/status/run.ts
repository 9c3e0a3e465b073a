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
  localTime?: boolean;
}

/** An ISO timestamp in this machine's time zone, with its offset: `2026-12-03 09:07:47 +01:00`. */
export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (v: number) => String(v).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ` +
    `${sign}${p(Math.floor(Math.abs(off) / 60))}:${p(Math.abs(off) % 60)}`
  );
}

function line(e: SyncStatusEvent, local: boolean): string {
  const when = e.timestamp ? (local ? localTime(e.timestamp) : e.timestamp) : '';
  const file = typeof e.metadata?.filename === 'string' ? ` ${e.metadata.filename}` : '';
  const items = e.items_processed == null ? '' : ` items=${e.items_processed}`;
  const error = e.error ? ` error: ${e.error}` : '';
  return `${when}  ${e.source ?? ''}/${e.provider ?? ''}  ${e.stage}${file}${items}${error}`.trim();
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
    // As they happened, oldest first, in text and JSON alike (and as --follow prints them).
    const inOrder = [...events].reverse();
    if (f.globals.json) f.out.json(inOrder);
    else if (events.length === 0)
      f.out.info('No recent events (events are kept 24 h, at most 200 per user).');
    else for (const e of inOrder) f.out.data(line(e, Boolean(flags.localTime)));
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
      else f.out.data(line(e, Boolean(flags.localTime)));
    },
  );
  // Only Ctrl-C ends a follow that has not failed.
  return ExitCode.INTERRUPTED;
}
