/** What `upload --method s3` returns, for each way it can end. */
import type { S3LedgerEntry } from '../shared/ledger.js';
import type { SummaryVerification } from '../shared/verify.js';
import type { Repairs, S3Transport, UploadResultBase } from '../types.js';
import type { PartSpec } from './part-planner.js';
import { repairsOf, type UploadPlan } from './preflight.js';
import type { SendState } from './send.js';

/** A part as the result reports it: planned (dry run), stored by this run, or stored by an earlier one. */
export interface S3PartReport {
  index: number;
  filename: string;
  bytes: number;
  /** Top-level elements in the part (dry run, when the export was scanned). */
  elements?: number | null;
  fileKey?: string;
  /** Stored by an earlier run of the same upload. */
  resumed?: boolean;
  /** A multipart upload's part: its ETag as S3 returned it. */
  etag?: string;
  durationMs?: number;
  bytesPerSecond?: number;
  attempts?: number;
}

/** What the backend said of the import, with --wait (its sync events). */
export interface ImportOutcome {
  stage: 'completed' | 'failed';
  /** `success`, or `skipped` (a completed import that imported nothing). */
  status: string | null;
  message: string | null;
  error: string | null;
}

/** A multipart upload: one object, its parts, and what `complete` answered. */
export interface MultipartReport {
  uploadId: string;
  key: string;
  bucket: string;
  partSize: number;
  concurrency: number;
  /** `processing` (client mode: the import is queued) or `uploaded` (sns mode: S3 notifies the backend). */
  status: string | null;
  completionMode: 'client' | 'sns' | null;
  taskId: string | null;
}

/** The S3 verification, with the workout a failed import stopped at when it can be told. */
export type S3Verification = SummaryVerification & {
  stoppedAt?: { activity: string; startDate: string };
  /** Workouts now recorded in the ledger as on the server (the one stopped at, and those before it). */
  learnt?: number;
};

export interface S3UploadResult extends UploadResultBase {
  method: 's3';
  /** multipart (one object, completed), post (presigned POSTs), direct (a small export sent whole). */
  transport: S3Transport;
  /** What the server was found to offer. */
  backend: string;
  multipart?: MultipartReport;
  /** direct: the task the backend queued. */
  taskId?: string | null;
  /** With --wait, when the backend reports the import. */
  imported?: ImportOutcome;
  /** With --wait: what the user's summary gained next to what the model predicts of the document sent. */
  verification?: S3Verification;
  /** Bytes of the whole repaired export (padded when it is sent as one streamed part). */
  bytes: number;
  maxPartSize: number;
  repairs?: Repairs;
  /** The cap the server stated, when the parts were planned again for it. */
  replannedForServerCap?: number;
  /** One part was checked while it was sent: how many top-level elements the check saw. */
  checkedWhileSending: { elements: number } | null;
  parts: S3PartReport[];
}

/** The fields every S3 result has, from the user and the export. */
export type S3Base = Pick<
  S3UploadResult,
  'method' | 'server' | 'userId' | 'source' | 'sourceBytes' | 'fingerprint' | 'transport' | 'backend'
>;

/** The ledger says this export was sent in full; nothing was scanned or sent this time. */
export function alreadyUploaded(base: S3Base, entry: S3LedgerEntry): S3UploadResult {
  return {
    ...base,
    transport: entry.upload ? 'multipart' : 'post',
    status: 'already-uploaded',
    runId: entry.runId,
    ...(entry.completedAt ? { uploadedAt: entry.completedAt } : {}),
    bytes: entry.parts.reduce((n, p) => n + p.bytes, 0),
    maxPartSize: entry.cap,
    checkedWhileSending: null,
    parts: entry.parts.map(({ index, fileKey, filename, bytes }) => ({ index, fileKey, filename, bytes })),
    durationMs: 0,
    bytesSent: 0,
  };
}

/** --dry-run: the parts as they would be sent. */
export function planned(
  base: S3Base,
  plan: UploadPlan,
  runId: string,
  names: (p: PartSpec) => string,
  durationMs: number,
): S3UploadResult {
  return {
    ...base,
    ...sizes(plan),
    status: 'dry-run',
    runId,
    checkedWhileSending: null,
    parts: plan.parts.map((p) => ({
      index: p.index,
      filename: names(p),
      bytes: p.bytes,
      elements: p.elements,
    })),
    durationMs,
    bytesSent: 0,
  };
}

/** Every part is stored: those of this run with their timings, those of an earlier run as resumed. */
export function uploaded(
  base: S3Base,
  plan: UploadPlan,
  { entry, done }: SendState,
  replannedFor: number | undefined,
  durationMs: number,
): S3UploadResult {
  // A streamed part was checked while it was sent: its repairs are known only now.
  const scan = plan.summary ?? done.find((r) => r.scan)?.scan;
  return {
    ...base,
    ...sizes(plan),
    status: 'uploaded',
    runId: entry.runId,
    ...(scan ? { repairs: repairsOf(scan) } : {}),
    ...(replannedFor !== undefined ? { replannedForServerCap: replannedFor } : {}),
    checkedWhileSending: plan.streamed && !plan.summary && scan ? { elements: scan.topLevelCount } : null,
    parts: entry.parts.map((p) => {
      const r = done.find((d) => d.index === p.index);
      return {
        index: p.index,
        fileKey: p.fileKey,
        filename: p.filename,
        bytes: p.bytes,
        resumed: r === undefined,
        ...(r
          ? {
              durationMs: r.durationMs,
              bytesPerSecond: Math.round(rate(r.bytes, r.durationMs)),
              attempts: r.attempts,
            }
          : {}),
      };
    }),
    durationMs,
    bytesSent: done.reduce((s, r) => s + r.bytes, 0),
  };
}

function sizes(plan: UploadPlan) {
  return {
    bytes: plan.repairedBytes,
    maxPartSize: plan.cap,
    ...(plan.summary ? { repairs: repairsOf(plan.summary) } : {}),
  };
}

function rate(bytes: number, ms: number): number {
  return ms > 0 ? (bytes * 1000) / ms : bytes;
}
