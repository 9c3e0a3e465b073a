/**
 * What a failed file-system call means to the user, in words: the errno codes a local file can give
 * (permissions, a full or read-only disk, a folder where a file was expected), and the stable error
 * each becomes. Reading the export is the input's fault (exit 3); writing the config folder is the
 * machine's (exit 1). Neither is ever "unexpected".
 */
import { AppError } from '../errors.js';

const REASONS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EROFS: 'the file system is read-only',
  ENOENT: 'a folder on the path does not exist',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'it is a folder, not a file',
  ELOOP: 'too many symbolic links (a link loop?)',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on the system',
  EIO: 'an I/O error from the device',
  EBUSY: 'the file is busy',
  ETXTBSY: 'the file is busy',
  EEXIST: 'it already exists',
  ENXIO: 'no such device',
  EAGAIN: 'the file is temporarily unavailable',
  ESTALE: 'a stale network file handle',
  ETIMEDOUT: 'the (network) file system timed out',
};

export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** "permission denied (EACCES)", or the error's own message when it carries no errno. */
export function fsReason(err: unknown): string {
  const code = errnoOf(err);
  if (code === undefined) return err instanceof Error ? err.message : String(err);
  return `${REASONS[code] ?? 'the system refused'} (${code})`;
}

/** True for the errors a read of a local file can give; anything else is not the file's fault. */
export function isFsError(err: unknown): boolean {
  return errnoOf(err) !== undefined && !(err instanceof AppError);
}

/** The export (or a file or folder inside it) cannot be read: INPUT_NOT_FOUND or INPUT_UNREADABLE, exit 3. */
export function inputReadError(path: string, err: unknown): AppError {
  const code = errnoOf(err);
  if (code === 'ENOENT' || code === 'ENOTDIR')
    return new AppError('INPUT_NOT_FOUND', `${path}: no such file or folder`, {
      hint: 'Pass export.zip from "Export All Health Data", the export.xml inside it, or the unzipped folder.',
      cause: err,
    });
  const hint =
    code === 'EACCES' || code === 'EPERM'
      ? 'Check its permissions (ls -l) and that of the folders above it, or run as a user who may read it.'
      : code === 'EISDIR'
        ? 'Pass the export.zip, the export.xml inside it, or the folder that holds it.'
        : undefined;
  return new AppError('INPUT_UNREADABLE', `${path}: cannot read it: ${fsReason(err)}`, {
    ...(hint ? { hint } : {}),
    cause: err,
  });
}

/**
 * A file in the config folder (config, ledger, lock) cannot be written: CONFIG_WRITE_FAILED, exit 1.
 * `what` names the file for the user ("the upload ledger entry"); `dir` is the folder to fix.
 */
export function configWriteError(
  what: string,
  path: string,
  err: unknown,
  opts: { dir?: string; verb?: string } = {},
): AppError {
  const code = errnoOf(err);
  const where = opts.dir ?? path;
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? `Free some space on the disk that holds ${where}, or point APPLE_IMPORT_CONFIG_DIR at another folder.`
      : `Make ${where} writable, or point APPLE_IMPORT_CONFIG_DIR at a folder you may write.`;
  return new AppError(
    'CONFIG_WRITE_FAILED',
    `Could not ${opts.verb ?? 'write'} ${what} ${path}: ${fsReason(err)}.`,
    { hint, cause: err },
  );
}

/** A file in the config folder exists but cannot be read: CONFIG_READ_FAILED, exit 1. */
export function configReadError(what: string, path: string, err: unknown): AppError {
  return new AppError('CONFIG_READ_FAILED', `Could not read ${what} ${path}: ${fsReason(err)}.`, {
    hint: 'Check the permissions of the config folder (`apple-import config path` prints where it is).',
    cause: err,
  });
}
