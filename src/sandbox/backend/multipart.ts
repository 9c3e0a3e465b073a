import type { IncomingMessage } from 'node:http';
import { partHeaders } from '../multipart-headers.js';
import { HttpError } from './respond.js';

/** One part of a multipart/form-data body. */
export interface MultipartPart {
  name: string;
  /** Present for file parts; Starlette treats a part without one as a plain form field (contract §3.1). */
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

export interface MultipartLimits {
  /** Cap for file parts; the real backend has none (contract §3.3), the double refuses more with 413. */
  maxFileBytes: number;
  /** Starlette's cap for plain fields. */
  maxFieldBytes: number;
}

type Phase = 'preamble' | 'headers' | 'body' | 'after-delimiter' | 'done';

/**
 * Parses the request body as it streams in. Part bodies are held in memory (the real backend reads the whole
 * upload into memory too, contract §3.3) but each is capped.
 */
export async function parseMultipart(
  req: IncomingMessage,
  boundary: string,
  limits: MultipartLimits,
): Promise<MultipartPart[]> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: MultipartPart[] = [];
  // A leading CRLF lets the first delimiter be found by the same search as the others.
  let buf: Buffer = Buffer.from('\r\n');
  let phase: Phase = 'preamble';
  let head: Omit<MultipartPart, 'data'> | null = null;
  let chunks: Buffer[] = [];
  let size = 0;

  const append = (data: Buffer) => {
    if (data.length === 0 || head === null) return;
    size += data.length;
    if (head.filename === null && size > limits.maxFieldBytes) {
      throw new HttpError(400, 'Part exceeded maximum size of 1024KB.');
    }
    if (head.filename !== null && size > limits.maxFileBytes) {
      throw new HttpError(413, `File part exceeds the sandbox limit of ${limits.maxFileBytes} bytes`);
    }
    chunks.push(data);
  };

  const step = (): boolean => {
    switch (phase) {
      case 'preamble':
      case 'body': {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          const keep = Math.min(buf.length, delimiter.length - 1);
          if (phase === 'body') append(buf.subarray(0, buf.length - keep));
          buf = buf.subarray(buf.length - keep);
          return false;
        }
        if (phase === 'body' && head) {
          append(buf.subarray(0, at));
          parts.push({ ...head, data: Buffer.concat(chunks) });
        }
        buf = buf.subarray(at + delimiter.length);
        phase = 'after-delimiter';
        return true;
      }
      case 'after-delimiter': {
        if (buf.length < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          phase = 'done';
          return false;
        }
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return false;
        buf = buf.subarray(eol + 2);
        phase = 'headers';
        return true;
      }
      case 'headers': {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 16 * 1024) throw new HttpError(400, 'Invalid multipart headers');
          return false;
        }
        head = partHeaders(buf.subarray(0, end).toString('utf8'));
        chunks = [];
        size = 0;
        buf = buf.subarray(end + 4);
        phase = 'body';
        return true;
      }
      default:
        return false;
    }
  };

  for await (const chunk of req as AsyncIterable<Buffer>) {
    if ((phase as Phase) === 'done') continue;
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (step()) {
      // keep consuming complete tokens
    }
  }
  return parts;
}
