import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Dispatcher, errors } from 'undici';
import { ApiError, AppError } from '../errors.js';
import type { z } from '../vendor/zod.js';
import { closeBaselineWindow, openBaselineWindow } from '../wasm-tiering.js';

/**
 * undici's request API, its global dispatcher (an Agent) and its error classes, loaded from their own
 * files (undici is pinned to one version) on the first request: the package's index loads fetch,
 * WebSocket, caches and mocks besides, which would triple what every command's start-up spends on it,
 * and a command that makes no request (validate) loads none of it. Dispatchers made from the full
 * package (tests) share these same modules.
 */
interface Undici {
  request(this: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  getGlobalDispatcher(): Dispatcher;
  errors: typeof errors;
}
let undici: Undici | undefined;
function loadUndici(): Undici {
  if (undici) return undici;
  // undici compiles its HTTP parser (WebAssembly) at the first connection: at the baseline tier, so
  // that no exit waits for its optimisation (wasm-tiering.ts).
  openBaselineWindow();
  const connected = (): void => {
    closeBaselineWindow();
    unsubscribe('undici:client:connected', connected);
    unsubscribe('undici:client:connectError', connected);
  };
  subscribe('undici:client:connected', connected);
  subscribe('undici:client:connectError', connected);
  const load = createRequire(import.meta.url);
  undici = {
    request: load('undici/lib/api/api-request.js') as Undici['request'],
    getGlobalDispatcher: (load('undici/lib/global.js') as Pick<Undici, 'getGlobalDispatcher'>)
      .getGlobalDispatcher,
    errors: load('undici/lib/core/errors.js') as typeof errors,
  };
  return undici;
}

/**
 * Puts credentials on requests: `call` runs `fn` with the auth headers, and may run it once more after a
 * 401 with fresh ones (core/auth/session.ts), so a request must be one that can be made again.
 */
export interface Authorizer {
  call<T>(fn: (headers: Record<string, string>) => Promise<T>): Promise<T>;
}

export interface HttpClientOptions {
  baseUrl: string;
  dispatcher?: Dispatcher;
  signal?: AbortSignal;
  userAgent: string;
  /** Time to wait for response headers; uploads set their own. */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  debug?: (message: string) => void;
  /** Credentials for every request of this client (none: an anonymous client, for login and refresh). */
  auth?: Authorizer;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the base URL (e.g. /api/v1/users) or an absolute URL. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  form?: Record<string, string>;
  /** A stream is read once: give a function that makes it, so an authorised retry gets a fresh one. */
  body?: Buffer | string | (() => Readable);
  signal?: AbortSignal;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** The one undici wrapper: base URL, credentials, bodies, timeouts, status → ApiError, zod-checked JSON. */
export class HttpClient {
  constructor(private readonly opts: HttpClientOptions) {}

