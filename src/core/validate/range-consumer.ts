/**
 * validate's consumer for one range of a parallel scan (core/reader/parallel-scan.ts), loaded by URL in
 * a worker thread: a ValidationCollector that logs its duplicate steps for the main one to replay.
 */
import type { RangeConsumer } from '../reader/range-consumer.js';
import type { FilterSpec } from '../selection/filters.js';
import { TAPE_FIELDS, ValidationCollector } from './collector.js';

export function createRangeConsumer(options: unknown): RangeConsumer {
  const { filter } = options as { filter: FilterSpec };
  const collector = new ValidationCollector(filter, { logDuplicates: true });
  return {
    onTape: (el) => collector.onTape(el),
    tapeFields: TAPE_FIELDS,
    onDefect: (d) => collector.onDefect(d),
    finish() {
      const partial = collector.toPartial();
      return { partial, transfer: [partial.log.buffer as ArrayBuffer] };
    },
  };
}
