/**
 * validate's consumer for one range of a parallel scan (core/reader/parallel-scan.ts), loaded by URL in
 * a worker thread: a ValidationCollector that logs its duplicate steps for the main one to replay.
 */
import type { RangeConsumer, RangeSpare } from '../reader/range-consumer.js';
import type { FilterSpec } from '../selection/filters.js';
import { TAPE_FIELDS, ValidationCollector } from './collector.js';

export function createRangeConsumer(options: unknown, range: RangeSpare): RangeConsumer {
  const { filter, digest: wanted } = options as { filter: FilterSpec; digest?: boolean };
  const collector = new ValidationCollector(filter, {
    logDuplicates: true,
    digest: wanted !== false,
    // Apple writes about 420 bytes per element (format §1.10); a log sized for that rarely grows.
    expectedElements: range.bytes / 400,
    spare: range.spare,
  });
  const digest = collector.digestOption();
  return {
    onTape: (el) => collector.onTape(el),
    tapeFields: TAPE_FIELDS,
    ...(digest
      ? {
          digest,
          onDigested: (el, type, outcome, extremes, dateAt, epoch) =>
            collector.onDigested(el, type, outcome, extremes, dateAt, epoch),
        }
      : {}),
    onDefect: (d) => collector.onDefect(d),
    finish() {
      const partial = collector.toPartial();
      return { partial, transfer: [partial.log.buffer as ArrayBuffer] };
    },
  };
}
