import { z } from 'zod';
import type { HttpClient } from './http.js';

const API = '/api/v1';

/** contract §1.1 TokenResponse */
export const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  refresh_token: z.string().min(1).optional(),
  expires_in: z.number().optional(),
});
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/** contract §1.4 DeveloperRead */
export const developerSchema = z.object({
  id: z.string(),
  email: z.string(),
  first_name: z.string().nullable().optional(),
  last_name: z.string().nullable().optional(),
  created_at: z.string().optional(),
  updated_at: z.string().optional(),
});
export type Developer = z.infer<typeof developerSchema>;

/** contract §1.9 UserRead */
export const userSchema = z.object({
  id: z.string(),
  created_at: z.string().nullable().optional(),
  first_name: z.string().nullable().optional(),
  last_name: z.string().nullable().optional(),
  email: z.string().nullable().optional(),
  external_user_id: z.string().nullable().optional(),
  last_synced_at: z.string().nullable().optional(),
  last_synced_provider: z.string().nullable().optional(),
  has_active_connection: z.boolean().nullable().optional(),
});
export type User = z.infer<typeof userSchema>;

/** contract §1.9 OldPaginatedResponse */
export const userPageSchema = z.object({
  items: z.array(userSchema),
  total: z.number(),
  page: z.number(),
  limit: z.number(),
  pages: z.number().optional(),
  has_next: z.boolean().optional(),
  has_prev: z.boolean().optional(),
});
export type UserPage = z.infer<typeof userPageSchema>;

export type AuthHeaders = Record<string, string>;

export interface ListUsersQuery {
  page?: number;
  limit?: number;
  search?: string;
  email?: string;
  sort_by?: string;
  sort_order?: 'asc' | 'desc';
}

/** Typed backend endpoints; each takes the auth headers it needs (none for login/refresh/revoke). */
export class BackendApi {
  constructor(readonly http: HttpClient) {}

  /** contract §1.1: form body, `username` is the email. */
  login(email: string, password: string, signal?: AbortSignal): Promise<TokenResponse> {
    return this.http.json(
      { method: 'POST', path: `${API}/auth/login`, form: { username: email, password }, signal },
      tokenResponseSchema,
    );
  }

  /** contract §1.3: not under /auth; rotates the refresh token. */
  refresh(refreshToken: string, signal?: AbortSignal): Promise<TokenResponse> {
    return this.http.json(
      { method: 'POST', path: `${API}/token/refresh`, json: { refresh_token: refreshToken }, signal },
      tokenResponseSchema,
    );
  }

  revoke(refreshToken: string, signal?: AbortSignal): Promise<void> {
    return this.http.empty({
      method: 'POST',
      path: `${API}/token/revoke`,
      json: { refresh_token: refreshToken },
      signal,
      headersTimeoutMs: 10_000,
    });
  }

  me(auth: AuthHeaders, signal?: AbortSignal): Promise<Developer> {
    return this.http.json({ method: 'GET', path: `${API}/auth/me`, headers: auth, signal }, developerSchema);
  }

  listUsers(auth: AuthHeaders, query: ListUsersQuery, signal?: AbortSignal): Promise<UserPage> {
    return this.http.json(
      { method: 'GET', path: `${API}/users`, query: { ...query }, headers: auth, signal },
      userPageSchema,
    );
  }

  getUser(auth: AuthHeaders, id: string, signal?: AbortSignal): Promise<User> {
    return this.http.json(
      { method: 'GET', path: `${API}/users/${encodeURIComponent(id)}`, headers: auth, signal },
      userSchema,
    );
  }
}
