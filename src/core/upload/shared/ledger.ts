/**
 * What `upload` remembers per (server, user, export fingerprint): the parts already stored and their
 * keys, so a re-run resumes an interrupted upload or says the export was already uploaded
 * (product.md "A local ledger"). Written after every part, atomically (adapters/ledger.ts).
 */
import { Ledger } from '../../../adapters/ledger.js';

export interface LedgerPart {
  index: number;
  fileKey: string;
  filename: string;
  bytes: number;
  uploadedAt: string;
}

export interface UploadLedgerEntry {
  version: 1;
  method: 's3';
  server: string;
  user: string;
  fingerprint: string;
  source: string;
  runId: string;
  /** The part layout this entry belongs to; a different layout cannot be resumed. */
  cap: number;
  partCount: number;
  parts: LedgerPart[];
  startedAt: string;
  completedAt: string | null;
}

export class UploadLedger {
  private readonly ledger: Ledger;
  readonly key: string;

  constructor(dir: string, id: { server: string; user: string; fingerprint: string }) {
    this.ledger = new Ledger(dir);
    this.key = Ledger.keyOf({ method: 's3', server: id.server, user: id.user, fingerprint: id.fingerprint });
  }

  read(): UploadLedgerEntry | undefined {
    const e = this.ledger.get<UploadLedgerEntry>(this.key);
    return e && e.version === 1 && Array.isArray(e.parts) ? e : undefined;
  }

  write(entry: UploadLedgerEntry): void {
    this.ledger.put(this.key, entry);
  }

  recordPart(entry: UploadLedgerEntry, part: LedgerPart, now: Date): UploadLedgerEntry {
    const parts = [...entry.parts.filter((p) => p.index !== part.index), part].sort(
      (a, b) => a.index - b.index,
    );
    const done = parts.length === entry.partCount;
    const next = { ...entry, parts, completedAt: done ? now.toISOString() : null };
    this.write(next);
    return next;
  }
}
