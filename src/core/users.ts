import type { BackendApi, User } from '../adapters/backend-api.js';
import { ApiError, UsageError } from '../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Looks like an email (has an @ with something on each side), as `--user` accepts it. */
export function isEmail(value: string): boolean {
  return /^[^@\s]+@[^@\s]+$/.test(value);
}

/**
 * Checks `--user` before anything is sent: the import endpoints accept any id without checking it
 * (contract §2.1, §3.2), so a typo would import into nowhere. An email is resolved to the one user
 * who has it; what is imported into is always the id.
 */
export async function requireUser(
  deps: { users: Pick<BackendApi, 'getUser' | 'listUsers'>; server: string; signal?: AbortSignal },
  id: string | undefined,
): Promise<User> {
  if (!id) {
    throw new UsageError('No user given.', {
      hint: 'pass --user <id or email> (find it with `apple-import users --search …`) or set APPLE_IMPORT_USER',
    });
  }
  if (isEmail(id)) return userByEmail(deps, id);
  if (!isUuid(id)) {
    throw new UsageError(`--user must be a user id (a UUID) or an email, not "${id}".`, {
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

/** Most users one email can name that are listed when it names several (the rest are counted). */
const AMBIGUOUS_SHOWN = 5;

/**
 * The server's `email` filter is an exact match, so a differently cased address is looked for among the
 * users whose fields contain it; emails compare case-insensitively, which is how two users can share one.
 */
async function userByEmail(
  deps: { users: Pick<BackendApi, 'listUsers'>; server: string; signal?: AbortSignal },
  email: string,
): Promise<User> {
  let found = (await listUsers({ ...deps, signal: deps.signal }, { email, limit: 100 })).items;
  if (found.length === 0) {
    const wanted = email.toLowerCase();
    const candidates = await listUsers({ ...deps, signal: deps.signal }, { search: email, limit: 1000 });
    found = candidates.items.filter((u) => u.email?.toLowerCase() === wanted);
  }
  const [only] = found;
  if (found.length === 1 && only) return only;
  if (found.length === 0) {
    throw new UsageError(`User ${email} does not exist on ${deps.server}.`, {
      hint: 'list users with `apple-import users`',
    });
  }
  const shown = found.slice(0, AMBIGUOUS_SHOWN).map((u) => `${u.id} (${u.email})`);
  const more = found.length > AMBIGUOUS_SHOWN ? ` and ${found.length - AMBIGUOUS_SHOWN} more` : '';
  throw new UsageError(
    `${email} matches ${found.length} users on ${deps.server}: ${shown.join(', ')}${more}.`,
    {
      hint: 'pass the id of the one you mean: --user <id>',
    },
  );
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
