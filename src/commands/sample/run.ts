import { intFlag } from '../../config/flags.js';
import { writeSample } from '../../core/sample.js';
import { UsageError } from '../../errors.js';
import type { Factory } from '../../factory.js';
import { formatBytes } from '../../io/progress.js';
import { count } from '../../io/text.js';

/** The flags as commander hands them over (strings), before run() checks them. */
export interface SampleFlags {
  months?: string;
  seed?: string;
  zip?: boolean;
  force?: boolean;
}

/** `sample`: writes the export and says what is in it and what to try next. */
export async function runSample(f: Factory, file: string | undefined, flags: SampleFlags): Promise<number> {
  const zip = Boolean(flags.zip) || (file?.toLowerCase().endsWith('.zip') ?? false);
  const path = file ?? (zip ? 'export.zip' : 'export.xml');
  if (zip && !path.toLowerCase().endsWith('.zip'))
    throw new UsageError(`--zip writes a zip: name it *.zip, not "${path}".`);
  const months = intFlag('--months', flags.months, { min: 1, max: 120 }, 3);
  const seed = intFlag('--seed', flags.seed, { min: 0, max: 2 ** 31 - 1 }, 1);
  f.out.info(`Writing ${path} (${count(months, 'month')} of sample data, seed ${seed})…`);
  const r = await writeSample(
    { file: path, months, seed, zip, force: Boolean(flags.force) },
    { files: f.files },
  );
  if (f.globals.json) {
    f.out.json(r);
    return 0;
  }
  f.out.data(r.path);
  f.out.success(
    `Wrote ${r.path}: ${formatBytes(r.bytes)}, ${count(r.records, 'record')} and ${count(r.workouts, 'workout')} from ${r.firstDay} to ${r.lastDay}.`,
  );
  f.out.info(`Try it: apple-import validate ${r.path}`);
  return 0;
}
