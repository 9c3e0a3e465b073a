// Where the sandbox S3 endpoint keeps its bytes: one file per object (named by a hash of bucket and key, since
// keys may hold `/`, `..` or be longer than a filename) next to a JSON metadata file, and one directory per
// open multipart upload holding its parts. Bytes are always written to a temp file and renamed into place, so
// a reader never sees half an object, and nothing is ever held in memory.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

export interface StoredObject {
  bucket: string;
  key: string;
  /** Absolute path of the object's bytes on disk. */
  path: string;
  size: number;
  contentType: string | null;
  /** The ETag without quotes: hex MD5 for a single upload, `md5-of-part-md5s-N` after a multipart upload. */
  etag: string;
}

export interface MultipartUpload {
  uploadId: string;
  bucket: string;
  key: string;
  contentType: string | null;
  initiated: string;
}

export interface StoredPart {
  partNumber: number;
  size: number;
  /** Hex MD5 of the part's bytes, without quotes. */
  etag: string;
  lastModified: string;
}

const UPLOAD_ID = /^[A-Za-z0-9_-]{16,128}$/;

/** S3's multipart ETag: the MD5 of the concatenated binary part MD5s, then `-` and the part count. */
export function multipartEtag(partEtags: readonly string[]): string {
  const md5 = createHash('md5');
  for (const hex of partEtags) md5.update(Buffer.from(hex, 'hex'));
  return `${md5.digest('hex')}-${partEtags.length}`;
}

export class ObjectStore {
  readonly objectsDir: string;
  readonly uploadsDir: string;
  readonly tmpDir: string;

  constructor(readonly dataDir: string) {
    this.objectsDir = join(dataDir, 'objects');
    this.uploadsDir = join(dataDir, 'uploads');
    this.tmpDir = join(dataDir, 'tmp');
  }

  async init(): Promise<void> {
    for (const dir of [this.objectsDir, this.uploadsDir, this.tmpDir]) await mkdir(dir, { recursive: true });
  }

  /** A fresh path in the temp dir; the caller writes it and hands it to put() or putPart(), or unlinks it. */
  tempPath(): string {
    return join(this.tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}`);
  }

  private objectName(bucket: string, key: string): string {
    return createHash('sha256').update(`${bucket}\0${key}`).digest('hex');
  }

  async get(bucket: string, key: string): Promise<StoredObject | undefined> {
    if (key === '') return undefined;
    const name = this.objectName(bucket, key);
    try {
      const meta = JSON.parse(await readFile(join(this.objectsDir, `${name}.json`), 'utf8')) as Omit<
        StoredObject,
        'path'
      >;
      const path = join(this.objectsDir, name);
      // The bytes are renamed in after the metadata: an object is there once both are.
      const size = (await stat(path)).size;
      return { ...meta, size, path };
    } catch {
      return undefined;
    }
  }

  /** Moves `tmp` into place as the object (replacing any earlier one) and returns it. */
  async put(
    bucket: string,
    key: string,
    tmp: string,
    meta: { size: number; contentType: string | null; etag: string },
  ): Promise<StoredObject> {
    const name = this.objectName(bucket, key);
    const object: StoredObject = { bucket, key, path: join(this.objectsDir, name), ...meta };
    const { path: _path, ...json } = object;
    // Metadata first, then the bytes' rename: a reader that finds the bytes also finds their metadata.
    await writeFile(join(this.objectsDir, `${name}.json`), JSON.stringify(json));
    await rename(tmp, object.path);
    return object;
  }

  async createUpload(bucket: string, key: string, contentType: string | null, now: number): Promise<string> {
    const uploadId = randomBytes(24).toString('base64url');
    const dir = join(this.uploadsDir, uploadId);
    await mkdir(dir);
    const upload: MultipartUpload = {
      uploadId,
      bucket,
      key,
      contentType,
      initiated: new Date(now).toISOString(),
    };
    await writeFile(join(dir, 'upload.json'), JSON.stringify(upload));
    return uploadId;
  }

  /** The open upload, or undefined when it never existed, was aborted or completed, or is for another key. */
  async getUpload(bucket: string, key: string, uploadId: string): Promise<MultipartUpload | undefined> {
    if (!UPLOAD_ID.test(uploadId)) return undefined;
    try {
      const upload = JSON.parse(
        await readFile(join(this.uploadsDir, uploadId, 'upload.json'), 'utf8'),
      ) as MultipartUpload;
      return upload.bucket === bucket && upload.key === key ? upload : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Moves `tmp` into the upload as part `partNumber`, replacing an earlier upload of the same number. False
   * (and `tmp` removed) when the upload was completed or aborted meanwhile.
   */
  async putPart(upload: MultipartUpload, part: StoredPart, tmp: string): Promise<boolean> {
    const dir = join(this.uploadsDir, upload.uploadId);
    try {
      // Bytes first, then the metadata that lists the part: a listed part always has its bytes.
      await rename(tmp, join(dir, String(part.partNumber)));
      await writeFile(join(dir, `${part.partNumber}.json`), JSON.stringify(part));
      return true;
    } catch (err) {
      await unlink(tmp).catch(() => {});
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** The upload's parts in part-number order. */
  async listParts(upload: MultipartUpload): Promise<StoredPart[]> {
    const dir = join(this.uploadsDir, upload.uploadId);
    const parts: StoredPart[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!/^\d+\.json$/.test(name)) continue;
      try {
        parts.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as StoredPart);
      } catch {
        // A part being replaced right now; the listing shows it once its rename is done.
      }
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /**
   * Concatenates `parts` (already checked by the caller) into the object and discards the upload; undefined
   * when another request completed or aborted it first. The upload is claimed by renaming its directory,
   * so from then on it is gone for every other request, as in S3.
   */
  async completeUpload(
    upload: MultipartUpload,
    parts: readonly StoredPart[],
  ): Promise<StoredObject | undefined> {
    const dir = join(this.tmpDir, `completing-${upload.uploadId}`);
    try {
      await rename(join(this.uploadsDir, upload.uploadId), dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const tmp = this.tempPath();
    const out = createWriteStream(tmp);
    try {
      for (const part of parts) {
        await pipeline(createReadStream(join(dir, String(part.partNumber))), out, { end: false });
      }
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      out.destroy();
      await unlink(tmp).catch(() => {});
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    const object = await this.put(upload.bucket, upload.key, tmp, {
      size: parts.reduce((sum, p) => sum + p.size, 0),
      contentType: upload.contentType,
      etag: multipartEtag(parts.map((p) => p.etag)),
    });
    await rm(dir, { recursive: true, force: true });
    return object;
  }

  async abortUpload(upload: MultipartUpload): Promise<void> {
    await rm(join(this.uploadsDir, upload.uploadId), { recursive: true, force: true });
  }
}
