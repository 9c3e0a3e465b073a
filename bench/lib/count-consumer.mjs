// A range consumer for the benchmark's reader-only figure: validate's tape scan (the same field names
// found on the tape) with a consumer that only counts top-level elements, so the figure is the reader
// without the collector.
import { TAPE_FIELDS } from '../../dist/core/validate/collector.js';

export function createRangeConsumer() {
  let elements = 0;
  return {
    onTape() {
      elements++;
    },
    tapeFields: TAPE_FIELDS,
    onDefect() {},
    finish() {
      return { partial: elements };
    },
  };
}
