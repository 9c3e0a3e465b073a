/**
 * The one naming scheme for what an upload sends: a run id per run, and object names (S3 parts, direct
 * batches) made from the export's fingerprint, the run id and the unit's number, so a server's listing
 * tells which export and which run a file came from. Names use only `[A-Za-z0-9._-]`, end in `.xml` and
 * stay under 200 characters (contract §2.3, §2.7, §9.9), so the server's key cleaning keeps them intact
 * and the timestamp fallback key (which probably breaks SNS processing) is never used. The same unit of
 * the same run always gets the same name, so a retried part overwrites itself instead of duplicating.
 */
import { randomBytes } from 'node:crypto';

const MAX_FILENAME = 200;

/** 8 hex digits, new for every run (a resumed S3 upload keeps the run id it started with). */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '');

function unitName(fingerprint: string, runId: string, unit: string): string {
  return `apple-import-${safe(fingerprint).slice(0, 8) || 'export'}-${safe(runId) || 'run'}-${unit}`;
}

function objectName(fingerprint: string, runId: string, unit: string): string {
  const name = `${unitName(fingerprint, runId, unit)}.xml`;
  return name.length <= MAX_FILENAME ? name : `${name.slice(0, MAX_FILENAME - 4)}.xml`;
}

/** Part `index` of `total` of an S3 upload: `apple-import-<fp>-<run>-p01.xml`. */
export function partFilename(fingerprint: string, runId: string, index: number, total: number): string {
  const width = Math.max(2, String(total).length);
  return objectName(fingerprint, runId, `p${String(index).padStart(width, '0')}`);
}

/** The one object of a multipart upload (or a small export sent whole): `apple-import-<fp>-<run>-all.xml`. */
export function objectFilename(fingerprint: string, runId: string): string {
  return objectName(fingerprint, runId, 'all');
}

/** Batch `seq` of a direct upload: `apple-import-<fp>-<run>-b00001.xml`. */
export function batchFilename(fingerprint: string, runId: string, seq: number): string {
  return objectName(fingerprint, runId, `b${String(seq).padStart(5, '0')}`);
}

/** Batch `seq` of an SDK upload, its request id (no file, so no `.xml`): `apple-import-<fp>-<run>-s00001`. */
export function sdkRequestId(fingerprint: string, runId: string, seq: number): string {
  return unitName(fingerprint, runId, `s${String(seq).padStart(5, '0')}`);
}
