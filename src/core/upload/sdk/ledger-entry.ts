/**
 * An SDK upload's ledger entry (shared/ledger.ts) as the run changes it: a batch is recorded once the
 * server has accepted it, and again with its fate under --wait. Nothing is recorded before the send: a
 * batch whose answer was lost is sent again by the next run, which is safe on this route (§6.3). A dry
 * run writes nothing.
 */

import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../adapters/clock.js';
import {
  LEDGER_VERSION,
  type LedgerSlot,
  type SdkLedgerBatch,
  type SdkLedgerEntry,
} from '../shared/ledger.js';

export interface SdkLedgerOptions {
  server: string;
  userId: string;
  fingerprint: string;
  filters: string;
  limits: { maxBytes: number; maxRecords: number };
  dryRun: boolean;
  force: boolean;
}

export class SdkLedgerWriter {
  readonly previous: ReadonlyMap<number, SdkLedgerBatch>;
  /** The sync session of this upload: an interrupted one's, resumed, or a new one. */
  readonly syncSessionId: string;
  private readonly entry: SdkLedgerEntry;

  constructor(
    private readonly slot: LedgerSlot<SdkLedgerEntry>,
    private readonly opts: SdkLedgerOptions,
    source: string,
    private readonly clock: Clock,
  ) {
    const earlier = opts.force || opts.dryRun ? undefined : slot.read();
    if (opts.force && !opts.dryRun) slot.delete();
    this.previous = new Map((earlier?.batches ?? []).map((b) => [b.seq, b]));
    this.syncSessionId = earlier?.syncSessionId ?? randomUUID();
    const now = this.now();
    this.entry = {
      version: LEDGER_VERSION,
      method: 'sdk',
      server: opts.server,
      userId: opts.userId,
      fingerprint: opts.fingerprint,
      source,
      filters: opts.filters,
      limits: opts.limits,
      syncSessionId: this.syncSessionId,
      batches: [...(earlier?.batches ?? [])],
      startedAt: earlier?.startedAt ?? now,
      updatedAt: now,
      completedAt: null,
    };
  }

  /** True when an earlier run had the server accept these very samples as batch `seq` (and none failed). */
  accepted(seq: number, sha256: string): SdkLedgerBatch | undefined {
    const b = this.previous.get(seq);
    return b && b.sha256 === sha256 && b.fate !== 'failed' ? b : undefined;
  }

  save(b: Omit<SdkLedgerBatch, 'acceptedAt'> & { acceptedAt?: string }): void {
    if (this.opts.dryRun) return;
    const row: SdkLedgerBatch = { ...b, acceptedAt: b.acceptedAt ?? this.now() };
    const at = this.entry.batches.findIndex((x) => x.seq === b.seq);
    if (at >= 0) this.entry.batches[at] = row;
    else this.entry.batches.push(row);
    this.entry.updatedAt = this.now();
    this.slot.write(this.entry);
  }

  finish(complete: boolean): void {
    if (this.opts.dryRun) return;
    this.entry.completedAt = complete ? this.now() : null;
    this.entry.updatedAt = this.now();
    this.slot.write(this.entry);
  }

  private now(): string {
    return new Date(this.clock.now()).toISOString();
  }
}
