// The double's own S3 client, standing in for the backend's boto3 client: it signs with SigV4 (sandbox/s3/
// sigv4.ts) and talks HTTP to whichever S3 the double is given — radosgw in tests, so the multipart rules are
// checked by a real S3, or the sandbox's endpoint. S3 error answers become S3ClientError with the `<Code>`,
// as botocore's ClientError carries it; a HEAD error has no body, so its code is the status ("404").
import { objectPath, presignUrl, sha256Hex, signRequest } from '../s3/sigv4.js';
import type { S3Settings } from './context.js';

export class S3ClientError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    readonly s3Message: string,
  ) {
    super(`An error occurred (${code}) when calling S3: ${s3Message}`);
    this.name = 'S3ClientError';
  }
}

export interface ListedPart {
  partNumber: string | undefined;
  etag: string | undefined;
  size: number;
}

export interface PartsPage {
  parts: ListedPart[];
  isTruncated: boolean;
  nextMarker: string | undefined;
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? unescapeXml(m[1] as string) : undefined;
}

function unescapeXml(s: string): string {
  return s.replace(/&(quot|amp|lt|gt|apos|#34|#x22);/g, (_, e: string) =>
    e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'apos' ? "'" : '"',
  );
}

const escapeXml = (s: string) =>
  s.replace(/[<>&"]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : '&quot;'));

export class S3Client {
  constructor(
    private readonly settings: S3Settings,
    private readonly now: () => number,
  ) {}

  get bucket(): string {
    return this.settings.bucket;
  }

  private url(key: string, query: string): string {
    const base = this.settings.endpoint.replace(/\/+$/, '');
    return `${base}${objectPath(this.settings.bucket, key)}${query === '' ? '' : `?${query}`}`;
  }

  private async send(
    method: string,
    key: string,
    query: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Headers; text: string }> {
    const url = this.url(key, query);
    const payloadHash = body === undefined ? sha256Hex('') : sha256Hex(body);
    // Its own requests are signed with the real clock: the S3 it talks to checks the time against its own.
    const signed = signRequest({ ...this.settings, method, url, headers, payloadHash, now: Date.now() });
    const res = await fetch(url, { method, headers: { ...headers, ...signed }, body });
    const text = method === 'HEAD' ? '' : await res.text();
    if (res.status >= 300) {
      const code = tag(text, 'Code') ?? String(res.status);
      throw new S3ClientError(code, res.status, tag(text, 'Message') ?? '');
    }
    return { status: res.status, headers: res.headers, text };
  }

  async headBucket(): Promise<void> {
    await this.send('HEAD', '', '');
  }

  /** Size and ETag (quoted, as S3 sends it), or null for a missing object. */
  async headObject(key: string): Promise<{ size: number; etag: string } | null> {
    try {
      const res = await this.send('HEAD', key, '');
      return { size: Number(res.headers.get('content-length') ?? 0), etag: res.headers.get('etag') ?? '' };
    } catch (err) {
      if (err instanceof S3ClientError && err.status === 404) return null;
      throw err;
    }
  }

  async createMultipartUpload(key: string, contentType: string): Promise<string> {
    const res = await this.send('POST', key, 'uploads=', undefined, { 'content-type': contentType });
    const uploadId = tag(res.text, 'UploadId');
    if (!uploadId) throw new S3ClientError('MalformedResponse', res.status, 'no UploadId in the answer');
    return uploadId;
  }

  /** One page of ListParts, as boto3's `list_parts` returns it (PartNumber and ETag as S3 wrote them). */
  async listParts(
    key: string,
    uploadId: string,
    opts: { maxParts: number; marker: number },
  ): Promise<PartsPage> {
    const query = [
      `max-parts=${opts.maxParts}`,
      ...(opts.marker ? [`part-number-marker=${opts.marker}`] : []),
      `uploadId=${encodeURIComponent(uploadId)}`,
    ].join('&');
    const { text } = await this.send('GET', key, query);
    const parts = [...text.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
      partNumber: tag(m[1] as string, 'PartNumber'),
      etag: tag(m[1] as string, 'ETag'),
      size: Number(tag(m[1] as string, 'Size') ?? 0),
    }));
    return {
      parts,
      isTruncated: tag(text, 'IsTruncated') === 'true',
      nextMarker: tag(text, 'NextPartNumberMarker'),
    };
  }

  /** CompleteMultipartUpload; the ETag of the finished object (quoted). */
  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: readonly { partNumber: number; etag: string }[],
  ): Promise<string> {
    const body =
      '<CompleteMultipartUpload>' +
      parts
        .map((p) => `<Part><ETag>${escapeXml(p.etag)}</ETag><PartNumber>${p.partNumber}</PartNumber></Part>`)
        .join('') +
      '</CompleteMultipartUpload>';
    const res = await this.send('POST', key, `uploadId=${encodeURIComponent(uploadId)}`, body, {
      'content-type': 'application/xml',
    });
    // S3 may answer 200 with an error document when the assembly fails late.
    const code = tag(res.text, 'Code');
    if (code) throw new S3ClientError(code, 200, tag(res.text, 'Message') ?? '');
    return tag(res.text, 'ETag') ?? '';
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.send('DELETE', key, `uploadId=${encodeURIComponent(uploadId)}`);
  }

  /** boto3's `generate_presigned_url("upload_part", …)`, signed for the public endpoint. */
  presignUploadPart(key: string, uploadId: string, partNumber: number, expiresSeconds: number): string {
    return presignUrl({
      ...this.settings,
      secretAccessKey: this.settings.formSecretAccessKey ?? this.settings.secretAccessKey,
      endpoint: this.settings.publicEndpoint ?? this.settings.endpoint,
      method: 'PUT',
      key,
      query: [
        ['uploadId', uploadId],
        ['partNumber', String(partNumber)],
      ],
      expiresSeconds,
      now: this.now(),
    });
  }

  /** A presigned GET the import thread streams the object from (the task's `get_object`), fetched at once. */
  presignGetObject(key: string, expiresSeconds = 3600): string {
    return presignUrl({ ...this.settings, method: 'GET', key, expiresSeconds, now: Date.now() });
  }
}
