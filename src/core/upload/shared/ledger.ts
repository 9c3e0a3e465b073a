/**
 * The one ledger (product.md "A local ledger"): what every upload method sent where, so a re-run resumes
 * what was interrupted or says the export was already uploaded. One entry per upload, keyed by method,
 * server, user and export identity (identity.ts), plus what decides the layout of what is sent (the S3
 * part cap is in the entry; a direct upload's filters and batch limits are in its key). Every entry is
 * checked against one zod schema with a version field when it is read; version 1 entries (written
 * before the methods shared this module) are read into version 2. Written after every unit sent, each
 * write atomic (adapters/ledger.ts).
 *
 * Another method adds a variant to `ledgerEntrySchema` (its own `method` and fields) and to `LedgerKey`,
 * as the sdk method did (its batches' samples are compared by digest, as direct's bodies are).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../../errors.js';
import { z } from '../../../vendor/zod.js';

export const LEDGER_VERSION = 2;

/** The ledger's storage: JSON documents by key (adapters/ledger.ts LedgerFiles). */
export interface LedgerFilesPort {
  read(key: string): unknown;
  write(key: string, value: unknown): void;
  delete(key: string): void;
  pathOf(key: string): string;
}

const header = {
  version: z.literal(LEDGER_VERSION),
  server: z.string(),
  userId: z.string(),
  /** The export's identity (identity.ts). */
  fingerprint: z.string(),
  /** What the user passed, as shown (the path, plus the entry for a zip). */
  source: z.string(),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** Set once everything was sent (and, for a direct upload with --wait, none failed). */
  completedAt: z.string().nullable(),
};

const s3PartSchema = z.object({
  index: z.number().int().positive(),
  fileKey: z.string(),
  filename: z.string(),
  bytes: z.number().int().nonnegative(),
  uploadedAt: z.string(),
  /** A multipart upload's part: its ETag exactly as S3 returned it (complete must quote it back). */
  etag: z.string().optional(),
});
export type LedgerPart = z.infer<typeof s3PartSchema>;

const s3EntrySchema = z.object({
  ...header,
  method: z.literal('s3'),
  runId: z.string(),
  /** The part layout this entry belongs to; a different layout cannot be resumed. */
  cap: z.number().int().positive(),
  partCount: z.number().int().positive(),
  parts: z.array(s3PartSchema),
  /**
   * A multipart upload (current backends): one object under `key`, in `partCount` parts of `cap` bytes;
   * a re-run sends only the parts missing here and completes it. Absent for presigned POSTs.
   */
  upload: z
    .object({
      uploadId: z.string(),
      key: z.string(),
      bucket: z.string(),
      /** The object's exact size, as `create` was told. */
      fileSize: z.number().int().positive(),
      /**
       * The object is the filtered document (shared/export-filter.ts): the digest of what the filter decided
       * by. A re-run resumes only with the same inputs, which give the same bytes; absent for the plain
       * repaired export.
       */
      filter: z.string().optional(),
      /** Set once `/multipart/complete` accepted it. */
      completion: z
        .object({ status: z.string(), taskId: z.string().nullable(), mode: z.enum(['client', 'sns']) })
        .optional(),
    })
    .optional(),
});
export type S3LedgerEntry = z.infer<typeof s3EntrySchema>;

const directBatchSchema = z.object({
  seq: z.number().int().positive(),
  filename: z.string(),
  taskId: z.string().nullable(),
  records: z.number().int().nonnegative(),
  /** sha256 of the batch body: a re-run skips batch N only if it is byte-identical. */
  sha256: z.string(),
  fate: z.enum(['completed', 'failed']).optional(),
  error: z.string().optional(),
  /** Written before the POST: if the run dies before the answer, the next run asks the feed. */
  pending: z.boolean().optional(),
  /**
   * Filenames of earlier sends of this same body whose answers were lost too (a pending batch sent again
   * after the grace period): the feed may still show any of them.
   */
  earlier: z.array(z.string()).optional(),
});
export type LedgerBatch = z.infer<typeof directBatchSchema>;

