/**
 * What a backend advertises in `GET /openapi.json` (current page §2.1, §2.2), reduced to what the upload
 * needs: whether the multipart routes exist and the upload cap (the `maximum` of `file_size` and of
 * `max_file_size`). The reduction is cached per server in the config folder with the answer's validators
 * (ETag, Last-Modified), so a later run revalidates with a conditional GET instead of reading a document of
 * a few hundred KB again; what the CLI learnt at a multipart completion (the server's completion mode) is
 * kept next to it.
 */

import { ApiError } from '../errors.js';
import { z } from '../vendor/zod.js';
import type { HttpClient } from './http.js';
import { LedgerFiles } from './ledger.js';

const XML = '/api/v1/users/{user_id}/import/apple/xml';
export const MULTIPART_ROUTES = ['create', 'sign', 'complete', 'abort'].map(
  (r) => `${XML}/s3/multipart/${r}`,
);

/** The reduction of one server's openapi document. */
export const advertisedSchema = z.object({
  /** All four multipart routes are present. */
  multipart: z.boolean(),
  /** The largest upload the server takes (bytes), or null when the document does not say. */
  cap: z.number().int().positive().nullable(),
  /** Whether the presigned POST route exists at all. */
  presignedPost: z.boolean(),
});
export type Advertised = z.infer<typeof advertisedSchema>;

const cacheSchema = z.object({
  server: z.string(),
  advertised: advertisedSchema,
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  readAt: z.string(),
  /** Learnt from `/multipart/complete` (202 client, 200 sns); openapi does not say. */
  completionMode: z.enum(['client', 'sns']).optional(),
});
export type ServerCacheEntry = z.infer<typeof cacheSchema>;

export interface ServerInfo extends Advertised {
  /** `fresh`: read now; `revalidated`: the server said 304; `cached`: the server could not be asked. */
  origin: 'fresh' | 'revalidated' | 'cached';
  readAt: string;
  completionMode: 'client' | 'sns' | undefined;
}

/** Why the document could not be read: the message names it (for the warning). */
export class OpenApiUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'OpenApiUnavailable';
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The `maximum` of a property of the JSON body of `route`'s POST, following one `$ref`. */
function bodyMaximum(doc: Json, route: string, property: string): number | null {
  const paths = isObject(doc.paths) ? doc.paths : {};
  const post = isObject(paths[route]) ? (paths[route] as Json).post : undefined;
  if (!isObject(post)) return null;
  const content = isObject(post.requestBody) ? (post.requestBody as Json).content : undefined;
  const media = isObject(content) ? (content as Json)['application/json'] : undefined;
  let schema = isObject(media) ? (media as Json).schema : undefined;
  if (isObject(schema) && typeof schema.$ref === 'string') {
    const name = schema.$ref.replace('#/components/schemas/', '');
    const components = isObject(doc.components) ? (doc.components as Json).schemas : undefined;
    schema = isObject(components) ? (components as Json)[name] : undefined;
  }
  const props = isObject(schema) ? (schema as Json).properties : undefined;
  const prop = isObject(props) ? (props as Json)[property] : undefined;
  const max = isObject(prop) ? prop.maximum : undefined;
  return typeof max === 'number' && Number.isSafeInteger(max) && max > 0 ? max : null;
}

/** What an openapi document says about uploads. */
export function advertisedBy(doc: unknown): Advertised {
  if (!isObject(doc) || !isObject(doc.paths)) throw new OpenApiUnavailable('it is not an OpenAPI document');
  const paths = doc.paths;
  const has = (p: string) => isObject(paths[p]) && isObject((paths[p] as Json).post);
  const multipart = MULTIPART_ROUTES.every(has);
  const caps = [
    multipart ? bodyMaximum(doc, MULTIPART_ROUTES[0]!, 'file_size') : null,
    bodyMaximum(doc, `${XML}/s3`, 'max_file_size'),
  ].filter((n): n is number => n !== null);
  return { multipart, cap: caps.length > 0 ? Math.max(...caps) : null, presignedPost: has(`${XML}/s3`) };
}

const header = (h: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Reads and caches what servers advertise; the cache lives in `<config>/servers/`. */
export class OpenApiReader {
  private readonly files: LedgerFiles;

  constructor(
    private readonly http: HttpClient,
    cacheDir: string,
    private readonly now: () => number = Date.now,
  ) {
    this.files = new LedgerFiles(cacheDir);
  }

  private keyOf(server: string): string {
    return LedgerFiles.keyOf({ server });
  }

  cached(server: string): ServerCacheEntry | undefined {
    try {
      const parsed = cacheSchema.safeParse(this.files.read(this.keyOf(server)));
      return parsed.success && parsed.data.server === server ? parsed.data : undefined;
    } catch {
      // A damaged cache is only a cache: read the server again.
      return undefined;
    }
  }

  private save(entry: ServerCacheEntry): void {
    try {
      this.files.write(this.keyOf(entry.server), entry);
    } catch {
      // A config folder that cannot be written costs the next run one full read, nothing more.
    }
  }

  /** What `server` advertises: revalidated against the cache, read afresh, or (unreachable) the cache. */
  async read(server: string, signal?: AbortSignal): Promise<ServerInfo> {
    const cached = this.cached(server);
    const validators: Record<string, string> = {};
    if (cached?.etag) validators['if-none-match'] = cached.etag;
    if (cached?.lastModified) validators['if-modified-since'] = cached.lastModified;
    const info = (e: ServerCacheEntry, origin: ServerInfo['origin']): ServerInfo => ({
      ...e.advertised,
      origin,
      readAt: e.readAt,
      completionMode: e.completionMode,
    });
    let res: Awaited<ReturnType<HttpClient['send']>>;
    try {
      res = await this.http.send({
        method: 'GET',
        path: '/openapi.json',
        headers: validators,
        headersTimeoutMs: 15_000,
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (err instanceof ApiError && err.status === 304 && cached) return info(cached, 'revalidated');
      if (signal?.aborted) throw err;
      const reason =
        err instanceof ApiError
          ? `GET /openapi.json answered ${err.status}`
          : err instanceof Error
            ? err.message.replace(/\.$/, '')
            : String(err);
      if (cached) return info(cached, 'cached');
      throw new OpenApiUnavailable(reason);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(res.text);
    } catch {
      throw new OpenApiUnavailable('GET /openapi.json did not answer JSON');
    }
    const entry: ServerCacheEntry = {
      server,
      advertised: advertisedBy(doc),
      readAt: new Date(this.now()).toISOString(),
      ...(header(res.headers, 'etag') ? { etag: header(res.headers, 'etag')! } : {}),
      ...(header(res.headers, 'last-modified')
        ? { lastModified: header(res.headers, 'last-modified')! }
        : {}),
      ...(cached?.completionMode ? { completionMode: cached.completionMode } : {}),
    };
    this.save(entry);
    return info(entry, 'fresh');
  }

  /** Remembers how the server completed a multipart upload (it is not in its openapi document). */
  learnCompletionMode(server: string, mode: 'client' | 'sns'): void {
    const cached = this.cached(server);
    if (cached && cached.completionMode !== mode) this.save({ ...cached, completionMode: mode });
  }
}
