/**
 * What a server and user already have from apple-import, whatever method sent it: the keys of the
 * workouts imported (event_record's key, judge.ts workoutKey) and, per record type, the range of
 * startDates sent. A re-upload of a newer cumulative export then sends only what is new: records
 * whose startDate lies before the end of its type's range are left out (the time series upsert
 * makes a resent record harmless, contract §5.4, so the boundary itself is sent again), and never a
 * workout the server has (it would fail the import task, §5.6). `--full` resends the records; a
 * workout the server has is left out even then. One document per server and user in the one ledger
 * (ledger.ts), written once an upload has sent everything.
 */

import { AppError } from '../../../errors.js';
import { z } from '../../../vendor/zod.js';
import { type LedgerFilesPort, ledgerKeyOf } from './ledger.js';

export const IMPORTED_VERSION = 1;

const rangeSchema = z.object({ first: z.number(), last: z.number() });
export type TypeRange = z.infer<typeof rangeSchema>;

const importedSchema = z.object({
  version: z.literal(IMPORTED_VERSION),
  kind: z.literal('imported'),
  server: z.string(),
  userId: z.string(),
  updatedAt: z.string(),
  /** Workout keys, in the order they were sent. */
  workouts: z.array(z.string()),
  /** Per record type (and `Workout`), the startDates sent, as epoch ms. */
  types: z.record(z.string(), rangeSchema),
});
export type ImportedEntry = z.infer<typeof importedSchema>;

/** Per type, startDates (epoch ms) a sample is already imported within: [first, last). */
export type KnownRanges = Record<string, TypeRange>;

export function isKnown(known: KnownRanges | undefined, type: string, startMs: number): boolean {
  const r = known?.[type];
  return r !== undefined && startMs >= r.first && startMs < r.last;
}

/** Adds `from` into `into`: each type's range grows to cover both. */
export function mergeRanges(into: KnownRanges, from: KnownRanges): void {
  for (const [type, r] of Object.entries(from)) {
    const have = into[type];
    into[type] = have
      ? { first: Math.min(have.first, r.first), last: Math.max(have.last, r.last) }
      : { ...r };
  }
}

/** Notes a sample of `type` at `startMs` in `ranges`. */
export function noteRange(ranges: KnownRanges, type: string, startMs: number): void {
  if (Number.isNaN(startMs)) return;
  const r = ranges[type];
  if (r === undefined) ranges[type] = { first: startMs, last: startMs };
  else if (startMs < r.first) r.first = startMs;
  else if (startMs > r.last) r.last = startMs;
}

export class ImportedLedger {
  private readonly fileKey: string;

  constructor(
    private readonly files: LedgerFilesPort,
    private readonly server: string,
    private readonly userId: string,
  ) {
    this.fileKey = ledgerKeyOf({ kind: 'imported', server, user: userId });
  }

  get path(): string {
    return this.files.pathOf(this.fileKey);
  }

  read(): ImportedEntry {
    const raw = this.files.read(this.fileKey);
    if (raw === undefined)
      return {
        version: IMPORTED_VERSION,
        kind: 'imported',
        server: this.server,
        userId: this.userId,
        updatedAt: '',
        workouts: [],
        types: {},
      };
    const parsed = importedSchema.safeParse(raw);
    if (!parsed.success)
      throw new AppError(
        'LEDGER_INVALID',
        `The ledger entry ${this.path} cannot be used: not a record of imports this version of apple-import can read.`,
        { hint: 'delete that file to forget what was imported (the next upload then sends everything)' },
      );
    return parsed.data;
  }

  /** Records what an upload sent in full: its workouts' keys and its types' ranges. */
  add(workouts: readonly string[], ranges: KnownRanges, now: Date): ImportedEntry {
    const entry = this.read();
    const have = new Set(entry.workouts);
    for (const k of workouts) if (!have.has(k)) entry.workouts.push(k);
    mergeRanges(entry.types, ranges);
    entry.updatedAt = now.toISOString();
    this.files.write(this.fileKey, entry);
    return entry;
  }
}
