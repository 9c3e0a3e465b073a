/**
 * `upload --method sdk --wait`: what the backend stores of the SDK items sent, counted from the items
 * themselves as they go into batches, not from validate's model of the XML path: the SDK route files a
 * sample under a data source named after its app and device model (contract §6.2), so two apps' samples
 * with one series and instant are two rows where the XML path keeps one, and it writes some workout
 * values (weather, METs, running form) as time-series rows of their own. Time-series rows are counted
 * once per row key (data source, series, recorded_at; the upsert keeps one row per key, §5.8), workouts
 * as sent (the reader has left out those colliding and those the ledger says the server has), sleep
 * samples as sent. Counts are taken batch by batch, so a batch sent by an earlier run is not expected
 * to add rows again.
 */
import { WORKOUT_TYPE } from '../../selection/mapped-types.js';
import { rowKeyHash } from '../../validate/dedupe-log.js';
import { GrowingHashSet } from '../../validate/hash-set.js';
import type { KnownRanges } from '../shared/imported.js';
import type { PredictedCounts } from '../shared/verify.js';
import type { SdkItem } from './convert.js';

/** Row keys held at most: 32 MiB of slots (about 6.8 M keys), past which a key is taken as new. */
const MAX_SLOTS = 1 << 23;
/** The set starts small and grows with the keys it holds. */
const FIRST_SLOTS = 1 << 16;

/** The PredictedCounts of one batch, or of several added up. */
export type BatchPrediction = PredictedCounts & {
  bySeries: Record<string, { predicted: number; resent: number }>;
};

export function emptyPrediction(): BatchPrediction {
  return { records: 0, workouts: 0, sleep: 0, resent: 0, bySeries: {} };
}

/** Adds `from` into `into`. */
export function addPrediction(into: BatchPrediction, from: PredictedCounts): void {
  into.records += from.records;
  into.workouts += from.workouts;
  into.sleep += from.sleep;
  into.resent += from.resent;
  for (const [series, p] of Object.entries(from.bySeries)) {
    const s = (into.bySeries[series] ??= { predicted: 0, resent: 0 });
    s.predicted += p.predicted;
    s.resent += p.resent;
  }
}

/** A name's 32-bit FNV-1a hash, as the row key takes it. */
function nameHash(name: string): number {
  let h = 0x2545f491;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h;
}

export class SdkPrediction {
  private readonly keys: GrowingHashSet;
  private readonly ids = new Map<string, number>();
  private readonly hash = new Int32Array(2);
  private open = emptyPrediction();

  /**
   * `ledgerRanges`: what the ledger says the user has, by record type (read before this upload is
   * recorded): a record sent again there may find its row on the server already.
   */
  constructor(private readonly ledgerRanges: KnownRanges) {
    this.keys = new GrowingHashSet(FIRST_SLOTS, MAX_SLOTS);
  }

  /** An item put into the batch being built. `type`: the sample's HK type, or Workout. */
  add(item: SdkItem, type: string): void {
    const p = this.open;
    if (item.collection === 'sleep') p.sleep++;
    else if (item.collection === 'workouts') p.workouts++;
    if (item.series.length === 0) return;
    const source = this.id(item.dataSource);
    const range = type === WORKOUT_TYPE ? undefined : this.ledgerRanges[type];
    // The ledger's range holds its ends: a record at either may be the one sent before.
    const resent = range !== undefined && item.ms >= range.first && item.ms <= range.last;
    for (const series of item.series) {
      rowKeyHash(source, this.id(series), item.ms, this.hash);
      if (this.keys.addOrHas(this.hash[0]!, this.hash[1]!)) continue;
      p.records++;
      const s = (p.bySeries[series] ??= { predicted: 0, resent: 0 });
      s.predicted++;
      if (resent) {
        p.resent++;
        s.resent++;
      }
    }
  }

  /** What the batch just cut holds; the next batch starts from nothing. */
  take(): BatchPrediction {
    const p = this.open;
    this.open = emptyPrediction();
    return p;
  }

  private id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = nameHash(name);
      this.ids.set(name, id);
    }
    return id;
  }
}
