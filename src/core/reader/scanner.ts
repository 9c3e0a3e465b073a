/**
 * The export reader's scanners: a purpose-built streaming scanner for Apple Health exports (format
 * §2.6), fed Buffers split anywhere, reporting each direct child of the root, the prolog facts and
 * every defect (format §2.1, §2.2). The full scanner is export-scanner.ts (the hot loop), the
 * check-only one check-scanner.ts; this module is where callers get them.
 */
import { CheckOnlyScanner } from './check-scanner.js';
import type { DigestFields, TapeDigest } from './content-check.js';
import { ExportScanner } from './export-scanner.js';
import type { ScannerLimits } from './limits.js';
import type { TapeElement, TapeFields } from './tape.js';
import { TapeScanner } from './tape-scanner.js';
import type { Defect, ScanSummary, TopLevelElement } from './types.js';

export { ExportScanner } from './export-scanner.js';

export interface ScannerHandlers {
  onElement?(el: TopLevelElement): void;
  /**
   * Each direct child of the root by name and source span [start, end) only: for whoever needs where
   * elements lie and not what they hold (upload's part planning). Unlike onElement, it leaves a
   * check-only scan its compiled fast path (content-check.ts).
   */
  onTopLevel?(name: string, start: number, end: number): void;
  onDefect?(d: Defect): void;
  /** Each direct child of the root as a tape (tape.ts), in a tape scan (ScannerOptions.tape). */
  onTape?(el: TapeElement): void;
  /**
   * Instead of onTape, each top-level element the compiled fast path digested (ScannerOptions.digest),
   * in its place in file order: `el` points at its tag entry (its tree hash), `type` and `outcome` are
   * what the digest's keys say, `extremes` has DIGEST_FIRST / DIGEST_LAST when its startDate is the
   * earliest / latest the digest met since the last element handed over this way, at `dateAt` in el.bytes,
   * and `epoch` the instant of its startDate (ms) when that is in Apple's shape, else NaN.
   */
  onDigested?(
    el: TapeElement,
    type: number,
    outcome: number,
    extremes: number,
    dateAt: number,
    epoch: number,
  ): void;
}

/**
 * Where a fragment scan starts: a byte offset that is believed to begin a line inside the root, between
 * two top-level elements (parallel-scan.ts picks it). The scanner then starts inside `<HealthData>`,
 * reports absolute offsets, and counts lines from 1 at that offset; endFragment() says whether the guess held.
 */
export interface FragmentStart {
  offset: number;
}

export interface ScannerOptions {
  /**
   * Check the document without decoding attribute values: the verdict, defects, positions and counts
   * are those of a full scan, but elements carry no attributes and no children: for upload's check and
   * split planning, which only need the verdict and where each top-level element lies, and would
   * otherwise spend most of their time on strings. One more error: bytes that are not UTF-8 (utf8.ts),
   * which a full scan decodes to U+FFFD but the backend's parser refuses in what upload sends as is.
   */
  checkOnly?: boolean;
  /**
   * A check-only scan without onElement passes over whole top-level elements with the compiled fast
   * path (content-check.ts) where it can; false reads every byte here instead (tests compare the two).
   */
  fastPath?: boolean;
  /**
   * Refuse the first byte that is not UTF-8 as the backend's XML parser reads it (utf8.ts), in document
   * order with the other errors: for validate, which reports what the backend would refuse. Always on
   * for a check-only scan; off, a full scan decodes such bytes to U+FFFD (direct re-encodes values).
   */
  utf8?: boolean;
  /**
   * A check-only scan that hands over each top-level element as a tape (onTape): its names and raw
   * values where they lie in the bytes, for validate, which reads what it needs without decoding.
   */
  tape?: boolean;
  /** A tape scan's field names (tape.ts TapeFields), found for its reader on the tape. */
  tapeFields?: TapeFields;
  /**
   * A tape scan whose compiled fast path digests plain Records (content-check.ts TapeDigest): `attach`
   * gets the digest to register keys with, once, when there is a compiled fast path (never without one).
   */
  digest?: { fields: DigestFields; attach(digest: TapeDigest): void };
}

/** Everything in ScanSummary except the fingerprint, which the driver computes alongside. */
export type ScanResult = Omit<ScanSummary, 'sha256'>;

/** A scanner for `options`: the full one, the check-only one, or the tape one. */
export function createScanner(
  handlers: ScannerHandlers = {},
  limits: Partial<ScannerLimits> = {},
  fragment?: FragmentStart,
  options: ScannerOptions = {},
): ExportScanner {
  if (options.tape)
    return new TapeScanner(
      handlers,
      limits,
      fragment,
      options.fastPath ?? true,
      options.tapeFields ?? null,
      options.digest,
    );
  return options.checkOnly
    ? new CheckOnlyScanner(handlers, limits, fragment, options.fastPath ?? true)
    : new ExportScanner(handlers, limits, fragment, options);
}
