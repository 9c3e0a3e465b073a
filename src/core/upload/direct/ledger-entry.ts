import type { Clock } from '../../../adapters/clock.js';
import {
  type DirectLedgerEntry,
  LEDGER_VERSION,
  type LedgerBatch,
  type LedgerSlot,
} from '../shared/ledger.js';
import type { DirectRunOptions } from './types.js';

/**
 * A direct upload's ledger entry as the run changes it: every batch is recorded before it is sent
 * (pending) and again once the server has answered, so a re-run knows what the server may have. A dry
 * run writes nothing.
 */
export class DirectLedgerWriter {
  /** The batches an earlier run recorded, by seq (empty with --force). */
  readonly previous: ReadonlyMap<number, LedgerBatch>;
  private readonly entry: DirectLedgerEntry;

  constructor(
    private readonly slot: LedgerSlot<DirectLedgerEntry>,
    private readonly opts: Pick<
      DirectRunOptions,
      'server' | 'userId' | 'fingerprint' | 'filters' | 'limits' | 'dryRun' | 'force'
    >,
    source: string,
    private readonly clock: Clock,
  ) {
    const earlier = opts.force || opts.dryRun ? undefined : slot.read();
    if (opts.force && !opts.dryRun) slot.delete();
    this.previous = new Map((earlier?.batches ?? []).map((b) => [b.seq, b]));
    const now = this.now();
    this.entry = {
      version: LEDGER_VERSION,
      method: 'direct',
      server: opts.server,
      userId: opts.userId,
      fingerprint: opts.fingerprint,
      source,
      filters: opts.filters.canonical,
      limits: opts.limits,
      batches: [...(earlier?.batches ?? [])],
      startedAt: earlier?.startedAt ?? now,
      updatedAt: now,
      completedAt: null,
    };
  }

  /** Records `b` (replacing its earlier record), or just the entry as it is. */
  save(b?: LedgerBatch): void {
    if (this.opts.dryRun) return;
    if (b) {
      const at = this.entry.batches.findIndex((x) => x.seq === b.seq);
      if (at >= 0) this.entry.batches[at] = b;
      else this.entry.batches.push(b);
    }
    this.entry.updatedAt = this.now();
    this.slot.write(this.entry);
  }

  /** Puts a batch's record back as it was before this run (or removes it, if it had none). */
  restore(seq: number, before: LedgerBatch | undefined): void {
    if (this.opts.dryRun) return;
    if (before) {
      this.save(before);
      return;
    }
    const at = this.entry.batches.findIndex((x) => x.seq === seq);
    if (at >= 0) this.entry.batches.splice(at, 1);
    this.save();
  }

  /** The pass finished: complete when every batch was accepted (and, with --wait, none failed). */
  finish(complete: boolean): void {
    this.entry.completedAt = complete ? this.now() : null;
    this.save();
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
