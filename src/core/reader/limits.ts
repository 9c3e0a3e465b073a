/**
 * Hard bounds that keep the scanner's memory constant whatever the input (format §2.6: bounded
 * buffers, never whole-file strings). Apple's largest top-level elements are Workouts of a few KB
 * and nesting is at most 5 deep, so these leave three orders of magnitude of headroom.
 */
export const SCANNER_LIMITS = {
  /** Bytes one top-level element (or any single piece of markup) may span. */
  maxElementBytes: 16 * 1024 * 1024,
  /** Element depth counting the root (`HealthData` = 1). */
  maxDepth: 64,
  /** Illegal characters reported one by one; the rest are only counted. */
  maxReportedIllegalChars: 10,
  /** Defects kept in the summary list; `defectCounts` counts all of them. */
  maxReportedDefects: 100,
} as const;

export type ScannerLimits = { -readonly [K in keyof typeof SCANNER_LIMITS]: number };