/** The selection (core/selection/filters.ts `canonical`) and batch limits a batch method's batches were cut with. */
const batchLayout = {
  filters: z.string(),
  limits: z.object({ maxBytes: z.number().int().positive(), maxRecords: z.number().int().positive() }),
};

const directEntrySchema = z.object({
  ...header,
  method: z.literal('direct'),
  ...batchLayout,
  batches: z.array(directBatchSchema),
});
export type DirectLedgerEntry = z.infer<typeof directEntrySchema>;

const sdkBatchSchema = z.object({
  seq: z.number().int().positive(),
  records: z.number().int().nonnegative(),
  /** sha256 of the batch's `data` (its samples): a re-run skips batch N only if they are identical. */
  sha256: z.string(),
  acceptedAt: z.string(),
  fate: z.enum(['completed', 'failed']).optional(),
  error: z.string().optional(),
});
export type SdkLedgerBatch = z.infer<typeof sdkBatchSchema>;

const sdkEntrySchema = z.object({
  ...header,
  method: z.literal('sdk'),
  ...batchLayout,
  /** The historical sync session every batch of this upload belongs to, resumed runs included. */
  syncSessionId: z.string(),
  batches: z.array(sdkBatchSchema),
});
export type SdkLedgerEntry = z.infer<typeof sdkEntrySchema>;

export const ledgerEntrySchema = z.discriminatedUnion('method', [
  s3EntrySchema,
  directEntrySchema,
  sdkEntrySchema,
]);
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

/** Version 1, as `upload --method s3` wrote it. */
const s3V1Schema = s3EntrySchema.omit({ version: true, userId: true, updatedAt: true }).extend({
  version: z.literal(1),
  user: z.string(),
});
/** Version 1, as `upload --method direct` wrote it (no method field; `complete` for `completedAt`). */
const directV1Schema = directEntrySchema
  .omit({ version: true, method: true, fingerprint: true, startedAt: true, completedAt: true })
  .extend({ version: z.literal(1), fingerprint: z.string().nullable(), complete: z.boolean() });

export type LedgerKey =
  | { method: 's3'; server: string; userId: string; fingerprint: string }
  | {
      method: 'direct';
      server: string;
      userId: string;
      fingerprint: string;
      filters: string;
      maxBytes: number;
      maxRecords: number;
    }
  | {
      method: 'sdk';
      server: string;
      userId: string;
      fingerprint: string;
      filters: string;
      maxBytes: number;
      maxRecords: number;
    };

type EntryOf<K extends LedgerKey> = Extract<LedgerEntry, { method: K['method'] }>;

