/** Exit codes are a public contract (product.md "Output, exit codes, interruption"). */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INVALID_INPUT: 3,
  AUTH: 4,
  INTERRUPTED: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Every stable error code and the exit code it maps to: the one table. */
export const ERROR_EXIT_CODES = {
  USAGE: ExitCode.USAGE,
  CONFIG_INVALID: ExitCode.USAGE,
  /** A file in the config folder (config, ledger, lock) cannot be written: read-only, full, missing. */
  CONFIG_WRITE_FAILED: ExitCode.FAILURE,
  /** A file in the config folder exists but cannot be read (permissions). */
  CONFIG_READ_FAILED: ExitCode.FAILURE,
  /** A file the user asked for (`upload --dry-run --out`) cannot be written. */
  OUTPUT_WRITE_FAILED: ExitCode.FAILURE,
  INPUT_NOT_FOUND: ExitCode.INVALID_INPUT,
  /** The export exists but cannot be read: permissions, a folder where a file was expected, I/O errors. */
  INPUT_UNREADABLE: ExitCode.INVALID_INPUT,
  INPUT_INVALID: ExitCode.INVALID_INPUT,
  /** The export's file changed (size, modification time, identity) since it was opened. */
  INPUT_CHANGED: ExitCode.INVALID_INPUT,
  /** A zip holds several Apple Health export XMLs and none is the canonical one. */
  INPUT_AMBIGUOUS: ExitCode.INVALID_INPUT,
  /** A zip entry would inflate past a sane ratio or size (a zip bomb); refused before it is read. */
  INPUT_ZIP_BOMB: ExitCode.INVALID_INPUT,
  AUTH_REQUIRED: ExitCode.AUTH,
  AUTH_INVALID: ExitCode.AUTH,
  AUTH_REFRESH_FAILED: ExitCode.AUTH,
  NETWORK_ERROR: ExitCode.FAILURE,
  TIMEOUT: ExitCode.FAILURE,
  API_ERROR: ExitCode.FAILURE,
  NOT_FOUND: ExitCode.FAILURE,
  S3_UPLOAD_FAILED: ExitCode.FAILURE,
  IMPORT_FAILED: ExitCode.FAILURE,
  LOCK_TIMEOUT: ExitCode.FAILURE,
  /** A ledger entry that cannot be read (not JSON, or not an entry this version knows). */
  LEDGER_INVALID: ExitCode.FAILURE,
  INTERNAL: ExitCode.FAILURE,
  CANCELLED: ExitCode.INTERRUPTED,
} as const satisfies Record<string, ExitCodeValue>;
export type ErrorCode = keyof typeof ERROR_EXIT_CODES;

export interface AppErrorOptions {
  /** What the user can do about it, printed on its own line. */
  hint?: string;
  cause?: unknown;
  /** Extra detail shown only with --debug (must not contain secrets). */
  details?: string;
}

/** Base of every error the CLI expects; `code` is stable and maps to an exit code. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): ExitCodeValue {
    return ERROR_EXIT_CODES[this.code];
  }
}

export class UsageError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('USAGE', message, options);
    this.name = 'UsageError';
  }
}

/** An HTTP answer from the backend that is not 2xx; `detail` is the contract's `{"detail": "..."}` (§7). */
export class ApiError extends AppError {
  readonly status: number;
  readonly detail: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    status: number,
    message: string,
    options: AppErrorOptions & { detail?: string; retryAfterMs?: number; code?: ErrorCode } = {},
  ) {
    super(
      options.code ?? (status === 401 ? 'AUTH_INVALID' : status === 404 ? 'NOT_FOUND' : 'API_ERROR'),
      message,
      options,
    );
    this.name = 'ApiError';
    this.status = status;
    this.detail = options.detail;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export class CancelledError extends AppError {
  constructor(message = 'Interrupted') {
    super('CANCELLED', message);
    this.name = 'CancelledError';
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Maps anything thrown to an exit code; unknown errors are operational failures. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (isAppError(err)) return err.exitCode;
  if (isAbortError(err)) return ExitCode.INTERRUPTED;
  return ExitCode.FAILURE;
}

export function isAbortError(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    ((err as { name?: string }).name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR')
  );
}

/** The exit-code table as shown in --help and the README. */
export const EXIT_CODE_HELP = `Exit codes:
  0    success
  1    operational failure (network, server, S3, a config folder that cannot be written)
  2    usage error (unknown command or flag, bad value)
  3    invalid input (not an Apple Health export, unreadable, malformed XML, a zip bomb)
  4    authentication (not logged in, credentials rejected)
  130  interrupted (Ctrl-C)`;
