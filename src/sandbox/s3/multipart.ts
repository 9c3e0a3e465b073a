// The multipart upload API of the sandbox S3 endpoint (CreateMultipartUpload, UploadPart, ListParts,
// CompleteMultipartUpload, AbortMultipartUpload), with the rules and answers of AWS S3: parts of 5 MiB or
// more except the last, ETags as S3 computes them (quoted MD5 per part, MD5-of-MD5s `-N` for the object),
// InvalidPart / InvalidPartOrder / EntityTooSmall at completion, NoSuchUpload once completed or aborted.
// Part bodies are streamed to temp files (receive-body.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { S3Context, S3Request } from './context.js';
import { requestId, S3_ERRORS, S3Error, xmlEscape } from './errors.js';
import { checkPutHeaders, receiveBody } from './receive-body.js';
import type { MultipartUpload, StoredPart } from './store.js';

/** S3's smallest part except the last, and its part-number range. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const MAX_COMPLETE_BODY_BYTES = 4 * 1024 * 1024;

function sendXml(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(text),
    'x-amz-request-id': requestId(),
    ...headers,
  });
  res.end(text);
}

const el = (name: string, value: string | number) => `<${name}>${xmlEscape(String(value))}</${name}>`;

async function openUpload(
  ctx: S3Context,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<MultipartUpload> {
  const upload = await ctx.store.getUpload(bucket, key, uploadId);
  if (!upload) throw new S3Error(S3_ERRORS.noSuchUpload(uploadId));
  return upload;
}

/** `POST /{bucket}/{key}?uploads` */
export async function createMultipartUpload(
  ctx: S3Context,
  { req, res, bucket, key }: S3Request,
): Promise<void> {
  req.resume();
  const type = req.headers['content-type'];
  const uploadId = await ctx.store.createUpload(
    bucket,
    key,
    typeof type === 'string' ? type : null,
    ctx.now(),
  );
  sendXml(
    res,
    200,
    `<InitiateMultipartUploadResult xmlns="${XMLNS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', uploadId)}</InitiateMultipartUploadResult>`,
  );
}

