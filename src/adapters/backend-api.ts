import { z } from '../vendor/zod.js';
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

/**
 * `GET /users/{id}/summaries/data` (contract §4.5): what a user has stored, counted. The only count an S3
 * import leaves where its events carry none; only the totals and the per-series counts are read.
 */
export const dataSummarySchema = z.object({
  total_data_points: z.number(),
  total_workouts: z.number(),
  total_sleep_events: z.number(),
  series_type_counts: z.record(z.string(), z.number()).default({}),
  workout_type_counts: z.record(z.string(), z.number()).default({}),
});
export type DataSummary = z.infer<typeof dataSummarySchema>;

export interface ListUsersQuery {
  page?: number;
  limit?: number;
  search?: string;
  email?: string;
  sort_by?: string;
  sort_order?: 'asc' | 'desc';
}

/** Every request carries its signal (the run's interrupt, or a request's own). */
interface Signalled {
  signal?: AbortSignal;
}

/**
 * The routes that take no credential, or one given explicitly: login, refresh and revoke (contract
 * §1.1–1.4), and the proof that a key works before it is stored.
 */
export class AuthApi {
  constructor(private readonly http: HttpClient) {}

  /** contract §1.1: form body, `username` is the email. */
  login(req: { email: string; password: string } & Signalled): Promise<TokenResponse> {
    return this.http.json(
      {
        method: 'POST',
        path: `${API}/auth/login`,
        form: { username: req.email, password: req.password },
        signal: req.signal,
      },
      tokenResponseSchema,
    );
  }

  /** contract §1.3: not under /auth; rotates the refresh token. */
  refresh(req: { refreshToken: string } & Signalled): Promise<TokenResponse> {
    return this.http.json(
      {
        method: 'POST',
        path: `${API}/token/refresh`,
        json: { refresh_token: req.refreshToken },
        signal: req.signal,
      },
      tokenResponseSchema,
    );
  }

  revoke(req: { refreshToken: string } & Signalled): Promise<void> {
    return this.http.empty({
      method: 'POST',
      path: `${API}/token/revoke`,
      json: { refresh_token: req.refreshToken },
      signal: req.signal,
      headersTimeoutMs: 10_000,
    });
  }

  /** contract §9.1: an API key cannot call /auth/me; an authorised GET /users?limit=1 is the cheap check. */
  async checkApiKey(req: { apiKey: string } & Signalled): Promise<void> {
    await this.http.json(
      {
        method: 'GET',
        path: `${API}/users`,
        query: { page: 1, limit: 1 },
        headers: { 'x-open-wearables-api-key': req.apiKey },
        signal: req.signal,
      },
      userPageSchema,
    );
  }
}

/** The developer's and the users' routes, on a client that carries the credential. */
export class BackendApi {
  constructor(private readonly http: HttpClient) {}

  me(req: Signalled = {}): Promise<Developer> {
    return this.http.json({ method: 'GET', path: `${API}/auth/me`, signal: req.signal }, developerSchema);
  }

  listUsers(req: { query: ListUsersQuery } & Signalled): Promise<UserPage> {
    return this.http.json(
      { method: 'GET', path: `${API}/users`, query: { ...req.query }, signal: req.signal },
      userPageSchema,
    );
  }

  getUser(req: { id: string } & Signalled): Promise<User> {
    return this.http.json(
      { method: 'GET', path: `${API}/users/${encodeURIComponent(req.id)}`, signal: req.signal },
      userSchema,
    );
  }

  dataSummary(req: { id: string } & Signalled): Promise<DataSummary> {
    return this.http.json(
      {
        method: 'GET',
        path: `${API}/users/${encodeURIComponent(req.id)}/summaries/data`,
        signal: req.signal,
      },
      dataSummarySchema,
    );
  }
}
