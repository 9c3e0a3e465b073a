/**
 * An upload's view of what the server already has (imported.ts): what the filters and the S3 filter
 * decide by, and the computed `--since` the plan shows. Shared by the methods.
 */
import { WORKOUT_TYPE } from '../../selection/mapped-types.js';
import type { IncrementalPlan } from '../types.js';
import { ImportedLedger, type KnownRanges } from './imported.js';
import type { LedgerFilesPort } from './ledger.js';

export interface Incremental {
  ledger: ImportedLedger;
  /** Per record type, the startDates the server has; undefined with --full or when nothing is known. */
  known: KnownRanges | undefined;
  importedWorkouts: ReadonlySet<string>;
  plan: IncrementalPlan | null;
}

export function readIncremental(
  files: LedgerFilesPort,
  server: string,
  userId: string,
  full: boolean,
): Incremental {
  const ledger = new ImportedLedger(files, server, userId);
  const have = ledger.read();
  const known = full ? undefined : recordRanges(have.types);
  return {
    ledger,
    known,
    importedWorkouts: new Set(have.workouts),
    plan: incrementalPlan(known, have.workouts.length),
  };
}

/** The record types' ranges (a workout is known by its key, not by its date). */
function recordRanges(types: KnownRanges): KnownRanges | undefined {
  const out: KnownRanges = {};
  for (const [type, r] of Object.entries(types)) if (type !== WORKOUT_TYPE) out[type] = r;
  return Object.keys(out).length > 0 ? out : undefined;
}

function incrementalPlan(known: KnownRanges | undefined, workoutsKnown: number): IncrementalPlan | null {
  if (known === undefined && workoutsKnown === 0) return null;
  const since: Record<string, string> = {};
  let through = Number.NEGATIVE_INFINITY;
  for (const [type, r] of Object.entries(known ?? {})) {
    since[type] = new Date(r.last).toISOString();
    through = Math.max(through, r.last);
  }
  return { since, through: Number.isFinite(through) ? new Date(through).toISOString() : null, workoutsKnown };
}
