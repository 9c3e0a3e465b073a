import { randomUUID } from 'node:crypto';
import { requireApiKeyOrJwt } from './auth.js';
import type { BackendContext, RouteHandler } from './context.js';
import { isoAt } from './context.js';
import { HttpError, readJsonObject, sendJson } from './respond.js';
import type { UserRead } from './state.js';
import { boundedInt, literal, optionalString, requireUuid } from './validation.js';

const SORT_FIELDS = ['created_at', 'email', 'first_name', 'last_name', 'last_synced_at'] as const;
const SORT_ORDERS = ['asc', 'desc'] as const;

/** Adds a user, filling unset `UserRead` fields the way a fresh row looks. */
export function addUser(ctx: BackendContext, fields: Partial<UserRead>): UserRead {
  const user: UserRead = {
    id: randomUUID(),
    created_at: isoAt(ctx.now()),
    first_name: null,
    last_name: null,
    email: null,
    external_user_id: null,
    last_synced_at: null,
    last_synced_provider: null,
    has_active_connection: false,
    ...fields,
  };
  ctx.state.users.push(user);
  return user;
}

/** A user by canonical UUID. */
export function findUser(ctx: BackendContext, id: string): UserRead | undefined {
  return ctx.state.users.find((u) => u.id === id);
}

function compare(a: string | null, b: string | null): number {
  // Postgres puts NULLs last in ascending order and first in descending; the caller's reversal keeps that.
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

/** `GET /users` — contract §1.9 `OldPaginatedResponse`. */
export const listUsers: RouteHandler = (ctx, { req, res, query }) => {
  requireApiKeyOrJwt(ctx, req);
  const page = boundedInt(query.get('page') ?? 1, 1, null);
  const limit = boundedInt(query.get('limit') ?? 20, 1, 100);
  const sortBy = literal(query.get('sort_by') ?? 'created_at', SORT_FIELDS);
  const sortOrder = literal(query.get('sort_order') ?? 'desc', SORT_ORDERS);
  const search = query.get('search')?.toLowerCase();
  const email = query.get('email');
  const externalId = query.get('external_user_id');

  let users = ctx.state.users.filter((u) => {
    if (email !== null && u.email !== email) return false;
    if (externalId !== null && u.external_user_id !== externalId) return false;
    if (search) {
      const fields = [u.email, u.first_name, u.last_name];
      if (!fields.some((f) => f?.toLowerCase().includes(search))) return false;
    }
    return true;
  });
  users = users
    .map((u, i) => ({ u, i }))
    .sort((x, y) => {
      const c = compare(x.u[sortBy], y.u[sortBy]) || x.i - y.i;
      return sortOrder === 'asc' ? c : -c;
    })
    .map((x) => x.u);

  const total = users.length;
  const pages = Math.ceil(total / limit);
  sendJson(res, 200, {
    items: users.slice((page - 1) * limit, page * limit),
    total,
    page,
    limit,
    pages,
    has_next: page < pages,
    has_prev: page > 1,
  });
};

function validEmail(value: string): string {
  // email-validator's wording as surfaced by pydantic's EmailStr.
  const at = value.indexOf('@');
  if (at < 0)
    throw new HttpError(400, 'value is not a valid email address: An email address must have an @-sign.');
  if (at === 0) {
    throw new HttpError(
      400,
      'value is not a valid email address: There must be something before the @-sign.',
    );
  }
  const domain = value.slice(at + 1);
  if (!/^[^@\s]+\.[^@\s.]+$/.test(domain)) {
    throw new HttpError(
      400,
      'value is not a valid email address: The part after the @-sign is not valid. It should have a period.',
    );
  }
  return value;
}

/** `POST /users` — contract §1.9: 201, 409 on an existing email. */
export const createUser: RouteHandler = async (ctx, { req, res }) => {
  requireApiKeyOrJwt(ctx, req);
  const body = await readJsonObject(req);
  const first_name = optionalString(body.first_name, 100);
  const last_name = optionalString(body.last_name, 100);
  const rawEmail = optionalString(body.email, 320);
  const email = rawEmail === null ? null : validEmail(rawEmail);
  const external_user_id = optionalString(body.external_user_id, 255);
  if (email !== null && ctx.state.users.some((u) => u.email === email)) {
    throw new HttpError(409, 'User with this email already exists.');
  }
  if (external_user_id !== null && ctx.state.users.some((u) => u.external_user_id === external_user_id)) {
    throw new HttpError(
      400,
      `User entity already exists. Details: Key (external_user_id)=(${external_user_id}) already exists.`,
    );
  }
  sendJson(res, 201, addUser(ctx, { first_name, last_name, email, external_user_id }));
};

/** `GET /users/{user_id}` — contract §1.9. */
export const getUser: RouteHandler = (ctx, { req, res, params }) => {
  requireApiKeyOrJwt(ctx, req);
  const id = requireUuid(params.user_id ?? '');
  const user = findUser(ctx, id);
  if (!user) throw new HttpError(404, `User with ID: ${id} not found.`);
  sendJson(res, 200, user);
};
