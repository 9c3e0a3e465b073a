// A tiny in-process stand-in for S3's POST endpoint, for fault tests: it parses nothing but the
// multipart framing it needs, records every request and follows a script of misbehaviours.
// It enforces no policy; rejection semantics are tested against real radosgw.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeS3Step =
  | { kind: 'ok' }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Destroys the socket after reading this many body bytes. */
  | { kind: 'drop'; afterBytes: number }
  /** Reads the body (or not) and never answers. */
  | { kind: 'stall'; read: boolean };

export interface FakeS3Request {
  headers: IncomingMessage['headers'];
  /** Body bytes received (complete only when `complete`). */
  bytes: number;
  complete: boolean;
  body: Buffer | undefined;
  outcome: FakeS3Step['kind'];
}

export interface FakeS3 {
  url: string;
  requests: FakeS3Request[];
  /** Steps for the next requests, in order; afterwards every request succeeds. */
  script(...steps: FakeS3Step[]): void;
  /** Objects stored by successful requests: the file part of each, by `key` field. */
  stored: Map<string, Buffer>;
  close(): Promise<void>;
}

/** The backend double's S3 settings that point its presigned POSTs at `s3` (bucket `uploads`). */
export function s3SettingsFor(s3: FakeS3) {
  return {
    endpoint: s3.url.replace(/\/uploads$/, ''),
    bucket: 'uploads',
    region: 'us-east-1',
    accessKeyId: 'AKIAFAKE',
    secretAccessKey: 'secret',
  };
}

export function s3Error(code: string, message = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>r</RequestId></Error>`;
}

/** Splits a multipart body into its parts (enough for our own client's output). */
export function parseForm(
  body: Buffer,
  contentType: string,
): { fields: [string, string][]; file: Buffer | null } {
  const boundary = /boundary=(.+)$/.exec(contentType)?.[1];
  if (!boundary) throw new Error('no boundary');
  const delim = Buffer.from(`--${boundary}`);
  const fields: [string, string][] = [];
  let file: Buffer | null = null;
  let at = body.indexOf(delim);
  while (at >= 0) {
    const start = at + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    const part = body.subarray(start + 2, next - 2);
    const headEnd = part.indexOf('\r\n\r\n');
    const head = part.subarray(0, headEnd).toString();
    const content = part.subarray(headEnd + 4);
    const name = /name="([^"]*)"/.exec(head)?.[1] ?? '';
    if (/filename=/.test(head)) file = content;
    else fields.push([name, content.toString()]);
    at = next;
  }
  return { fields, file };
}

export async function startFakeS3(): Promise<FakeS3> {
  const requests: FakeS3Request[] = [];
  const steps: FakeS3Step[] = [];
  const stored = new Map<string, Buffer>();
  const server: Server = createServer((req, res) => {
    // The backend's head_bucket before each presign (contract §2.5): the bucket is there; not a scripted step.
    if (req.method === 'HEAD') {
      res.writeHead(200);
      res.end();
      return;
    }
    const step = steps.shift() ?? { kind: 'ok' };
    const rec: FakeS3Request = {
      headers: req.headers,
      bytes: 0,
      complete: false,
      body: undefined,
      outcome: step.kind,
    };
    requests.push(rec);
    const chunks: Buffer[] = [];
    if (step.kind === 'stall' && !step.read) return;
    req.on('data', (c: Buffer) => {
      rec.bytes += c.length;
      chunks.push(c);
      if (step.kind === 'drop' && rec.bytes >= step.afterBytes) req.socket.destroy();
    });
    req.on('end', () => {
      rec.complete = true;
      rec.body = Buffer.concat(chunks);
      if (step.kind === 'stall' || step.kind === 'drop') return;
      if (step.kind === 'status') {
        res.writeHead(step.status, { 'content-type': 'application/xml', ...step.headers });
        res.end(step.body ?? '');
        return;
      }
      const form = parseForm(rec.body, String(req.headers['content-type']));
      const key = form.fields.find(([k]) => k === 'key')?.[1] ?? '';
      if (form.file) stored.set(key, form.file);
      res.writeHead(204);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/uploads`,
    requests,
    stored,
    script: (...s) => {
      steps.push(...s);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
