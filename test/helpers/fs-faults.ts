/**
 * A disk that fills up or turns read-only, for the files of one folder: creating or writing a file
 * under it fails with a real-shaped errno error (ENOSPC, EROFS, EDQUOT…), as the kernel would answer.
 * Root ignores permissions and a test cannot mount a full file system everywhere, so these faults are
 * injected at the fs module: into `openSync` (conf's atomically creates its temp file with it),
 * `writeFileSync` and `renameSync`, patched when this module loads — before conf is imported, since
 * atomically keeps the functions it found then — and active only inside `withFsFault`.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { constants } from 'node:os';
import { resolve, sep } from 'node:path';

interface Fault {
  under: string;
  code: string;
  /** Which calls fail: creating/writing files, or renaming them into place. */
  on: 'write' | 'rename';
  hits: string[];
}

let active: Fault | undefined;

function inside(path: unknown): string | undefined {
  if (!active || (typeof path !== 'string' && !(path instanceof URL))) return undefined;
  const p = resolve(String(path instanceof URL ? path.pathname : path));
  return p === active.under || p.startsWith(active.under + sep) ? p : undefined;
}

function fail(syscall: string, path: string): never {
  const code = active!.code;
  active!.hits.push(`${syscall} ${path}`);
  throw Object.assign(new Error(`${code}: injected fault, ${syscall} '${path}'`), {
    code,
    errno: -((constants.errno as Record<string, number>)[code] ?? 0),
    syscall,
    path,
  });
}

const writing = (flags: unknown) => typeof flags === 'string' && /[wax+]/.test(flags);

const original = { openSync: fs.openSync, writeFileSync: fs.writeFileSync, renameSync: fs.renameSync };
fs.openSync = ((path: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
  const p = inside(path);
  if (p && active!.on === 'write' && writing(flags)) fail('open', p);
  return original.openSync(path, flags ?? 'r', mode);
}) as typeof fs.openSync;
fs.writeFileSync = ((
  file: fs.PathOrFileDescriptor,
  data: string | NodeJS.ArrayBufferView,
  opts?: fs.WriteFileOptions,
) => {
  const p = typeof file === 'number' ? undefined : inside(file);
  if (p && active!.on === 'write') fail('open', p);
  return original.writeFileSync(file, data, opts);
}) as typeof fs.writeFileSync;
fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
  const p = inside(to);
  if (p && active!.on === 'rename') fail('rename', p);
  return original.renameSync(from, to);
}) as typeof fs.renameSync;
syncBuiltinESMExports();

/** Runs `fn` while writes under `dir` fail with `code`; returns what failed. */
export async function withFsFault<T>(
  dir: string,
  code: string,
  fn: () => Promise<T> | T,
  on: 'write' | 'rename' = 'write',
): Promise<{ result: T | undefined; error: unknown; hits: string[] }> {
  active = { under: resolve(dir), code, on, hits: [] };
  const fault = active;
  try {
    return { result: await fn(), error: undefined, hits: fault.hits };
  } catch (error) {
    return { result: undefined, error, hits: fault.hits };
  } finally {
    active = undefined;
  }
}
