/**
 * The generator variants whose validate reports are kept as goldens (goldens.json, written by
 * capture.ts at commit 0362dc1, before validate collected from byte ranges). The inputs are generated
 * again at test time from these options; only the expected reports are committed.
 */
import type { GeneratorOptions, ZipExportOptions } from '../../../../src/generator/index.js';

export interface GoldenVariant {
  name: string;
  /** A plain file unless `zip`. */
  options: GeneratorOptions | ZipExportOptions;
  zip?: boolean;
  /** Extra validate flags. */
  args?: string[];
  /** Also keep the human report. */
  text?: boolean;
}

export const GOLDEN_VARIANTS: GoldenVariant[] = [
  { name: 'grouped', options: { seed: 11, days: 3 }, text: true },
  {
    name: 'ios16-control-chars',
    options: { seed: 12, days: 2, dtd: 'ios16-unclosed-attlist', controlChars: 0.05 },
    text: true,
  },
  { name: 'duplicates-shuffled', options: { seed: 13, days: 2, dupExact: 0.01, shuffleOrder: true } },
  {
    name: 'missing-gt-reformat-fr',
    options: { seed: 14, days: 2, dtd: 'missing-gt', reformat: true, locale: 'fr_FR' },
  },
  {
    name: 'extra-gt-era-switch',
    options: { seed: 15, days: 3, startDate: '2022-09-10', dtd: 'extra-gt', dupExact: 0.005 },
  },
  { name: 'no-dtd-de', options: { seed: 16, days: 2, dtd: 'none', locale: 'de_DE' } },
  { name: 'legacy-pt', options: { seed: 18, days: 2, startDate: '2021-05-01', locale: 'pt_PT' } },
  { name: 'truncated', options: { seed: 17, days: 2, truncateAt: 600_000 }, text: true },
  {
    name: 'filtered',
    options: { seed: 11, days: 3 },
    args: ['--since', '2024-01-02', '--until', '2024-01-02', '--types', 'HeartRate,StepCount,Workout'],
    text: true,
  },
  {
    name: 'zip-zh',
    options: { seed: 21, days: 2, locale: 'zh_CN', macosxJunk: true, cdaFile: true },
    zip: true,
  },
];

/** Fields that differ from run to run (time, temp paths), set to fixed values before comparing. */
export function normalizeReport(report: Record<string, unknown>): Record<string, unknown> {
  const r: Record<string, unknown> = { ...report, durationMs: 0, throughputMiBps: 0 };
  const input = r.input as { path: string } | undefined;
  if (input) r.input = { ...input, path: 'EXPORT' };
  return r;
}

/** The human report without its timing line and with the temp path replaced. */
export function normalizeText(text: string, path: string): string {
  return text
    .split(path)
    .join('EXPORT')
    .replace(/^Parsed .* in .* s.*$/m, 'Parsed (timing)');
}
