/**
 * `upload --wait` over S3: what the backend should import from the document this upload sends, by the
 * one backend-import model (core/model, through validate's collector), read from the same bytes the
 * upload sends (shared/export-filter.ts repairedStream: the filtered document, or the plain repaired
 * one). An S3 import's events carry no counts, so this is compared with the user's summary before and
 * after (verify-import.ts, shared/verify.ts). One more pass over the export, made only with --wait.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { strptimeDate } from '../../model/dates.js';
import { deviceModel, FAIL_VALUE_OUT_OF_RANGE, IMPORT_RECORD, workoutKey } from '../../model/judge.js';
import { KIND_QUANTITY, kindOf } from '../../model/record-types.js';
import { scanExport } from '../../reader/read-export.js';
import { A_VALUE_AT, A_VALUE_END, nameKey, type TapeElement } from '../../reader/tape.js';
import { SERIES_BY_SHORT_TYPE } from '../../selection/mapped-types.js';
import { TAPE_FIELDS, ValidationCollector } from '../../validate/collector.js';
import { type FilteredRepair, repairedStream } from '../shared/export-filter.js';
import type { KnownRanges } from '../shared/imported.js';
import type { SentWorkout } from '../shared/verify.js';

/** Workouts named in order, at most (to tell which one a failed import stopped at). */
const MAX_NAMED_WORKOUTS = 200_000;

export interface ImportPrediction {
  /** Time-series records the model says the backend stores (distinct rows). */
  records: number;
  workouts: number;
  /** Sleep samples (the server's summary counts sessions, which samples join into). */
  sleep: number;
  /**
   * Of `records`, those whose startDate lies in a range the ledger says this user has (a type's
   * boundary, sent again on purpose, or every one with --full): their upsert may add no row.
   */
  resent: number;
  /** Per backend series: records predicted, and of them resent. */
  bySeries: Record<string, { predicted: number; resent: number }>;
  /** The imported workouts in the order the backend writes them (each committed on its own). */
  workoutOrder: SentWorkout[];
  /** The model's reasons the import task fails (a value its column cannot hold, …); empty when it completes. */
  fails: string[];
}

const RECORD = nameKey('Record');
const TYPE = nameKey('type');
const START = nameKey('startDate');
const END = nameKey('endDate');
const DEVICE = nameKey('device');
const ACTIVITY = nameKey('workoutActivityType');

function seriesOf(type: string): string | null {
  return SERIES_BY_SHORT_TYPE[type.replace(/^HKQuantityTypeIdentifier/, '')] ?? null;
}

/** The startDate (or another date) of tag entry `t` as epoch ms, NaN when the backend cannot read it. */
function dateOf(el: TapeElement, t: number, key: typeof START): number {
  const a = el.attr(t, key);
  if (a < 0) return Number.NaN;
  return strptimeDate(
    el.bytes,
    el.valueBase + el.ints[a + A_VALUE_AT]!,
    el.valueBase + el.ints[a + A_VALUE_END]!,
  );
}

function textOf(el: TapeElement, t: number, key: typeof START): string | undefined {
  const a = el.attr(t, key);
  return a < 0 ? undefined : el.text(a);
}

/**
 * `repair`: the plan the upload sends by; `ledgerRanges`: what the ledger says the user has (read even
 * with --full); `sentWorkouts`: the keys of the workouts the filter's pass let through, in order.
 */
export async function predictImport(
  source: ExportSource,
  repair: FilteredRepair,
  ledgerRanges: KnownRanges,
  sentWorkouts: readonly string[],
  opts: { signal?: AbortSignal; onProgress?(bytes: number): void } = {},
): Promise<ImportPrediction> {
  // The document is modelled as it is sent: its repairs are already made.
  const collector = new ValidationCollector(undefined, {
    expectedElements: source.size / 400,
    digest: false,
    repairs: {},
  });
  const bySeries: ImportPrediction['bySeries'] = {};
  const sent = new Set(sentWorkouts);
  const named: SentWorkout[] = [];
  let resent = 0;
  /** A Record (tag entry `t`) the ledger says the user may have: at a type's boundary, or any with --full. */
  const record = (el: TapeElement, t: number): void => {
    const type = textOf(el, t, TYPE);
    if (type === undefined || kindOf(type) !== KIND_QUANTITY) return;
    const r = ledgerRanges[type];
    if (r === undefined) return;
    const ms = dateOf(el, t, START);
    // The ledger's range holds its ends: a record at either may be the one sent before.
    if (ms >= r.first && ms <= r.last) {
      resent++;
      const s = seriesOf(type);
      if (s !== null) (bySeries[s] ??= { predicted: 0, resent: 0 }).resent++;
    }
  };
  const onTape = (el: TapeElement): void => {
    collector.onTape(el);
    const t = el.at;
    // The backend reads a Record wherever it sits (contract §5.2), and the filter leaves a Correlation's
    // members as they are: one the server has is sent again too.
    for (let n = el.next(t); n < el.end; n = el.next(n)) if (el.named(n, RECORD)) record(el, n);
    if (el.name === 'Record') record(el, t);
    else if (el.name === 'Workout' && named.length < MAX_NAMED_WORKOUTS) {
      const key = workoutKey(deviceModel(textOf(el, t, DEVICE)), dateOf(el, t, START), dateOf(el, t, END));
      if (!sent.has(key)) return;
      sent.delete(key);
      named.push({
        key,
        activity: textOf(el, t, ACTIVITY) ?? '(none)',
        startDate: textOf(el, t, START) ?? '',
      });
    }
  };
  const summary = await scanExport(
    repairedStream(source.open(opts.signal ? { signal: opts.signal } : {}), repair),
    {
      onTape,
      onDefect: (d) => collector.onDefect(d),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    },
    {
      hash: false,
      tape: true,
      tapeFields: TAPE_FIELDS,
      ...(opts.signal ? { signal: opts.signal } : {}),
    },
  );
  const report = collector.finish(summary, 0);
  for (const outcome of [IMPORT_RECORD, FAIL_VALUE_OUT_OF_RANGE])
    for (const [type, n] of collector.tally.byType(outcome, true)) {
      const s = seriesOf(type);
      if (s !== null) (bySeries[s] ??= { predicted: 0, resent: 0 }).predicted += n;
    }
  const w = report.willImport;
  return {
    records: w.records,
    workouts: w.workouts,
    sleep: w.sleep,
    resent: Math.min(resent, w.records),
    bySeries,
    workoutOrder: named,
    fails: report.importFails.map((f) => f.message),
  };
}