/** A stable file name from key parts (order-independent). */
export function ledgerKeyOf(parts: Record<string, string | number | boolean | undefined>): string {
  const canonical = JSON.stringify(Object.entries(parts).sort(([a], [b]) => (a < b ? -1 : 1)));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** The file key; the parts are named as in version 1, so an S3 entry is found where it always was. */
function fileKeyOf(key: LedgerKey): string {
  const { method, server, userId, fingerprint } = key;
  if (key.method === 's3') return ledgerKeyOf({ method, server, user: userId, fingerprint });
  const { filters, maxBytes, maxRecords } = key;
  return ledgerKeyOf({ method, server, user: userId, fingerprint, filters, maxBytes, maxRecords });
}

/** One upload's entry. */
export interface LedgerSlot<E extends LedgerEntry> {
  /** Where it is kept (for messages). */
  readonly path: string;
  /** The entry, or undefined when there is none; one that cannot be read is LEDGER_INVALID (exit 1). */
  read(): E | undefined;
  write(entry: E): void;
  delete(): void;
}

export class UploadLedger {
  constructor(private readonly files: LedgerFilesPort) {}

  slot<K extends LedgerKey>(key: K): LedgerSlot<EntryOf<K>> {
    const fileKey = fileKeyOf(key);
    const files = this.files;
    return {
      path: files.pathOf(fileKey),
      read: () => parseEntry(files.read(fileKey), key, files.pathOf(fileKey)) as EntryOf<K> | undefined,
      write: (entry) => files.write(fileKey, entry),
      delete: () => files.delete(fileKey),
    };
  }

  /**
   * A direct entry of version 1, which was keyed by `legacySource` (identity.ts legacyDirectIdentity)
   * instead of the fingerprint: moved under `key` and returned, or undefined when there is none.
   */
  adoptLegacyDirect(
    key: Extract<LedgerKey, { method: 'direct' }>,
    legacySource: string,
  ): DirectLedgerEntry | undefined {
    const { server, userId, filters, maxBytes, maxRecords } = key;
    const oldKey = ledgerKeyOf({
      method: 'direct',
      server,
      user: userId,
      source: legacySource,
      filters,
      maxBytes,
      maxRecords,
    });
    const entry = parseEntry(this.files.read(oldKey), key, this.files.pathOf(oldKey));
    if (entry?.method !== 'direct') return undefined;
    const slot = this.slot(key);
    slot.write(entry);
    this.files.delete(oldKey);
    return entry;
  }
}

/** Checks an entry read from disk, and reads a version 1 entry into version 2. */
function parseEntry(raw: unknown, key: LedgerKey, path: string): LedgerEntry | undefined {
  if (raw === undefined) return undefined;
  const version = (raw as { version?: unknown } | null)?.version;
  if (version === 1) return fromV1(raw, key, path);
  const parsed = ledgerEntrySchema.safeParse(raw);
  if (!parsed.success || parsed.data.method !== key.method) {
    const why =
      typeof version === 'number' && version > LEDGER_VERSION
        ? `written by a newer apple-import (ledger version ${version})`
        : 'not a ledger entry this version of apple-import can read';
    throw invalid(path, why, parsed.success ? undefined : parsed.error.message);
  }
  return parsed.data;
}

function fromV1(raw: unknown, key: LedgerKey, path: string): LedgerEntry {
  if (key.method === 's3') {
    const v1 = s3V1Schema.safeParse(raw);
    if (!v1.success) throw invalid(path, 'a damaged version 1 entry', v1.error.message);
    const { user, version: _v1, ...rest } = v1.data;
    return {
      ...rest,
      version: LEDGER_VERSION,
      userId: user,
      updatedAt: rest.completedAt ?? rest.parts.at(-1)?.uploadedAt ?? rest.startedAt,
    };
  }
  // The sdk method came after version 1: no such entry can exist.
  if (key.method === 'sdk') throw invalid(path, 'not a ledger entry this version of apple-import can read');
  const v1 = directV1Schema.safeParse(raw);
  if (!v1.success) throw invalid(path, 'a damaged version 1 entry', v1.error.message);
  const { complete, version: _v1, fingerprint: _unfinished, ...rest } = v1.data;
  return {
    ...rest,
    version: LEDGER_VERSION,
    method: 'direct',
    // The key was computed from this export's identity: it is the export the entry was written for.
    fingerprint: key.fingerprint,
    startedAt: rest.updatedAt,
    completedAt: complete ? rest.updatedAt : null,
  };
}

function invalid(path: string, why: string, details?: string): AppError {
  return new AppError('LEDGER_INVALID', `The ledger entry ${path} cannot be used: ${why}.`, {
    hint: 'delete that file, or run with --force to start over',
    ...(details ? { details } : {}),
  });
}

/** The S3 entry with one more part stored; complete once every part is. */
export function withPart(entry: S3LedgerEntry, part: LedgerPart, now: Date): S3LedgerEntry {
  const parts = [...entry.parts.filter((p) => p.index !== part.index), part].sort(
    (a, b) => a.index - b.index,
  );
  const done = parts.length === entry.partCount;
  return {
    ...entry,
    parts,
    updatedAt: now.toISOString(),
    completedAt: done ? now.toISOString() : null,
  };
}
