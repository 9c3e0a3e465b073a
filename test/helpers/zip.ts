import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { writeZip, type ZipInput, type ZipWriteOptions } from '../../src/generator/zip-writer.js';

export type { ZipInput };

/** Writes a real zip file (store/deflate, UTF-8 names, optional Zip64 records) for input-resolution tests. */
export async function writeZipFile(
  path: string,
  inputs: ZipInput[],
  opts: ZipWriteOptions = {},
): Promise<void> {
  const out = createWriteStream(path);
  await writeZip(out, inputs, opts);
  out.end();
  await finished(out);
}
