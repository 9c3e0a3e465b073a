/**
 * The reading half of an SDK upload: one pass over the export with the reader, selection and duplicate
 * rules every method uses (core/upload/direct/normalize.ts SampleSelector and Deduper), each sample kept
 * turned into SDK JSON (convert.ts) and cut into batches (batcher.ts). Each finished batch is handed to
 * `onBatch` and awaited before the reading goes on, so memory holds the batch being built and the one
 * being sent, however large the export.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { CancelledError } from '../../../errors.js';
import { ExportScanner } from '../../reader/scanner.js';
import type { ScanSummary } from '../../reader/types.js';
import type { FilterSpec } from '../../selection/filters.js';
import { WORKOUT_TYPE } from '../../selection/mapped-types.js';
import {
  Deduper,
  type NormalizationReport,
  type NormalizedSample,
  SampleSelector,
} from '../direct/normalize.js';
import { SourceWindow } from '../direct/source-window.js';
import type { UploadEvents } from '../types.js';
import { type SdkBatch, SdkBatcher } from './batcher.js';
import { type ConversionReport, SdkConverter } from './convert.js';

/** Apple's Records take 300–600 bytes each: the duplicate set is sized from the file. */
const BYTES_PER_SAMPLE = 400;

export interface SdkReadDeps {
  source: ExportSource;
  filters: FilterSpec;
  limits: { maxBytes: number; maxRecords: number };
  /** The envelope before `data` (batcher.ts envelopeHead). */
  head: string;
  signal: AbortSignal;
  onEvent: UploadEvents;
  onBatch(batch: SdkBatch): Promise<void>;
  /** The sender gave up: stop reading (the last, partial batch is not flushed). */
  stopped(): boolean;
}

export interface SdkReadResult {
  summary: ScanSummary;
  selection: NormalizationReport;
  conversion: ConversionReport;
}

const hex8 = (n: number) => (n >>> 0).toString(16).padStart(8, '0');

/**
 * A sample's id (≤ 100 characters, stored as `external_id`): its duplicate key, a 64-bit hash of the
 * sample as the export holds it, so the same sample gets the same id on every run and two samples that
 * differ in anything (type, source, device, dates, value, unit) get different ones.
 */
export function sampleId(s: Pick<NormalizedSample, 'type' | 'hi' | 'lo'>): string {
  const kind = s.type === WORKOUT_TYPE ? 'w' : s.type.startsWith('HKCategory') ? 's' : 'r';
  return `apple-import:${kind}:${hex8(s.hi)}${hex8(s.lo)}`;
}

export async function readIntoBatches(deps: SdkReadDeps): Promise<SdkReadResult> {
  const { source, signal } = deps;
  const window = new SourceWindow();
  const selector = new SampleSelector(deps.filters, window);
  const deduper = new Deduper(source.size / BYTES_PER_SAMPLE);
  const converter = new SdkConverter();
  const ready: SdkBatch[] = [];
  const batcher = new SdkBatcher(deps.limits, deps.head, (b) => ready.push(b));
  const emit = (s: NormalizedSample): void => {
    if (!deduper.admit(s.fromCorrelation, s.hi, s.lo, s.type, s.xml === null)) return;
    const item = converter.convert(s.element, s.type, sampleId(s));
    if (item !== null) batcher.add(item);
  };
  const scanner = new ExportScanner({
    onElement: (el) => {
      selector.accept(el, emit);
      window.consumed(el.endOffset);
    },
  });
  const drain = async () => {
    while (ready.length > 0) {
      if (deps.stopped()) return;
      await deps.onBatch(ready.shift() as SdkBatch);
    }
  };
  for await (const chunk of window.tap(source.open({ signal }))) {
    scanner.write(chunk);
    deps.onEvent({ type: 'progress', pass: 'read', bytes: window.end, total: source.size });
    await drain();
    if (deps.stopped()) break;
  }
  if (signal.aborted) throw new CancelledError();
  if (!deps.stopped()) {
    scanner.end();
    batcher.flush();
    await drain();
  }
  return {
    summary: { ...scanner.result(), sha256: '' },
    selection: deduper.report(selector.counts),
    conversion: converter.report,
  };
}
