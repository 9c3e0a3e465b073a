/** Runs the scanner over inputs split in chosen ways, for the reader tests. */
import type { ScannerLimits } from '../../../src/core/reader/limits.js';
import { createScanner, type ScannerOptions, type ScanResult } from '../../../src/core/reader/scanner.js';
import type { Defect, TopLevelElement } from '../../../src/core/reader/types.js';

export interface Scanned {
  elements: TopLevelElement[];
  defects: Defect[];
  result: ScanResult;
}

/**
 * Scans `input` fed as chunks of `chunk` bytes (or at the given split offsets). `withElements` false:
 * no onElement handler, as upload's check has none (elements then stays empty).
 */
export function scan(
  input: string | Buffer,
  chunk: number | number[] = 1 << 16,
  options: ScannerOptions = {},
  withElements = true,
  limits: Partial<ScannerLimits> = {},
): Scanned {
  const buf = typeof input === 'string' ? Buffer.from(input) : input;
  const elements: TopLevelElement[] = [];
  const defects: Defect[] = [];
  const s = createScanner(
    withElements
      ? { onElement: (e) => elements.push(e), onDefect: (d) => defects.push(d) }
      : { onDefect: (d) => defects.push(d) },
    limits,
    undefined,
    options,
  );
  const cuts = typeof chunk === 'number' ? [] : [...chunk].sort((a, b) => a - b);
  if (typeof chunk === 'number') for (let i = chunk; i < buf.length; i += chunk) cuts.push(i);
  let from = 0;
  for (const c of [...cuts, buf.length]) {
    if (c > from) s.write(buf.subarray(from, c));
    from = Math.max(from, c);
  }
  s.end();
  return { elements, defects, result: s.result() };
}

export function kinds(defects: Defect[]): string[] {
  return defects.map((d) => d.kind);
}
