import type { Command } from 'commander';
import { displayName, listUsers } from '../core/users.js';
import { UsageError } from '../errors.js';
import type { RunState } from '../program.js';
import { services } from '../services.js';
import type { RegisterCommand } from './index.js';

interface UsersFlags {
  search?: string;
  email?: string;
  limit: string;
}

export const registerUsers: RegisterCommand = (program: Command, state: RunState) => {
  program
    .command('users')
    .description('list users on the backend, to find the id to import into')
    .option('--search <text>', 'case-insensitive match on email, first or last name')
    .option('--email <email>', 'exact email')
    .option('--limit <n>', 'how many users to show (pages through the server)', '20')
    .addHelpText(
      'after',
      '\nExamples:\n  $ apple-import users --search dana\n  $ apple-import users --email dana@example.com --json',
    )
    .action(
      state.action(async (ctx, flags: UsersFlags) => {
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
      }),
    );
};