function partNumberOf(raw: string | null): number {
  const n = Number(raw);
  if (raw === null || !/^\d+$/.test(raw) || n < 1 || n > MAX_PART_NUMBER) {
    throw new S3Error({
      status: 400,
      code: 'InvalidArgument',
      message: `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
      extra: [
        ['ArgumentName', 'partNumber'],
        ['ArgumentValue', raw ?? ''],
      ],
    });
  }
  return n;
}

/** `PUT /{bucket}/{key}?partNumber=N&uploadId=ID` */
export async function uploadPart(
  ctx: S3Context,
  { req, res, bucket, key, query, payloadHash }: S3Request,
): Promise<void> {
  const partNumber = partNumberOf(query.get('partNumber'));
  checkPutHeaders(req);
  const upload = await openUpload(ctx, bucket, key, query.get('uploadId') ?? '');
  const body = await receiveBody(req, ctx.store.tempPath(), payloadHash);
  const kept = await ctx.store.putPart(
    upload,
    { partNumber, size: body.size, etag: body.md5Hex, lastModified: new Date(ctx.now()).toISOString() },
    body.tmp,
  );
  // Aborted or completed while the part streamed in: S3 refuses it too.
  if (!kept) throw new S3Error(S3_ERRORS.noSuchUpload(upload.uploadId));
  res.writeHead(200, { etag: `"${body.md5Hex}"`, 'content-length': 0, 'x-amz-request-id': requestId() });
  res.end();
}

/** `GET /{bucket}/{key}?uploadId=ID[&max-parts=N][&part-number-marker=M]` */
export async function listParts(ctx: S3Context, { res, bucket, key, query }: S3Request): Promise<void> {
  const upload = await openUpload(ctx, bucket, key, query.get('uploadId') ?? '');
  const maxParts = Math.min(1000, Math.max(0, Number(query.get('max-parts') ?? 1000) || 0));
  const marker = Number(query.get('part-number-marker') ?? 0) || 0;
  const after = (await ctx.store.listParts(upload)).filter((p) => p.partNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  const parts = page
    .map(
      (p) =>
        `<Part>${el('PartNumber', p.partNumber)}${el('LastModified', p.lastModified)}${el('ETag', `"${p.etag}"`)}${el('Size', p.size)}</Part>`,
    )
    .join('');
  sendXml(
    res,
    200,
    `<ListPartsResult xmlns="${XMLNS}">${el('Bucket', bucket)}${el('Key', key)}${el('UploadId', upload.uploadId)}` +
      `${el('PartNumberMarker', marker)}${el('NextPartNumberMarker', page.at(-1)?.partNumber ?? marker)}` +
      `${el('MaxParts', maxParts)}${el('IsTruncated', String(truncated))}${parts}</ListPartsResult>`,
  );
}

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|quot|amp|lt|gt|apos);/g, (_, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" }[e] as string;
  });
}

/** The `<CompleteMultipartUpload>` document's parts, in the order given. */
export function parseCompleteBody(xml: string): { partNumber: number; etag: string }[] {
  const body = xml.replace(/^\s*<\?xml[^>]*\?>/, '').trim();
  const root = /^<CompleteMultipartUpload(?:\s[^>]*)?>([\s\S]*)<\/CompleteMultipartUpload>$/.exec(body);
  if (!root) throw new S3Error(S3_ERRORS.malformedXml());
  const inner = root[1] as string;
  const parts: { partNumber: number; etag: string }[] = [];
  const rest = inner.replace(/<Part>([\s\S]*?)<\/Part>/g, (_, part: string) => {
    const number = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(part)?.[1];
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(part)?.[1];
    if (number === undefined || etag === undefined) throw new S3Error(S3_ERRORS.malformedXml());
    parts.push({ partNumber: Number(number), etag: unescapeXml(etag).trim() });
    return '';
  });
  if (rest.trim() !== '' || parts.length === 0) throw new S3Error(S3_ERRORS.malformedXml());
  return parts;
}

async function readSmallBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_COMPLETE_BODY_BYTES) throw new S3Error(S3_ERRORS.malformedXml());
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const bareEtag = (etag: string) => etag.replace(/^"|"$/g, '').toLowerCase();

/** `POST /{bucket}/{key}?uploadId=ID` with the parts to assemble. */
export async function completeMultipartUpload(
  ctx: S3Context,
  { req, res, bucket, key, query }: S3Request,
): Promise<void> {
  const upload = await openUpload(ctx, bucket, key, query.get('uploadId') ?? '');
  const claimed = parseCompleteBody(await readSmallBody(req));
  for (let i = 1; i < claimed.length; i++) {
    if ((claimed[i]?.partNumber ?? 0) <= (claimed[i - 1]?.partNumber ?? 0)) {
      throw new S3Error({
        status: 400,
        code: 'InvalidPartOrder',
        message:
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        extra: [['UploadId', upload.uploadId]],
      });
    }
  }
  const stored = new Map((await ctx.store.listParts(upload)).map((p) => [p.partNumber, p]));
  const chosen: StoredPart[] = [];
  for (const part of claimed) {
    const have = stored.get(part.partNumber);
    if (!have || have.etag !== bareEtag(part.etag)) {
      throw new S3Error({
        status: 400,
        code: 'InvalidPart',
        message:
          "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
        extra: [
          ['UploadId', upload.uploadId],
          ['PartNumber', String(part.partNumber)],
          ['ETag', part.etag],
        ],
      });
    }
    chosen.push(have);
  }
  for (const [i, part] of chosen.entries()) {
    if (i < chosen.length - 1 && part.size < MIN_PART_BYTES) {
      throw new S3Error({
        status: 400,
        code: 'EntityTooSmall',
        message: 'Your proposed upload is smaller than the minimum allowed object size.',
        extra: [
          ['ProposedSize', String(part.size)],
          ['MinSizeAllowed', String(MIN_PART_BYTES)],
          ['PartNumber', String(part.partNumber)],
          ['ETag', `"${part.etag}"`],
        ],
      });
    }
  }
  const object = await ctx.store.completeUpload(upload, chosen);
  if (!object) throw new S3Error(S3_ERRORS.noSuchUpload(upload.uploadId));
  const location = `${ctx.endpoint()}/${bucket}/${encodeURIComponent(key)}`;
  sendXml(
    res,
    200,
    `<CompleteMultipartUploadResult xmlns="${XMLNS}">${el('Location', location)}${el('Bucket', bucket)}` +
      `${el('Key', key)}${el('ETag', `"${object.etag}"`)}</CompleteMultipartUploadResult>`,
  );
  ctx.objectCreated(object);
}

/** `DELETE /{bucket}/{key}?uploadId=ID`: 204, then NoSuchUpload for anything that names it. */
export async function abortMultipartUpload(
  ctx: S3Context,
  { req, res, bucket, key, query }: S3Request,
): Promise<void> {
  req.resume();
  const upload = await openUpload(ctx, bucket, key, query.get('uploadId') ?? '');
  await ctx.store.abortUpload(upload);
  res.writeHead(204, { 'x-amz-request-id': requestId() });
  res.end();
}
