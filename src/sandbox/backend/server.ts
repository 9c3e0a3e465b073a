import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import * as auth from './auth.js';
import type { BackendContext, RouteHandler } from './context.js';
import { directXmlUpload } from './direct.js';
import type { FaultInjector, FaultResponse } from './faults.js';
import { openApiDocument, type RouteSpec } from './openapi.js';
import { presignXmlUpload } from './presign.js';
import { HttpError, sendError, sendJson } from './respond.js';
import { abortMultipart, completeMultipart, createMultipart, signMultipart } from './s3-multipart.js';
import { sdkSync } from './sdk-sync.js';
import { dataSummary } from './summaries.js';
import { recentSyncEvents, syncStream } from './sync-status.js';
import { createUser, getUser, listUsers } from './users.js';

const API = '/api/v1';

interface Route extends RouteSpec {
  pattern: RegExp;
  handler: RouteHandler;
}

function route(
  method: RouteSpec['method'],
  path: string,
  summary: string,
  handler: RouteHandler,
  spec: Pick<RouteSpec, 'body' | 'status' | 'generations'> = {},
): Route {
  const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{(\w+)\\?\}/g, '(?<$1>[^/]+)');
  return { method, path, summary, handler, ...spec, pattern: new RegExp(`^${source}$`) };
}

const XML = `${API}/users/{user_id}/import/apple/xml`;
const CURRENT = { generations: ['current'] } as const;

const ROUTES: Route[] = [
  route('POST', `${API}/auth/login`, 'Login', auth.login),
  route('GET', `${API}/auth/me`, 'Current developer', auth.me),
  route('POST', `${API}/auth/logout`, 'Logout', auth.logout),
  route('POST', `${API}/token/refresh`, 'Refresh tokens', auth.refresh),
  route('POST', `${API}/token/revoke`, 'Revoke a refresh token', auth.revoke),
  route('GET', `${API}/users`, 'List users', listUsers),
  route('POST', `${API}/users`, 'Create user', createUser),
  route('GET', `${API}/users/{user_id}`, 'Get user', getUser),
  route('POST', `${API}/users/{user_id}/token`, 'Create SDK user token', auth.mintSdkToken),
  route('POST', `${XML}/s3`, 'Presigned S3 upload', presignXmlUpload, { body: 'PresignedURLRequest' }),
  route('POST', `${XML}/s3/multipart/create`, 'Create multipart upload', createMultipart, {
    ...CURRENT,
    body: 'MultipartCreateRequest',
    status: 201,
  }),
  route('POST', `${XML}/s3/multipart/sign`, 'Sign multipart upload parts', signMultipart, {
    ...CURRENT,
    body: 'MultipartSignRequest',
  }),
  route('POST', `${XML}/s3/multipart/complete`, 'Complete multipart upload', completeMultipart, {
    ...CURRENT,
    body: 'MultipartCompleteRequest',
  }),
  route('POST', `${XML}/s3/multipart/abort`, 'Abort multipart upload', abortMultipart, {
    ...CURRENT,
    body: 'MultipartAbortRequest',
  }),
  route('POST', `${XML}/direct`, 'Direct XML upload', directXmlUpload),
  route('POST', `${API}/sdk/users/{user_id}/sync`, 'Sync SDK data', sdkSync, { status: 202 }),
  route('GET', `${API}/users/{user_id}/summaries/data`, 'User data summary', dataSummary),
  route('GET', `${API}/users/{user_id}/sync/recent`, 'Recent sync events', recentSyncEvents),
  route('GET', `${API}/users/{user_id}/sync/stream`, 'Sync status stream', syncStream),
  route('GET', '/', 'Root', (_ctx, { res }) => sendJson(res, 200, { message: 'Server is running!' })),
];
ROUTES.push(
  route('GET', '/openapi.json', 'OpenAPI document', (ctx, { res }) =>
    sendJson(res, 200, openApiDocument(ROUTES, ctx.generation, ctx.maxFileSize)),
  ),
);

function sendFault(res: ServerResponse, fault: FaultResponse): void {
  const body =
    fault.body === undefined
      ? JSON.stringify({ detail: STATUS_CODES[fault.status] ?? 'Error' })
      : typeof fault.body === 'string'
        ? fault.body
        : JSON.stringify(fault.body);
  const json = typeof fault.body !== 'string';
  res.writeHead(fault.status, {
    ...(json ? { 'content-type': 'application/json' } : {}),
    'content-length': Buffer.byteLength(body),
    ...fault.headers,
  });
  res.end(body);
}

function dropAfter(req: IncomingMessage, afterBytes: number): void {
  if (afterBytes <= 0) {
    req.socket.destroy();
    return;
  }
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen >= afterBytes) req.socket.destroy();
  });
  // A body shorter than afterBytes still ends in a dropped connection rather than an answer.
  req.on('end', () => req.socket.destroy());
}

async function dispatch(
  ctx: BackendContext,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const path = url.pathname;
  const candidates = ROUTES.filter((r) => !r.generations || r.generations.includes(ctx.generation))
    .map((r) => ({ r, m: r.pattern.exec(path) }))
    .filter((c) => c.m !== null);
  if (candidates.length === 0) throw new HttpError(404, 'Not Found');
  const hit = candidates.find((c) => c.r.method === req.method);
  if (!hit) {
    const allow = [...new Set(candidates.map((c) => c.r.method))].join(', ');
    throw new HttpError(405, 'Method Not Allowed', { Allow: allow });
  }
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(hit.m?.groups ?? {})) params[k] = decodeURIComponent(v);
  await hit.r.handler(ctx, { req, res, params, query: url.searchParams });
}

/** The request listener: logs, applies faults, routes, and turns errors into `{"detail"}` answers. */
export function createListener(ctx: BackendContext, faults: FaultInjector) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://double.invalid');
    const entry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      at: ctx.now(),
    } as (typeof ctx.state.requests)[number];
    ctx.state.requests.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });

    const decision = faults.decide(entry.method, entry.path);
    if (decision.kind === 'stall') {
      // Received in full and never answered, as by a server that hangs after reading the request.
      req.on('end', () => {
        entry.bodyReceived = true;
      });
      req.resume();
      return;
    }
    if (decision.kind === 'drop') return dropAfter(req, decision.afterBytes);
    if (decision.kind === 'respond') return sendFault(res, decision.response);
    if (decision.delayMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ctx.timers.delete(timer);
          resolve();
        }, decision.delayMs);
        ctx.timers.add(timer);
      });
    }

    try {
      await dispatch(ctx, req, res, url);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        // An early answer to an unread upload: close rather than drain a possibly huge body.
        if (!req.readableEnded) res.setHeader('connection', 'close');
        sendError(res, err);
        return;
      }
      // Contract §7: unhandled exceptions are a plain-text 500.
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Internal Server Error');
    }
  };
}
