import type { AppContext } from '../../context.js';
import { displayName, listUsers } from '../../core/users.js';
import { UsageError } from '../../errors.js';
import { services } from '../../services.js';
import type { UsersFlags } from './command.js';

/** `users`: a table (or JSON) of the users matching the filters, across pages. */
export async function runUsers(ctx: AppContext, flags: UsersFlags): Promise<number> {
  const limit = Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new UsageError(`--limit must be a whole number from 1 to 10000, not "${flags.limit}".`);
  }
  const { api, session } = services(ctx);
  const { items, total } = await listUsers(
    { api, session, signal: ctx.signal },
    { search: flags.search, email: flags.email, limit },
  );
  if (ctx.globals.json) {
    ctx.out.json(items);
    return 0;
  }
  if (items.length === 0) {
    ctx.out.info('No users found.');
    return 0;
  }
  const rows = items.map((u) => [u.id, u.email ?? '', displayName(u), u.last_synced_at ?? '']);
  const header = ['ID', 'EMAIL', 'NAME', 'LAST SYNC'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  if (ctx.io.stdoutIsTTY) ctx.out.data(ctx.out.theme.bold(line(header)));
  for (const r of rows) ctx.out.data(line(r));
  if (total > items.length)
    ctx.out.info(`showing ${items.length} of ${total}; use --limit or --search to see others`);
  return 0;
}