  /** The same client with credentials on every request. */
  withAuth(auth: Authorizer): HttpClient {
    return new HttpClient({ ...this.opts, auth });
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  url(path: string, query?: RequestSpec['query']): URL {
    const url = /^https?:\/\//.test(path) ? new URL(path) : new URL(this.opts.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /** Sends a request and returns its 2xx answer; non-2xx throws ApiError (network errors throw too). */
  async send(spec: RequestSpec): Promise<HttpResponse> {
    return this.authorised(spec, async (s) => {
      const res = await this.dispatch(s);
      const text = await res.body.text();
      this.opts.debug?.(`← ${res.statusCode} ${s.method} ${s.path} (${text.length} bytes)`);
      if (res.statusCode < 200 || res.statusCode >= 300)
        throw apiErrorFrom(res.statusCode, res.headers, text, s);
      return { status: res.statusCode, headers: res.headers, text };
    });
  }

  /** Opens a request and hands back the streaming body (for SSE). Non-2xx throws ApiError. */
  async stream(spec: RequestSpec): Promise<Dispatcher.ResponseData> {
    return this.authorised(spec, async (s) => {
      const res = await this.dispatch(s);
      if (res.statusCode >= 200 && res.statusCode < 300) return res;
      const text = await res.body.text();
      throw apiErrorFrom(res.statusCode, res.headers, text, s);
    });
  }

  /** Sends a request and parses a 2xx JSON answer with the schema; non-2xx throws ApiError. */
  async json<T extends z.ZodType>(spec: RequestSpec, schema: T): Promise<z.infer<T>> {
    const res = await this.send(spec);
    let body: unknown;
    try {
      body = res.text === '' ? null : JSON.parse(res.text);
    } catch (cause) {
      throw new AppError(
        'API_ERROR',
        `The server answered ${spec.method} ${spec.path} with something that is not JSON.`,
        {
          cause,
          details: res.text.slice(0, 500),
        },
      );
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new AppError('API_ERROR', `Unexpected answer from the server for ${spec.method} ${spec.path}.`, {
        hint: 'Is --server pointing at an Open Wearables backend?',
        details: parsed.error.message,
      });
    }
    return parsed.data;
  }

  /** Like json() but for endpoints answering 204 No Content. */
  async empty(spec: RequestSpec): Promise<void> {
    await this.send(spec);
  }

  private authorised<T>(spec: RequestSpec, fn: (spec: RequestSpec) => Promise<T>): Promise<T> {
    const auth = this.opts.auth;
    if (!auth) return fn(spec);
    return auth.call((headers) => fn({ ...spec, headers: { ...headers, ...spec.headers } }));
  }

  private async dispatch(spec: RequestSpec): Promise<Dispatcher.ResponseData> {
    const url = this.url(spec.path, spec.query);
    const headers: Record<string, string> = { 'user-agent': this.opts.userAgent, ...spec.headers };
    let body: Readable | Buffer | string | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(spec.form).toString();
    } else {
      body = typeof spec.body === 'function' ? spec.body() : spec.body;
    }
    if (!headers.accept) headers.accept = 'application/json';
    const signal = combineSignals(spec.signal, this.opts.signal);
    this.opts.debug?.(`→ ${spec.method} ${url.toString()}`);
    try {
      const { request, getGlobalDispatcher } = loadUndici();
      return await request.call(this.opts.dispatcher ?? getGlobalDispatcher(), {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: spec.method,
        headers,
        body: body ?? null,
        ...(signal ? { signal } : {}),
        headersTimeout: spec.headersTimeoutMs ?? this.opts.headersTimeoutMs ?? 60_000,
        bodyTimeout: spec.bodyTimeoutMs ?? this.opts.bodyTimeoutMs ?? 300_000,
      });
    } catch (err) {
      throw networkError(err, url, signal);
    }
  }
}

export function combineSignals(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

/** Turns a transport failure into a one-line, actionable error. */
export function networkError(err: unknown, url: URL, signal?: AbortSignal): unknown {
  if (signal?.aborted) return err;
  const code = (err as { code?: string } | null)?.code ?? '';
  const where = url.origin;
  const undiciErrors = loadUndici().errors;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new AppError('TIMEOUT', `${where} did not answer in time.`, {
      cause: err,
      hint: 'Check the server, then retry.',
    });
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return new AppError('TIMEOUT', `Timed out connecting to ${where}.`, { cause: err });
  }
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'DNS lookup failed',
    ECONNRESET: 'connection reset',
    EPIPE: 'connection closed while sending',
    UND_ERR_SOCKET: 'connection closed by the other side',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    CERT_HAS_EXPIRED: 'TLS certificate expired',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  };
  const reason = reasons[code] ?? (err instanceof Error ? err.message : String(err));
  return new AppError('NETWORK_ERROR', `Could not reach ${where}: ${reason}.`, {
    cause: err,
    hint: code === 'ECONNREFUSED' ? 'Is the server running, and is --server right?' : undefined,
  });
}

export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v.trim())) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * A 2xx answer of an upload route checked against `schema`: one that does not match (a proxy's page,
 * another server) is a 502 naming `what`, so the retry policy treats it as a server fault.
 */
export function uploadAnswer<T extends z.ZodType>(
  res: HttpResponse,
  schema: T,
  spec: Pick<RequestSpec, 'method' | 'path'>,
  what: string,
): z.infer<T> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    parsed = null;
  }
  const answer = schema.safeParse(parsed);
  if (!answer.success)
    throw apiErrorFrom(502, res.headers, `unexpected answer to ${what}: ${res.text.slice(0, 200)}`, spec);
  return answer.data;
}

/** Contract §7: errors are `{"detail": "<string>"}`; an unhandled server error is plain text. */
export function apiErrorFrom(
  status: number,
  headers: HttpResponse['headers'],
  text: string,
  spec: Pick<RequestSpec, 'method' | 'path'>,
): ApiError {
  let detail: string | undefined;
  try {
    const body = JSON.parse(text) as { detail?: unknown };
    if (typeof body.detail === 'string') detail = body.detail;
    else if (body.detail !== undefined) detail = JSON.stringify(body.detail);
  } catch {
    detail = text.trim().slice(0, 200) || undefined;
  }
  const what = detail ?? `HTTP ${status}`;
  return new ApiError(status, `${spec.method} ${spec.path} failed (${status}): ${what}`, {
    detail,
    retryAfterMs: parseRetryAfter(headers['retry-after']),
  });
}
