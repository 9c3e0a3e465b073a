/** The backend's import endpoints used by `upload` (contract §2). */

import { AppError } from '../errors.js';
import { z } from '../vendor/zod.js';
import type { HttpClient } from './http.js';

const presignSchema = z.object({
  upload_url: z.string(),
  form_fields: z.record(z.string(), z.string()),
  file_key: z.string(),
  expires_in: z.number(),
  max_file_size: z.number(),
  bucket: z.string(),
});

export interface Presign {
  uploadUrl: string;
  /** In the server's order: S3 wants them unchanged and before the file (contract §2.2). */
  fields: [string, string][];
  fileKey: string;
  expiresIn: number;
  maxFileSize: number;
  bucket: string;
}

export interface PresignRequest {
  filename: string;
  expirationSeconds: number;
  maxFileSize: number;
}

const createdSchema = z.object({
  upload_id: z.string().min(1),
  key: z.string().min(1),
  bucket: z.string(),
  part_size: z.number().int().positive(),
});
const signedSchema = z.object({
  urls: z.array(z.object({ part_number: z.number().int().positive(), url: z.string() })),
});
const completedSchema = z.object({
  status: z.string(),
  key: z.string(),
  bucket: z.string(),
  task_id: z.string().nullable(),
});

/** A multipart upload as `create` opened it (current page §2.2). */
export interface MultipartUpload {
  uploadId: string;
  key: string;
  bucket: string;
  partSize: number;
}

export interface MultipartCompletion {
  /** `processing` (client mode, 202) or `uploaded` (sns mode, 200). */
  status: string;
  httpStatus: number;
  key: string;
  bucket: string;
  taskId: string | null;
}

/** The URL comes from the server; anything but http(s) would send the export somewhere unexpected. */
function requireHttpUrl(raw: string, what: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppError('API_ERROR', `The server returned ${what} that is neither http nor https: ${raw}`, {
      hint: 'Check the backend’s S3 settings.',
    });
  }
}

/** The S3 import routes, on a client that carries the credential. */
export class ImportApi {
  constructor(private readonly http: HttpClient) {}

  private xmlPath(userId: string, tail: string): string {
    return `/api/v1/users/${encodeURIComponent(userId)}/import/apple/xml/s3${tail}`;
  }

  /** `POST …/s3/multipart/create` → 201 (current page §2.2): `file_size` is the exact object size. */
  async createMultipart(req: {
    userId: string;
    filename: string;
    fileSize: number;
    signal?: AbortSignal;
  }): Promise<MultipartUpload> {
    const res = await this.http.json(
      {
        method: 'POST',
        path: this.xmlPath(req.userId, '/multipart/create'),
        json: { filename: req.filename, content_type: 'application/xml', file_size: req.fileSize },
        signal: req.signal,
      },
      createdSchema,
    );
    return { uploadId: res.upload_id, key: res.key, bucket: res.bucket, partSize: res.part_size };
  }

  /** `POST …/s3/multipart/sign`: presigned `upload_part` URLs, by part number. */
  async signParts(req: {
    userId: string;
    key: string;
    uploadId: string;
    partNumbers: number[];
    signal?: AbortSignal;
  }): Promise<Map<number, string>> {
    const res = await this.http.json(
      {
        method: 'POST',
        path: this.xmlPath(req.userId, '/multipart/sign'),
        json: { key: req.key, upload_id: req.uploadId, part_numbers: req.partNumbers },
        signal: req.signal,
      },
      signedSchema,
    );
    const urls = new Map<number, string>();
    for (const { part_number, url } of res.urls) {
      requireHttpUrl(url, 'a part upload URL');
      urls.set(part_number, url);
    }
    for (const n of req.partNumbers)
      if (!urls.has(n))
        throw new AppError('API_ERROR', `The server signed no URL for part ${n} of the multipart upload.`);
    return urls;
  }

  /** `POST …/s3/multipart/complete` with every part and its ETag exactly as S3 returned it. */
  async completeMultipart(req: {
    userId: string;
    key: string;
    uploadId: string;
    parts: { partNumber: number; etag: string }[];
    signal?: AbortSignal;
  }): Promise<MultipartCompletion> {
    const spec = {
      method: 'POST' as const,
      path: this.xmlPath(req.userId, '/multipart/complete'),
      json: {
        key: req.key,
        upload_id: req.uploadId,
        parts: req.parts.map((p) => ({ part_number: p.partNumber, etag: p.etag })),
      },
      signal: req.signal,
    };
    const res = await this.http.send(spec);
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      body = null;
    }
    const parsed = completedSchema.safeParse(body);
    if (!parsed.success)
      throw new AppError('API_ERROR', `Unexpected answer from the server for POST ${spec.path}.`, {
        details: res.text.slice(0, 500),
      });
    const { status, key, bucket, task_id } = parsed.data;
    return { status, httpStatus: res.status, key, bucket, taskId: task_id };
  }

  /** `POST …/s3/multipart/abort` (idempotent on the server: an unknown upload is answered 200 too). */
  async abortMultipart(req: {
    userId: string;
    key: string;
    uploadId: string;
    signal?: AbortSignal;
  }): Promise<void> {
    await this.http.send({
      method: 'POST',
      path: this.xmlPath(req.userId, '/multipart/abort'),
      json: { key: req.key, upload_id: req.uploadId },
      signal: req.signal,
      headersTimeoutMs: 15_000,
    });
  }

  /** `POST /api/v1/users/{id}/import/apple/xml/s3` (contract §2.1–2.2). */
  async presignXml(req: PresignRequest & { userId: string; signal?: AbortSignal }): Promise<Presign> {
    const path = this.xmlPath(req.userId, '');
    const res = await this.http.json(
      {
        method: 'POST',
        path,
        json: {
          filename: req.filename,
          expiration_seconds: req.expirationSeconds,
          max_file_size: req.maxFileSize,
        },
        signal: req.signal,
      },
      presignSchema,
    );
    requireHttpUrl(res.upload_url, 'an upload URL');
    return {
      uploadUrl: res.upload_url,
      fields: Object.entries(res.form_fields),
      fileKey: res.file_key,
      expiresIn: res.expires_in,
      maxFileSize: res.max_file_size,
      bucket: res.bucket,
    };
  }
}

/** The cap the server states in a 400 about max_file_size (contract §7: "Input should be less than or equal to N"). */
export function serverCapFrom(detail: string | undefined): number | undefined {
  const m = detail?.match(/less than or equal to\s+([0-9][0-9_,]*)/i);
  if (!m) return undefined;
  const n = Number(m[1]!.replace(/[_,]/g, ''));
  return Number.isSafeInteger(n) && n >= 1024 ? n : undefined;
}
