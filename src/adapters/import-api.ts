/** The backend's import endpoints used by `upload` (contract §2). */
import { z } from 'zod';
import { AppError } from '../errors.js';
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

/** The S3 import routes, on a client that carries the credential. */
export class ImportApi {
  constructor(private readonly http: HttpClient) {}

  /** `POST /api/v1/users/{id}/import/apple/xml/s3` (contract §2.1–2.2). */
  async presignXml(req: PresignRequest & { userId: string; signal?: AbortSignal }): Promise<Presign> {
    const path = `/api/v1/users/${encodeURIComponent(req.userId)}/import/apple/xml/s3`;
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
    let url: URL;
    try {
      url = new URL(res.upload_url);
    } catch {
      url = new URL('invalid:');
    }
    // The URL comes from the server; anything but http(s) would send the export somewhere unexpected.
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new AppError(
        'API_ERROR',
        `The server returned an upload URL that is not http(s): ${res.upload_url}`,
        {
          hint: 'Check the backend’s S3 settings.',
        },
      );
    }
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
