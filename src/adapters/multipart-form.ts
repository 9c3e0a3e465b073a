/**
 * The one multipart/form-data framing of an XML file part, for the presigned S3 POST (form fields first,
 * contract §2.4) and the direct import route (the file alone, §3.1): a boundary, what goes before the
 * file's bytes and what comes after, so the body is streamed between them with an exact Content-Length.
 */
import { randomBytes } from 'node:crypto';

/** A boundary no export's bytes are expected to hold. */
export function newBoundary(): string {
  return `----apple-import-${randomBytes(12).toString('hex')}`;
}

function quoteName(s: string): string {
  return s.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** The framing around the file part named `file`, after `fields` in order. */
export function multipartFraming(
  fields: [string, string][],
  filename: string,
  boundary: string,
): { preamble: Buffer; epilogue: Buffer } {
  let head = '';
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoteName(name)}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteName(filename)}"\r\nContent-Type: application/xml\r\n\r\n`;
  return { preamble: Buffer.from(head, 'utf8'), epilogue: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
}
