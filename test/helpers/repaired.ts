import { openExport } from '../../src/adapters/export-source.js';
import { scanExport } from '../../src/core/reader/read-export.js';
import { repairBytes, repairPlanFor } from '../../src/core/reader/repair.js';

export async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** What an S3 upload stores as one object: the repaired stream, padded to a size known up front (repair.ts). */
export async function repairedOf(path: string): Promise<Buffer> {
  const source = await openExport(path);
  const summary = await scanExport(source.open(), {});
  return collect(repairBytes(source.open(), repairPlanFor(summary), 0, { padDropped: true }));
}
