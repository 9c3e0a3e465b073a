import { partHeaders } from '../multipart-headers.js';
// A streaming multipart/form-data reader for the sandbox S3 endpoint. Unlike the backend double's parser
// (which holds parts in memory, as the real backend does), an S3 POST may carry gigabytes in its file part,
// so the file's bytes are handed over as they arrive and only the small fields are kept.

/** What the reader yields, in body order. */
export type FormEvent =
  | { type: 'field'; name: string; value: string }
  | { type: 'file-start'; name: string; filename: string | null; contentType: string | null }
  | { type: 'file-data'; data: Buffer }
  | { type: 'file-end' };

/** A body that is not multipart/form-data as announced (S3: 400 MalformedPOSTRequest). */
export class MalformedFormError extends Error {
  override name = 'MalformedFormError';
}

/** Fields before the file part beyond `maxPreDataBytes` (S3: 400 MaxPostPreDataLengthExceeded). */
export class PreDataTooLargeError extends Error {
  override name = 'PreDataTooLargeError';
}

export interface FormStreamLimits {
  /** S3 caps the fields before the file at 20 KiB (doc §4). */
  maxPreDataBytes: number;
  /** Name of the part whose bytes are streamed; S3 uses `file`. */
  fileField: string;
}

/**
 * Yields the form's parts as they stream in. The consumer's pace is the reader's pace (an async generator),
 * so a slow disk slows the socket instead of filling memory. Fields after the file part are still parsed
 * (a second file part must be detectable) but their values are not kept beyond `maxPreDataBytes` each.
 */
export async function* readForm(
  source: AsyncIterable<Buffer>,
  boundary: string,
  limits: FormStreamLimits,
): AsyncGenerator<FormEvent> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // A leading CRLF lets the first delimiter be found by the same search as the others.
  let buf: Buffer = Buffer.from('\r\n');
  let phase: 'preamble' | 'headers' | 'body' | 'after-delimiter' | 'done' = 'preamble';
  let current: { name: string; filename: string | null; contentType: string | null; isFile: boolean } | null =
    null;
  let fieldChunks: Buffer[] = [];
  let fieldBytes = 0;
  let preDataBytes = 0;
  let sawFile = false;

  function* bodyBytes(data: Buffer): Generator<FormEvent> {
    if (data.length === 0 || current === null) return;
    if (current.isFile) {
      yield { type: 'file-data', data };
      return;
    }
    fieldBytes += data.length;
    if (!sawFile) {
      preDataBytes += data.length;
      if (preDataBytes > limits.maxPreDataBytes) throw new PreDataTooLargeError('form fields too large');
    }
    if (fieldBytes <= limits.maxPreDataBytes) fieldChunks.push(data);
  }

  function* endPart(): Generator<FormEvent> {
    if (current === null) return;
    if (current.isFile) yield { type: 'file-end' };
    else yield { type: 'field', name: current.name, value: Buffer.concat(fieldChunks).toString('utf8') };
    current = null;
  }

  for await (const chunk of source) {
    if (phase === 'done') continue;
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    for (;;) {
      if (phase === 'preamble' || phase === 'body') {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          // Keep a tail that could be the start of a delimiter split across chunks.
          const keep = Math.min(buf.length, delimiter.length - 1);
          if (phase === 'body') yield* bodyBytes(buf.subarray(0, buf.length - keep));
          buf = Buffer.from(buf.subarray(buf.length - keep));
          break;
        }
        if (phase === 'body') {
          yield* bodyBytes(buf.subarray(0, at));
          yield* endPart();
        }
        buf = buf.subarray(at + delimiter.length);
        phase = 'after-delimiter';
      } else if (phase === 'after-delimiter') {
        if (buf.length < 2) break;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          phase = 'done';
          break;
        }
        const eol = buf.indexOf('\r\n');
        if (eol < 0) {
          if (buf.length > 1024) throw new MalformedFormError('junk after a multipart delimiter');
          break;
        }
        buf = buf.subarray(eol + 2);
        phase = 'headers';
      } else if (phase === 'headers') {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (buf.length > 16 * 1024) throw new MalformedFormError('multipart part headers too long');
          break;
        }
        const head = partHeaders(buf.subarray(0, end).toString('utf8'));
        if (head.name === '') throw new MalformedFormError('a multipart part has no name');
        const isFile = head.name.toLowerCase() === limits.fileField;
        current = { ...head, isFile };
        fieldChunks = [];
        fieldBytes = 0;
        buf = buf.subarray(end + 4);
        phase = 'body';
        if (isFile) {
          sawFile = true;
          yield {
            type: 'file-start',
            name: head.name,
            filename: head.filename,
            contentType: head.contentType,
          };
        }
      } else break;
    }
  }
  if (phase !== 'done') throw new MalformedFormError('the multipart body ended before its closing delimiter');
}
