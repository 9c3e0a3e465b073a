import { randomBytes } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `file` through a temp file beside it and a rename, so nobody ever sees half of it and a failure
 * or Ctrl-C leaves nothing behind. `fill` writes the temp file, by whatever means (a stream, a generator).
 * With `replace: false`, an existing file is refused (an EEXIST error) before anything is written.
 * Resolves with the size of the file written.
 */
export async function writeFileAtomically(
  file: string,
  fill: (tmpPath: string) => Promise<void>,
  opts: { replace?: boolean } = {},
): Promise<{ bytes: number }> {
  if (opts.replace === false && (await exists(file))) {
    throw Object.assign(new Error(`${file} already exists`), { code: 'EEXIST', path: file });
  }
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fill(tmp);
    const { size } = await stat(tmp);
    await rename(tmp, file);
    return { bytes: size };
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function writeTextAtomically(file: string, text: string): Promise<void> {
  await writeFileAtomically(file, (tmp) => writeFile(tmp, text, { mode: 0o644 }));
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
