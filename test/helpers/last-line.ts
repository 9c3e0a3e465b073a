import { readFile, writeFile } from 'node:fs/promises';

/** A compact-dated StepCount Record: the export filter rewrites its dates (the backend reads none of them). */
export const COMPACT_RECORD =
  ' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Watch" unit="count" creationDate="20260101120500+0100" startDate="20260101120000+0100" endDate="20260101120100+0100" value="7"/>';

/**
 * The export at `from` with `line` added as its last element, written to `to`: well past the head the
 * upload's checking worker reads before any upload starts.
 */
export async function withLastLine(from: string, to: string, line: string): Promise<string> {
  const full = (await readFile(from)).toString('latin1');
  const at = full.lastIndexOf('</HealthData>');
  await writeFile(to, Buffer.from(`${full.slice(0, at)}${line}\n${full.slice(at)}`, 'latin1'));
  return to;
}
