/** Runs validate's collector over a document in memory, as the sequential scan does. */
import assert from 'node:assert/strict';
import { createScanner } from '../../../src/core/reader/scanner.js';
import { type FilterSpec, NO_FILTERS } from '../../../src/core/selection/filters.js';
import { TAPE_FIELDS, ValidationCollector } from '../../../src/core/validate/collector.js';
import type { ValidationReport } from '../../../src/core/validate/report.js';

/** Top-level elements the compiled fast path's digest counted in collect()'s last run, in 7-byte chunks. */
export let lastDigested = 0;

function once(
  doc: Buffer,
  filter: FilterSpec,
  fastPath: boolean,
  chunk: number,
  digest = false,
): ValidationReport {
  const c = new ValidationCollector(filter, { digest });
  const option = c.digestOption();
  let digested = 0;
  const s = createScanner(
    {
      onTape: (el) => c.onTape(el),
      onDefect: (d) => c.onDefect(d),
      ...(option
        ? {
            onDigested: (el, type, outcome, extremes, dateAt, epoch) => {
              digested++;
              c.onDigested(el, type, outcome, extremes, dateAt, epoch);
            },
          }
        : {}),
    },
    {},
    undefined,
    { tape: true, tapeFields: TAPE_FIELDS, fastPath, ...(option ? { digest: option } : {}) },
  );
  for (let at = 0; at < doc.length; at += chunk) s.write(doc.subarray(at, at + chunk));
  s.end();
  lastDigested = digested;
  return c.finish(s.result(), 1);
}

/**
 * The report of `xml`, the same with the compiled fast path as without, whole or in small chunks, and
 * with the fast path's digest counting the plain Records as with every element judged from its tape.
 */
export function collect(xml: string | Buffer, filter: FilterSpec = NO_FILTERS): ValidationReport {
  const doc = typeof xml === 'string' ? Buffer.from(xml) : xml;
  const fast = once(doc, filter, true, 1 << 20);
  assert.deepEqual(once(doc, filter, false, 1 << 20), fast, 'without the fast path');
  assert.deepEqual(once(doc, filter, true, 7), fast, 'in 7-byte chunks');
  assert.deepEqual(once(doc, filter, true, 1 << 20, true), fast, 'digested');
  // Last, so that lastDigested counts what small chunks digest (one 1 MiB write registers keys too late).
  assert.deepEqual(once(doc, filter, true, 7, true), fast, 'digested, in 7-byte chunks');
  return fast;
}

export const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n';
export const TAIL = '</HealthData>\n';

/** A Record line in Apple's shape. */
export function rec(type: string, start: string, value: string | null, extra = ''): string {
  return ` <Record type="${type}" sourceName="Omron"${extra} startDate="${start}" endDate="${start}"${value === null ? '' : ` value="${value}"`}/>\n`;
}
