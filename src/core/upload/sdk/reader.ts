/**
 * The reading half of an SDK upload: one pass over the export with the reader, selection and duplicate
 * rules every method uses (core/upload/direct/normalize.ts SampleSelector and Deduper), each sample kept
 * turned into SDK JSON (convert.ts) and cut into batches (batcher.ts). Each finished batch is handed to
 * `onBatch` and awaited before the reading goes on, so memory holds the batch being built and the one
 * being sent, however large the export.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { CancelledError } from '../../../errors.js';
import { backendDate, strptimeDate } from '../../model/dates.js';
import { ExportScanner } from '../../reader/scanner.js';
import type { ScanSummary } from '../../reader/types.js';
import { WORKOUT_TYPE } from '../../selection/mapped-types.js';
import {
  Deduper,
  type DirectSelection,
  type NormalizationReport,
  type NormalizedSample,
  SampleSelector,
} from '../direct/normalize.js';
import { SourceWindow } from '../direct/source-window.js';
import { type KnownRanges, noteRange } from '../shared/imported.js';
import { WorkoutKeys } from '../shared/workout-keys.js';
import type { UploadEvents } from '../types.js';
import { type SdkBatch, SdkBatcher } from './batcher.js';
import { type ConversionReport, SdkConverter } from './convert.js';
import type { SdkPrediction } from './predict.js';

/** Apple's Records take 300–600 bytes each: the duplicate set is sized from the file. */
const BYTES_PER_SAMPLE = 400;

export interface SdkReadDeps {
  source: ExportSource;
  /** The filters, and the ranges the ledger says the server has (records there are left out). */
  filters: DirectSelection;
  /** Keys of the workouts the server has (the ledger's): left out, as a workout colliding in the export is. */
  importedWorkouts?: ReadonlySet<string>;
  limits: { maxBytes: number; maxRecords: number };
  /** The envelope before `data` (batcher.ts envelopeHead). */
  head: string;
  signal: AbortSignal;
  onEvent: UploadEvents;
  onBatch(batch: SdkBatch): Promise<void>;
  /** The sender gave up: stop reading (the last, partial batch is not flushed). */
  stopped(): boolean;
  /** With --wait: counts what the backend will store of each batch (its `predicted`). */
  prediction?: SdkPrediction | null;
}

export interface SdkReadResult {
  summary: ScanSummary;
  selection: NormalizationReport;
  conversion: ConversionReport;
  /** What the ledger of what the server has grows by once every batch is imported. */
  sentImports: { workouts: string[]; ranges: KnownRanges };
}

const HEX2 = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const hex8 = (n: number) =>
  HEX2[(n >>> 24) & 0xff]! + HEX2[(n >>> 16) & 0xff]! + HEX2[(n >>> 8) & 0xff]! + HEX2[n & 0xff]!;

/**
 * A sample's id (≤ 100 characters, stored as `external_id`): its duplicate key, a 64-bit hash of the
 * sample as the export holds it, so the same sample gets the same id on every run and two samples that
 * differ in anything (type, source, device, dates, value, unit) get different ones.
 */
export function sampleId(s: Pick<NormalizedSample, 'type' | 'hi' | 'lo'>): string {
  const kind = s.type === WORKOUT_TYPE ? 'w' : s.type.startsWith('HKCategory') ? 's' : 'r';
  return `apple-import:${kind}:${hex8(s.hi)}${hex8(s.lo)}`;
}

const dateBytes = Buffer.alloc(64);

/** A startDate's instant as the backend reads it (compact dates as apple-import rewrites them); NaN if none. */
function startMsOf(value: string | undefined): number {
  if (value === undefined) return Number.NaN;
  const text = backendDate(value) ?? value;
  if (text.length > dateBytes.length) return Number.NaN;
  return strptimeDate(dateBytes, 0, dateBytes.write(text, 'latin1'));
}

export async function readIntoBatches(deps: SdkReadDeps): Promise<SdkReadResult> {
  const { source, signal } = deps;
  const window = new SourceWindow();
  const selector = new SampleSelector(deps.filters, window);
  const deduper = new Deduper(source.size / BYTES_PER_SAMPLE, new WorkoutKeys(deps.importedWorkouts));
  const converter = new SdkConverter();
  const ready: SdkBatch[] = [];
  const prediction = deps.prediction ?? null;
  // A batch is cut before the item that does not fit is counted (below), so take() holds its items alone.
  const batcher = new SdkBatcher(deps.limits, deps.head, (b) =>
    ready.push(prediction ? { ...b, predicted: prediction.take() } : b),
  );
  // What the ledger of what the server has grows by: only what is sent (a sample whose unit cannot be
  // converted is not, and must not widen its type's range).
  const sent = { workouts: [] as string[], ranges: {} as KnownRanges };
  const emit = (s: NormalizedSample): void => {
    if (!deduper.admit(s.fromCorrelation, s.hi, s.lo, s.type, s.xml === null, s.workout)) return;
    const item = converter.convert(s.element, s.type, sampleId(s));
    if (item === null) return;
    batcher.add(item);
    prediction?.add(item, s.type);
    if (s.workout !== null) sent.workouts.push(s.workout.key);
    noteRange(sent.ranges, s.type, s.workout?.startMs ?? startMsOf(s.element.attrs.startDate));
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
    sentImports: sent,
  };
}
