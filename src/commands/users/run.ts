import { intFlag } from '../../config/flags.js';
import { displayName, listUsers } from '../../core/users.js';
import type { Factory } from '../../factory.js';

/** The flags as commander hands them over (strings), before run() checks them. */
export interface UsersFlags {
  search?: string;
  email?: string;
  limit?: string;
}

/** `users`: a table (or JSON) of the users matching the filters, across pages. */
export async function runUsers(f: Factory, flags: UsersFlags): Promise<number> {
  const limit = intFlag('--limit', flags.limit, { min: 1, max: 10_000 }, 20);
  const { items, total } = await listUsers(
    { users: f.backend(), signal: f.signal },
    { search: flags.search, email: flags.email, limit },
  );
  if (f.globals.json) {
    f.out.json(items);
    return 0;
  }
  if (items.length === 0) {
    f.out.info('No users found.');
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
  if (f.io.stdoutIsTTY) f.out.data(f.out.dataTheme.bold(line(header)));
  for (const r of rows) f.out.data(line(r));
  if (total > items.length)
    f.out.info(`showing ${items.length} of ${total}; use --limit or --search to see others`);
  return 0;
}
