import type { BackendApi, User } from '../adapters/backend-api.js';
import { ApiError, UsageError } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Checks `--user` before anything is sent: the import endpoints accept any id without checking it
 * (contract §2.1, §3.2), so a typo would import into nowhere.
 */
export async function requireUser(
  deps: { users: Pick<BackendApi, 'getUser'>; server: string; signal?: AbortSignal },
  id: string | undefined,
): Promise<User> {
  if (!id) {
    throw new UsageError('No user given.', {
      hint: 'pass --user <id> (find it with `apple-import users --search …`) or set APPLE_IMPORT_USER',
    });
  }
  if (!isUuid(id)) {
    throw new UsageError(`--user must be a user id (a UUID), not "${id}".`, {
      hint: 'find the id with `apple-import users --search …`',
    });
  }
  try {
    return await deps.users.getUser({ id, signal: deps.signal });
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new UsageError(`User ${id} does not exist on ${deps.server}.`, {
        hint: 'list users with `apple-import users`',
        cause: err,
      });
    }
    throw err;
  }
}

export interface ListUsersOptions {
  search?: string;
  email?: string;
  /** How many users to return in all; pages are fetched until this many or none are left. */
  limit: number;
}

/** Lists users across pages (contract §1.9: page-numbered, at most 100 per page). */
export async function listUsers(
  deps: { users: Pick<BackendApi, 'listUsers'>; signal?: AbortSignal },
  opts: ListUsersOptions,
): Promise<{ items: User[]; total: number }> {
  const items: User[] = [];
  let total = 0;
  const pageSize = Math.min(100, Math.max(1, opts.limit));
  for (let page = 1; items.length < opts.limit; page += 1) {
    const res = await deps.users.listUsers({
      query: { page, limit: pageSize, search: opts.search, email: opts.email },
      signal: deps.signal,
    });
    total = res.total;
    items.push(...res.items.slice(0, opts.limit - items.length));
    const more = res.has_next ?? page * res.limit < res.total;
    if (!more || res.items.length === 0) break;
  }
  return { items, total };
}

export function displayName(u: Pick<User, 'first_name' | 'last_name'>): string {
  return [u.first_name, u.last_name].filter(Boolean).join(' ');
}
