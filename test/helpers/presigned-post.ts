// What the CLI's s3 method does against a backend, by hand: ask for a presigned POST, then send the form with
// every field unchanged and the file last (contract §2.2).
import { request } from 'node:http';

export interface PostedUpload {
  /** The S3 answer's status and body. */
  status: number;
  text: string;
  /** The object key the backend chose. */
  key: string;
  uploadUrl: string;
}

export async function presignAndPost(
  backendUrl: string,
  apiKey: string,
  userId: string,
  filename: string,
  body: string | Buffer,
  opts: { maxFileSize?: number } = {},
): Promise<PostedUpload> {
  const presign = await fetch(`${backendUrl}/api/v1/users/${userId}/import/apple/xml/s3`, {
    method: 'POST',
    headers: { 'x-open-wearables-api-key': apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ filename, ...(opts.maxFileSize ? { max_file_size: opts.maxFileSize } : {}) }),
  });
  if (presign.status !== 200) throw new Error(`presign: HTTP ${presign.status} ${await presign.text()}`);
  const { upload_url, form_fields, file_key } = (await presign.json()) as {
    upload_url: string;
    form_fields: Record<string, string>;
    file_key: string;
  };
  const form = new FormData();
  for (const [k, v] of Object.entries(form_fields)) form.append(k, v);
  form.append('file', new Blob([body], { type: 'application/xml' }), filename);
  const res = await fetch(upload_url, { method: 'POST', body: form });
  return { status: res.status, text: await res.text(), key: file_key, uploadUrl: upload_url };
}

/** A form POST with Transfer-Encoding: chunked and no Content-Length, which fetch with a Blob never sends. */
export function postChunked(
  url: string,
  fields: Record<string, string>,
  body: Uint8Array,
  contentType: string,
): Promise<{ status: number; text: string }> {
  const boundary = '----chunkedtest7MA4YWxkTrZu0gW';
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="export.xml"\r\n` +
        `Content-Type: ${contentType}\r\n\r\n`,
    ),
    Buffer.from(body),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'transfer-encoding': 'chunked',
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    for (const p of parts) req.write(p);
    req.end();
  });
}
