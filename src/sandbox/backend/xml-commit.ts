// How the backend's two XML import tasks write a parsed chunk (contract §3.4 step 4, §5.6, §5.8; current page
// §2.3): workouts one at a time, each committed; then the chunk's time series in one upsert; then its sleep.
// They differ where a workout collides with a stored one (same data source, start and end):
// - `process_xml_upload` (direct) catches each workout's error, but the failed insert leaves the DB session
//   unusable, so every later statement of the task fails and the next time-series upsert ends the task with
//   SQLAlchemy's PendingRollbackError;
// - the S3 task lets the IntegrityError end the attempt at once (and retries it, ending the same way).
import { randomUUID } from 'node:crypto';
import type { BackendContext } from './context.js';
import { NUMERIC_OVERFLOW_ERROR, numeric10x3, parseDecimal } from './decimal.js';
import type { ImportedRecord } from './state.js';
import type { ParsedChunk } from './xml-import.js';

/** The detail insert for a workout whose event_record already exists (§5.6), as psycopg and SQLAlchemy word it. */
export function detailPkeyViolation(recordId: string): string {
  return (
    '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "event_record_detail_pkey"\n' +
    `DETAIL:  Key (record_id)=(${recordId}) already exists.\n` +
    '[SQL: INSERT INTO event_record_detail (record_id, detail_type) VALUES (%(record_id)s::UUID, %(detail_type)s)]\n' +
    `[parameters: {'record_id': UUID('${recordId}'), 'detail_type': 'workout'}]\n` +
    '(Background on this error at: https://sqlalche.me/e/20/gkpj)'
  );
}

/** What every statement after that failure raises in the same session. */
export function pendingRollback(original: string): string {
  return (
    "This Session's transaction has been rolled back due to a previous exception during flush. To begin a new " +
    `transaction with this Session, first issue Session.rollback(). Original exception was: ${original} ` +
    '(Background on this error at: https://sqlalche.me/e/20/7s2a)'
  );
}

/** The value a NUMERIC(10,3) column keeps, or null when the insert fails on it. */
export function storedValue(value: string): string | null {
  if (value === 'NaN') return 'NaN';
  const dec = parseDecimal(value.replaceAll('_', ''));
  return dec ? numeric10x3(dec) : null;
}

/** Fills `stored` on every record, or throws the insert's overflow error (the whole upsert fails). */
export function withStoredValues(records: ImportedRecord[]): ImportedRecord[] {
  return records.map((r) => {
    const stored = storedValue(r.value);
    if (stored === null) throw new Error(NUMERIC_OVERFLOW_ERROR);
    return { ...r, stored };
  });
}

/** One import task's DB session: where its chunks are written, and whether it is still usable. */
export class XmlImportSession {
  /** Set once a statement failed on the direct path: the error every later statement raises. */
  private broken: string | null = null;

  constructor(
    private readonly ctx: BackendContext,
    private readonly userKey: string,
    private readonly task: 'direct' | 's3',
  ) {}

  /** Writes one chunk; throws an Error whose message is what the task's exception would say. */
  commit(chunk: ParsedChunk): void {
    const imports = this.ctx.state.importsFor(this.userKey);
    for (const parsed of chunk.workouts) {
      // The direct task catches a workout's error and goes on; in a broken session every insert fails too.
      if (this.broken !== null) continue;
      const existing = imports.findWorkout(parsed);
      if (existing) {
        const error = detailPkeyViolation(existing.id);
        if (this.task === 's3') throw new Error(error);
        this.broken = pendingRollback(error);
        continue;
      }
      imports.addWorkout({ ...parsed, id: randomUUID() });
    }
    if (chunk.records.length > 0) {
      if (this.broken !== null) throw new Error(this.broken);
      const lost = Math.min(this.ctx.inject.loseRecords, chunk.records.length);
      this.ctx.inject.loseRecords -= lost;
      for (const record of withStoredValues(chunk.records.slice(lost))) imports.upsertRecord(record);
    }
    if (chunk.sleep.length > 0) {
      if (this.broken !== null) throw new Error(this.broken);
      for (const sample of chunk.sleep) imports.addSleep(sample);
    }
  }
}
