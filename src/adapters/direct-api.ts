import { Readable } from 'node:stream';
import { z } from '../vendor/zod.js';
import { type HttpClient, uploadAnswer } from './http.js';
import { multipartFraming, newBoundary } from './multipart-form.js';

/** Contract §3.2: 200 `{"status": "processing", "task_id", "user_id"}`. */
const directAnswerSchema = z.object({ status: z.string(), task_id: z.string(), user_id: z.string() }).loose();
export type DirectAnswer = z.infer<typeof directAnswerSchema>;

export interface DirectUploadRequest {
  userId: string;
  /** Already safe: `[A-Za-z0-9._-]`, ends in .xml (contract §9.9). */
  filename: string;
  body: Buffer;
  signal?: AbortSignal;
  /** Set to true once the last byte of the request body has been handed to the socket. */
  progress?: { bodySent: boolean };
  /** Upload deadline for response headers (the backend reads the whole file before answering, §3.3). */
  headersTimeoutMs?: number;
}

const PIECE = 256 * 1024;

/**
 * The direct import route, on a client that carries the credential. Give it a client without the run's
 * interrupt built in: the sender decides when Ctrl-C tears a batch down (core/upload/direct/sender.ts).
 */
export class DirectApi {
  constructor(private readonly http: HttpClient) {}

  /** `POST /users/{id}/import/apple/xml/direct` with the batch as the multipart part `file` (contract §3.1). */
  async postXml(req: DirectUploadRequest): Promise<DirectAnswer> {
    const boundary = newBoundary();
    const { preamble: head, epilogue: tail } = multipartFraming([], req.filename, boundary);
    const length = head.length + req.body.length + tail.length;
    const progress = req.progress;
    async function* pieces(): AsyncGenerator<Buffer> {
      yield head;
      for (let i = 0; i < req.body.length; i += PIECE) yield req.body.subarray(i, i + PIECE);
      yield tail;
      if (progress) progress.bodySent = true;
    }
    const spec = {
      method: 'POST' as const,
      path: `/api/v1/users/${encodeURIComponent(req.userId)}/import/apple/xml/direct`,
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(length),
      },
      // Made again for an authorised retry: every attempt starts with nothing sent.
      body: () => {
        if (progress) progress.bodySent = false;
        return Readable.from(pieces(), { objectMode: false });
      },
      signal: req.signal,
      headersTimeoutMs: req.headersTimeoutMs,
    };
    return uploadAnswer(await this.http.send(spec), directAnswerSchema, spec, 'the direct upload');
  }
}
