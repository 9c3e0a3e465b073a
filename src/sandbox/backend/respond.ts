import type { IncomingMessage, ServerResponse } from 'node:http';

/** An error answer in the backend's shape `{"detail": "..."}` (contract §7). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** Contract §1.8: these 401s carry `WWW-Authenticate: Bearer`. */
export const bearerChallenge = { 'WWW-Authenticate': 'Bearer' };

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { detail: err.detail }, err.headers);
}

/** The whole request body, refusing more than `cap` bytes (only small JSON/form bodies come through here). */
export async function readBody(req: IncomingMessage, cap = 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > cap) throw new HttpError(413, 'Request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * A JSON object body as FastAPI sees it for a pydantic model parameter: no body → "Field required",
 * bad JSON → "JSON decode error - …", non-object → the model_attributes_type message (contract §7 style).
 */
export async function readJsonObject(
  req: IncomingMessage,
  opts: { cap?: number; notAnObject?: string } = {},
): Promise<Record<string, unknown>> {
  const raw = await readBody(req, opts.cap);
  if (raw.length === 0) throw new HttpError(400, 'Field required');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HttpError(400, 'JSON decode error - Expecting value');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(
      400,
      opts.notAnObject ?? 'Input should be a valid dictionary or object to extract fields from',
    );
  }
  return parsed as Record<string, unknown>;
}
