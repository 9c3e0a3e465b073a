/**
 * Where `upload --dry-run --out PATH` writes what would be sent. For sdk, a folder (an existing one, or
 * a path ending in `/`) gets one file per batch, `sdk-batch-00001.json`, each exactly a request body; any
 * other path one file with one request body per line (JSON Lines). For direct, PATH is always a folder
 * and each batch's XML document, the upload's file part, is `direct-batch-00001.xml` (a document spans
 * lines, so there is no one-file form). Nothing is seen half-written: the batches go to a temporary file
 * or folder beside the target, moved into place once the run is through, and removed when it is not. A
 * folder's earlier batch files of the same method are replaced, nothing else in it is touched.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError } from '../errors.js';
import { fsReason } from './fs-errors.js';

export interface BatchOutput {
  /** Where the batches end up. */
  readonly path: string;
  readonly layout: 'folder' | 'lines';
  write(seq: number, body: Buffer): Promise<void>;
  /** Moves what was written into place. */
  commit(): Promise<void>;
  /** Removes what was written. */
  discard(): Promise<void>;
}

/** What is written: sdk request bodies (JSON), or direct batch documents (XML). */
export type BatchFormat = 'sdk' | 'direct';

const FILES: Record<BatchFormat, { name: (seq: number) => string; pattern: RegExp }> = {
  sdk: { name: (seq) => `sdk-batch-${String(seq).padStart(5, '0')}.json`, pattern: /^sdk-batch-\d+\.json$/ },
  direct: {
    name: (seq) => `direct-batch-${String(seq).padStart(5, '0')}.xml`,
    pattern: /^direct-batch-\d+\.xml$/,
  },
};

function failed(path: string, err: unknown): AppError {
  return new AppError('OUTPUT_WRITE_FAILED', `Cannot write ${path}: ${fsReason(err)}.`, { cause: err });
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function openBatchOutput(path: string, format: BatchFormat = 'sdk'): Promise<BatchOutput> {
  const tag = randomBytes(6).toString('hex');
  const files = FILES[format];
  if (format === 'direct' || path.endsWith('/') || (await isFolder(path))) {
    const folder = path.replace(/\/+$/, '') || '/';
    const tmp = join(dirname(folder), `.${basename(folder)}.${tag}.tmp`);
    try {
      await mkdir(tmp, { recursive: true });
    } catch (err) {
      throw failed(folder, err);
    }
    return {
      path: folder,
      layout: 'folder',
      async write(seq, body) {
        try {
          await writeFile(join(tmp, files.name(seq)), body);
        } catch (err) {
          throw failed(folder, err);
        }
      },
      async commit() {
        try {
          await mkdir(folder, { recursive: true });
          for (const name of await readdir(folder))
            if (files.pattern.test(name)) await rm(join(folder, name), { force: true });
          for (const name of await readdir(tmp)) await rename(join(tmp, name), join(folder, name));
          await rm(tmp, { recursive: true, force: true });
        } catch (err) {
          throw failed(folder, err);
        }
      },
      async discard() {
        await rm(tmp, { recursive: true, force: true });
      },
    };
  }
  const tmp = join(dirname(path), `.${basename(path)}.${tag}.tmp`);
  let stream: WriteStream;
  try {
    stream = createWriteStream(tmp, { flags: 'wx' });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    });
  } catch (err) {
    throw failed(path, err);
  }
  let error: unknown = null;
  stream.on('error', (err) => {
    error = err;
  });
  const close = () => new Promise<void>((resolve) => stream.end(() => resolve()));
  return {
    path,
    layout: 'lines',
    async write(_seq, body) {
      if (error) throw failed(path, error);
      stream.write(body);
      if (!stream.write('\n')) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
      if (error) throw failed(path, error);
    },
    async commit() {
      await close();
      if (error) throw failed(path, error);
      try {
        await rename(tmp, path);
      } catch (err) {
        await rm(tmp, { force: true });
        throw failed(path, err);
      }
    },
    async discard() {
      await close();
      await rm(tmp, { force: true });
    },
  };
}
