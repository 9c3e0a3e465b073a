/**
 * The async driver over the scanner: one pass that scans, fingerprints (sha256, for the upload
 * ledger) and reports progress, honouring an AbortSignal between chunks.
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../errors.js';
import { createScanner, type ScannerHandlers, type ScannerOptions } from './scanner.js';
import type { TapeElement, TapeFields } from './tape.js';
import type { Defect, ScanSummary, TopLevelElement } from './types.js';

export interface ScanHandlers {
  onElement?(el: TopLevelElement): void;
  /** Each top-level element's name and span only (ScannerHandlers.onTopLevel). */
  onTopLevel?(name: string, start: number, end: number): void;
  onDefect?(d: Defect): void;
  /** Each top-level element as a tape (ScanOptions.tape). */
  onTape?(el: TapeElement): void;
  /** Each top-level element the compiled fast path digested (ScanOptions.digest; ScannerHandlers.onDigested). */
  onDigested?: ScannerHandlers['onDigested'];
  /** Total source bytes consumed so far, after each chunk. */
  onProgress?(bytesRead: number): void;
}

export interface ScanOptions {
  signal?: AbortSignal;
  /** Compute the sha256 of the source in the same pass (default true); validate has no use for it. */
  hash?: boolean;
  /** Elements without attribute values (ScannerOptions.checkOnly): for callers that need only the verdict and offsets. */
  checkOnly?: boolean;
  /** Refuse bytes that are not UTF-8 (ScannerOptions.utf8; implied by checkOnly and tape). */
  utf8?: boolean;
  /** A tape scan (ScannerOptions.tape): elements go to onTape, with these field names found. */
  tape?: boolean;
  tapeFields?: TapeFields;
  /** ScannerOptions.digest. */
  digest?: ScannerOptions['digest'];
}

/** Scans a whole export in constant memory; resolves with what validate/repair/split need. */
export async function scanExport(
  source: AsyncIterable<Buffer>,
  handlers: ScanHandlers,
  opts: ScanOptions = {},
): Promise<ScanSummary> {
  const { signal } = opts;
  const hash = opts.hash === false ? null : createHash('sha256');
  const scanner = createScanner(
    {
      onElement: handlers.onElement,
      onTopLevel: handlers.onTopLevel,
      onDefect: handlers.onDefect,
      onTape: handlers.onTape,
      onDigested: handlers.onDigested,
    },
    {},
    undefined,
    {
      checkOnly: opts.checkOnly === true,
      utf8: opts.utf8 === true,
      tape: opts.tape === true,
      ...(opts.tapeFields ? { tapeFields: opts.tapeFields } : {}),
      ...(opts.digest ? { digest: opts.digest } : {}),
    },
  );
  let bytes = 0;
  const checkAbort = (): void => {
    if (signal?.aborted) throw new AppError('CANCELLED', 'scan cancelled', { cause: signal.reason });
  };
  checkAbort();
  for await (const chunk of source) {
    checkAbort();
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    hash?.update(buf);
    scanner.write(buf);
    bytes += buf.length;
    handlers.onProgress?.(bytes);
  }
  checkAbort();
  scanner.end();
  return { ...scanner.result(), sha256: hash ? hash.digest('hex') : '' };
}
