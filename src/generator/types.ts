import type { DtdVariant } from './dtd.js';

/** Knobs of the synthetic export (format §5); every quirk is a seeded toggle (§5.6). */
export interface GeneratorOptions {
  /** PRNG seed; the same options and seed give byte-identical output. Default 1. */
  seed?: number;
  /** Days of data (default 30); ignored when targetBytes is set. */
  days?: number;
  /** Approximate output size; the day count is estimated from a dry run of a few days. */
  targetBytes?: number;
  /** First day, `YYYY-MM-DD` (default 2024-01-01). */
  startDate?: string;
  /** Days before this date use the pre-iOS-16 shape: workout totals as attributes, no stages (default 2022-09-12). */
  modernFrom?: string;
  /** en_US (default), fr_FR, de_DE, pt_PT or zh_CN: zone, units, beat-time format. */
  locale?: string;
  /** `HealthKit Export Version` in the DTD comment (default 14; 12 for the iOS 16 variant). */
  exportVersion?: number;
  dtd?: DtdVariant;
  /** Probability that a MetadataEntry value carries a U+000B (format §2.2). */
  controlChars?: number;
  /** Probability that a Record is followed by 1–7 byte-identical copies (format §2.7). */
  dupExact?: number;
  /** Cut the output after this many bytes (a partial export). */
  truncateAt?: number;
  /** Interleave element kinds and types within each day instead of Apple's grouping. */
  shuffleOrder?: boolean;
  /** One attribute per line, like hand-edited samples (format §2.6). */
  reformat?: boolean;
  /** Blood-pressure correlations 0–3 a week (default true). */
  bloodPressure?: boolean;
  /** Food correlations 3–5 a day from a nutrition app (default true). */
  nutrition?: boolean;
  /** ClinicalRecord pointers (default 2). */
  clinical?: number;
  /** Audiograms (default 1) and a vision prescription (default true). */
  audiograms?: number;
  vision?: boolean;
  /** Add an emoji-only watch name and a name with U+00A0 (default true). */
  quirkyNames?: boolean;
  /** Probability that a Record's dates are in the iOS 8-era compact form, `20141018163200+0100` (quirks.ts). */
  compactDates?: number;
  /** Probability that a Watch workout is followed by a copy from another app, same start and end (quirks.ts). */
  workoutCopies?: number;
  /**
   * Probability that a top-level Record with a device is followed by the same sample from another app
   * on that device model (another sourceName and value, same type and start: quirks.ts).
   */
  recordCopies?: number;
}

/** What the generator wrote, counted as it wrote it: the expected answer for validate. */
export interface GeneratorTruth {
  bytes: number;
  truncated: boolean;
  locale: string;
  exportVersion: number | undefined;
  exportDate: string;
  days: number;
  /** Complete top-level elements by name (ExportDate, Me, Record, Workout, …). */
  elements: Record<string, number>;
  /** Complete descendants of top-level elements by name (MetadataEntry, WorkoutStatistics, …). */
  nestedElements: Record<string, number>;
  /** Top-level Records by type (correlation children not included). */
  recordTypes: Record<string, number>;
  /** Top-level Records per `YYYY-MM` of their startDate. */
  recordsPerMonth: Record<string, number>;
  workoutTypes: Record<string, number>;
  /** Extra byte-identical copies (a record written three times adds 2). */
  exactDuplicates: number;
  correlations: number;
  /** Top-level Records that repeat a Correlation child. */
  correlationCopies: number;
  controlChars: number;
  /** Earliest and latest startDate of a top-level Record or Workout, as written. */
  firstStartDate: string | undefined;
  lastStartDate: string | undefined;
}

export interface ZipExportOptions extends GeneratorOptions {
  /** Name of the main XML inside `apple_health_export/` (default export.xml, 导出.xml for zh_CN). */
  entryName?: string;
  macosxJunk?: boolean;
  cdaFile?: boolean;
  compression?: 'store' | 'deflate';
  /** Zip64 extra fields and end-of-central-directory even when not needed. */
  forceZip64?: boolean;
  /** Directory entries for apple_health_export/ (default true). */
  directoryEntries?: boolean;
}
