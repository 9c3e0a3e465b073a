/**
 * `sample`: a realistic Apple Health export written by the seeded generator the tests use (src/generator),
 * so anyone can try `validate` and `upload` without their own data. It has what real exports have: the
 * broken DTD of iOS 16 and later, a few stray control characters, correlations, duplicates, workouts,
 * sleep, clinical records and sources with odd names. The same seed and months give the same bytes.
 */

import { UsageError } from '../errors.js';
import { writeExportFile, writeExportZip } from '../generator/index.js';
import type { GeneratorOptions } from '../generator/types.js';

export interface SampleOptions {
  file: string;
  months: number;
  seed: number;
  zip: boolean;
  /** Replace a file that exists. */
  force: boolean;
}

export interface SampleResult {
  path: string;
  format: 'xml' | 'zip';
  /** Size of the file written (the zip's, for a zip). */
  bytes: number;
  /** Size of the export.xml (inside the zip, for a zip). */
  xmlBytes: number;
  months: number;
  days: number;
  seed: number;
  firstDay: string;
  lastDay: string;
  records: number;
  workouts: number;
}

/** The first day of every sample: fixed, so a seed always gives the same export. */
const START = { year: 2024, month: 0 };
const DAY_MS = 86_400_000;

export interface SamplePorts {
  files: {
    write(
      file: string,
      fill: (tmpPath: string) => Promise<void>,
      opts?: { replace?: boolean },
    ): Promise<{ bytes: number }>;
  };
}

export async function writeSample(opts: SampleOptions, ports: SamplePorts): Promise<SampleResult> {
  const start = Date.UTC(START.year, START.month, 1);
  const end = Date.UTC(START.year, START.month + opts.months, 1);
  const days = Math.round((end - start) / DAY_MS);
  const generator: GeneratorOptions = {
    seed: opts.seed,
    days,
    startDate: day(start),
    dtd: 'ios16-unclosed-attlist',
    exportVersion: 12,
    controlChars: 0.002,
    dupExact: 0.001,
  };
  let truth: Awaited<ReturnType<typeof writeExportFile>> | undefined;
  let written: { bytes: number };
  try {
    written = await ports.files.write(
      opts.file,
      async (tmp) => {
        truth = opts.zip ? await writeExportZip(tmp, generator) : await writeExportFile(tmp, generator);
      },
      { replace: opts.force },
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError(`${opts.file} already exists.`, { hint: 'pass --force to replace it' });
    throw err;
  }
  const t = truth as NonNullable<typeof truth>;
  return {
    path: opts.file,
    format: opts.zip ? 'zip' : 'xml',
    bytes: written.bytes,
    xmlBytes: t.bytes,
    months: opts.months,
    days,
    seed: opts.seed,
    firstDay: day(start),
    lastDay: day(end - DAY_MS),
    records: t.elements.Record ?? 0,
    workouts: t.elements.Workout ?? 0,
  };
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
