import type { Generation } from './context.js';

/** A route the double implements: method, path template (FastAPI style), summary and its request model. */
export interface RouteSpec {
  method: 'GET' | 'POST';
  path: string;
  summary: string;
  /** The components/schemas entry of the JSON body, as FastAPI names the pydantic model. */
  body?: string;
  /** The success status FastAPI documents; default 200. */
  status?: number;
  /** Generations that have the route; default both. */
  generations?: readonly Generation[];
}

const GIB = 1024 * 1024 * 1024;

/** FastAPI's parameter titles: `user_id` → `User Id`. */
const titleOf = (name: string) =>
  name
    .split('_')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');

/** The request models, with the bounds a client reads its limits from (current page §2.1: the cap). */
function schemas(generation: Generation, maxFileSize: number): Record<string, unknown> {
  const int = (title: string, extra: Record<string, unknown>) => ({ type: 'integer', title, ...extra });
  const str = (title: string, extra: Record<string, unknown> = {}) => ({ type: 'string', title, ...extra });
  const presign = {
    title: 'PresignedURLRequest',
    type: 'object',
    properties: {
      filename: str('Filename', { maxLength: 200, default: '', description: 'Custom filename' }),
      expiration_seconds: int('Expiration Seconds', {
        minimum: 60,
        maximum: 3600,
        default: 300,
        description: 'URL expiration time in seconds (1 min - 1 hour)',
      }),
      max_file_size: int('Max File Size', {
        minimum: 1024,
        maximum: maxFileSize,
        default: 52_428_800,
        // The old description's "500MB" was wrong (contract §2.1); the number above is what is enforced.
        description:
          generation === 'current'
            ? 'Maximum file size in bytes (1KB - 5GiB)'
            : 'Maximum file size in bytes (1KB - 500MB)',
      }),
    },
  };
  if (generation !== 'current') return { PresignedURLRequest: presign };
  const keyFields = {
    key: str('Key', { maxLength: 1024, description: 'Object key returned by create' }),
    upload_id: str('Upload Id', { maxLength: 1024, description: 'Upload id returned by create' }),
  };
  return {
    PresignedURLRequest: presign,
    MultipartCreateRequest: {
      title: 'MultipartCreateRequest',
      type: 'object',
      required: ['file_size'],
      properties: {
        filename: str('Filename', { maxLength: 200, default: '', description: 'Original filename' }),
        content_type: str('Content Type', {
          maxLength: 100,
          default: 'application/xml',
          description: 'Object content type',
        }),
        file_size: int('File Size', {
          minimum: 5 * 1024 * 1024,
          maximum: maxFileSize,
          description: 'Total file size in bytes (used to recommend a part size)',
        }),
      },
    },
    MultipartSignRequest: {
      title: 'MultipartSignRequest',
      type: 'object',
      required: ['key', 'upload_id', 'part_numbers'],
      properties: {
        ...keyFields,
        part_numbers: {
          type: 'array',
          title: 'Part Numbers',
          items: { type: 'integer', minimum: 1, maximum: 10_000 },
          minItems: 1,
          maxItems: 10_000,
          description: 'Part numbers (1-based) to presign upload URLs for',
        },
        expiration_seconds: int('Expiration Seconds', {
          minimum: 60,
          maximum: 86_400,
          default: 86_400,
          description: 'Presigned URL lifetime in seconds',
        }),
      },
    },
    CompletedPart: {
      title: 'CompletedPart',
      type: 'object',
      required: ['part_number', 'etag'],
      properties: {
        part_number: int('Part Number', { minimum: 1, maximum: 10_000 }),
        etag: str('Etag', { maxLength: 256, description: 'ETag returned by S3 for the uploaded part' }),
      },
    },
    MultipartCompleteRequest: {
      title: 'MultipartCompleteRequest',
      type: 'object',
      required: ['key', 'upload_id', 'parts'],
      properties: {
        key: str('Key', { maxLength: 1024 }),
        upload_id: str('Upload Id', { maxLength: 1024 }),
        parts: {
          type: 'array',
          title: 'Parts',
          items: { $ref: '#/components/schemas/CompletedPart' },
          minItems: 1,
          maxItems: 10_000,
        },
      },
    },
    MultipartAbortRequest: {
      title: 'MultipartAbortRequest',
      type: 'object',
      required: ['key', 'upload_id'],
      properties: { key: str('Key', { maxLength: 1024 }), upload_id: str('Upload Id', { maxLength: 1024 }) },
    },
  };
}

/**
 * The OpenAPI document the CLI uses for feature detection (contract §9.3, current page §2.1): exactly the
 * paths this generation answers, so a client probing for multipart sees it only on a current server, and the
 * request models with their bounds, so it reads the upload cap from `maximum` instead of assuming one.
 */
export function openApiDocument(
  routes: readonly RouteSpec[],
  generation: Generation,
  maxFileSize: number = generation === 'current' ? 5 * GIB : GIB,
): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (route.generations && !route.generations.includes(generation)) continue;
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: {
        type: 'string',
        title: titleOf(m[1] ?? ''),
      },
    }));
    const entry = paths[route.path] ?? {};
    entry[route.method.toLowerCase()] = {
      summary: route.summary,
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: { $ref: `#/components/schemas/${route.body}` } } },
            },
          }
        : {}),
      responses: { [String(route.status ?? 200)]: { description: 'Successful Response' } },
    };
    paths[route.path] = entry;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Open Wearables (apple-import sandbox double)', version: generation },
    paths,
    components: { schemas: schemas(generation, maxFileSize) },
  };
}
