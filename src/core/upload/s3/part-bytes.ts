/**
 * The bytes of one part as S3 receives them: each source range read through the repairing stream
 * (the user's file is never modified), literals as written. Nothing is buffered beyond the source's
 * chunks; the consumer's pace is the backpressure.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import type { ReadPool } from '../../../adapters/read-pool.js';
import { type RepairPlan, repairBytes } from '../../reader/repair.js';
import type { Segment } from './part-planner.js';

export async function* partBytes(
  source: ExportSource,
  segments: Segment[],
  repair: RepairPlan,
  signal?: AbortSignal,
  pool?: ReadPool,
): AsyncGenerator<Buffer> {
  for (const seg of segments) {
    if (seg.kind === 'literal') {
      yield Buffer.from(seg.text, 'utf8');
      continue;
    }
    if (seg.end <= seg.start) continue;
    const raw = source.open({
      start: seg.start,
      end: seg.end,
      ...(signal ? { signal } : {}),
      ...(pool ? { pool } : {}),
    });
    yield* repairBytes(raw, repair, seg.start);
  }
}
