import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LedgerFiles } from '../../../../src/adapters/ledger.js';
import {
  LEDGER_VERSION,
  ledgerKeyOf,
  type S3LedgerEntry,
  type SdkLedgerEntry,
  UploadLedger,
  withPart,
} from '../../../../src/core/upload/shared/ledger.js';

const SERVER = 'http://ow.example';
const USER = '3f1c2b9e-5a41-4c7d-9e2b-71d0a8c4e6f1';
const s3Key = { method: 's3', server: SERVER, userId: USER, fingerprint: 'fp01' } as const;
const directKey = {
  method: 'direct',
  server: SERVER,
  userId: USER,
  fingerprint: 'fp01',
  filters: '{"since":null}',
  maxBytes: 8_000_000,
  maxRecords: 50_000,
} as const;

function s3Entry(over: Partial<S3LedgerEntry> = {}): S3LedgerEntry {
  return {
    version: LEDGER_VERSION,
    method: 's3',
    server: SERVER,
    userId: USER,
    fingerprint: 'fp01',
    source: 'export.xml',
    runId: '0a1b2c3d',
    cap: 1024,
    partCount: 2,
    parts: [],
    startedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    completedAt: null,
    ...over,
  };
}

function rejectsAs(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: { code?: string; exitCode?: number; message?: string; hint?: string }) => {
    assert.equal(e.code, 'LEDGER_INVALID');
    assert.equal(e.exitCode, 1, 'a broken ledger is a failure, not a usage error');
    assert.match(e.message ?? '', message);
    assert.match(e.hint ?? '', /--force/);
    return true;
  });
}

describe('UploadLedger', () => {
  let dir = '';
  let files: LedgerFiles;
  let ledger: UploadLedger;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ledger-'));
    files = new LedgerFiles(dir);
    ledger = new UploadLedger(files);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips an entry, keyed by method, server, user and identity', () => {
    const slot = ledger.slot(s3Key);
    assert.equal(slot.read(), undefined);
    const entry = s3Entry();
    slot.write(entry);
    assert.deepEqual(slot.read(), entry);
    assert.equal(ledger.slot({ ...s3Key, fingerprint: 'fp02' }).read(), undefined, 'another export');
    assert.equal(ledger.slot({ ...s3Key, userId: 'another' }).read(), undefined, 'another user');
    slot.delete();
    assert.equal(slot.read(), undefined);
  });

  it('keeps an sdk entry apart from a direct one with the same key parts, and refuses a version 1 sdk entry', async () => {
    const sdkKey = { ...directKey, method: 'sdk' } as const;
    const slot = ledger.slot(sdkKey);
    const entry: SdkLedgerEntry = {
      version: LEDGER_VERSION,
      method: 'sdk',
      server: SERVER,
      userId: USER,
      fingerprint: 'fp01',
      source: 'export.xml',
      filters: directKey.filters,
      limits: { maxBytes: directKey.maxBytes, maxRecords: directKey.maxRecords },
      syncSessionId: '6a3e0f1c-9b7d-4c2e-8f00-1d2c3b4a5e6f',
      batches: [
        {
          seq: 1,
          records: 10,
          sha256: 'ab',
          acceptedAt: '2026-01-01T00:00:00.000Z',
          fate: 'completed' as const,
        },
      ],
      startedAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      completedAt: null,
    };
    slot.write(entry);
    assert.deepEqual(slot.read(), entry);
    assert.equal(
      ledger.slot(directKey).read(),
      undefined,
      'the direct upload of the same export is another entry',
    );
    assert.notEqual(slot.path, ledger.slot(directKey).path);
    await writeFile(slot.path, JSON.stringify({ ...entry, version: 1 }));
    rejectsAs(() => slot.read(), /cannot be used/);
  });

  it('an entry is complete once every part is stored', () => {
    const now = new Date('2026-01-02T00:00:00Z');
    const one = withPart(
      s3Entry(),
      { index: 2, fileKey: 'k2', filename: 'p2', bytes: 9, uploadedAt: now.toISOString() },
      now,
    );
    assert.equal(one.completedAt, null);
    const both = withPart(one, { index: 1, fileKey: 'k1', filename: 'p1', bytes: 9, uploadedAt: '' }, now);
    assert.deepEqual(
      both.parts.map((p) => p.index),
      [1, 2],
    );
    assert.equal(both.completedAt, now.toISOString());
  });

  it('reads a version 1 S3 entry where version 1 kept it, as version 2', async () => {
    const v1 = {
      version: 1,
      method: 's3',
      server: SERVER,
      user: USER,
      fingerprint: 'fp01',
      source: 'export.xml',
      runId: '0a1b2c3d',
      cap: 1024,
      partCount: 1,
      parts: [{ index: 1, fileKey: `${USER}/raw/x.xml`, filename: 'x.xml', bytes: 10, uploadedAt: 'T1' }],
      startedAt: 'T0',
      completedAt: 'T1',
    };
    // Version 1's key, spelled out: method, server, user, fingerprint.
    const oldKey = ledgerKeyOf({ method: 's3', server: SERVER, user: USER, fingerprint: 'fp01' });
    files.write(oldKey, v1);
    const entry = ledger.slot(s3Key).read();
    assert.equal(entry?.version, 2);
    assert.equal(entry?.userId, USER);
    assert.equal(entry?.completedAt, 'T1');
    assert.equal(entry?.updatedAt, 'T1');
    assert.deepEqual(entry?.parts, v1.parts);
  });

  it('moves a version 1 direct entry, keyed by the old source identity, under the new key', async () => {
    const v1 = {
      version: 1,
      server: SERVER,
      userId: USER,
      source: 'export.xml',
      fingerprint: null,
      filters: directKey.filters,
      limits: { maxBytes: directKey.maxBytes, maxRecords: directKey.maxRecords },
      batches: [{ seq: 1, filename: 'ai-0a1b2c3d-00001.xml', taskId: 't1', records: 5, sha256: 'ab' }],
      complete: true,
      updatedAt: 'T9',
    };
    const oldKey = ledgerKeyOf({
      method: 'direct',
      server: SERVER,
      user: USER,
      source: '1234:cafe',
      filters: directKey.filters,
      maxBytes: directKey.maxBytes,
      maxRecords: directKey.maxRecords,
    });
    files.write(oldKey, v1);
    assert.equal(ledger.slot(directKey).read(), undefined, 'not under the new key yet');
    assert.equal(ledger.adoptLegacyDirect(directKey, 'another:identity'), undefined);
    const adopted = ledger.adoptLegacyDirect(directKey, '1234:cafe');
    assert.equal(adopted?.method, 'direct');
    assert.equal(adopted?.completedAt, 'T9', 'complete: true is completedAt');
    assert.equal(adopted?.fingerprint, 'fp01');
    assert.deepEqual(adopted?.batches, v1.batches);
    assert.deepEqual(ledger.slot(directKey).read(), adopted);
    assert.deepEqual(
      await readdir(dir),
      [`${ledgerKeyOf({ ...keyParts(directKey) })}.json`],
      'the old file is gone',
    );
  });

  it('an entry that is not JSON, of the wrong shape, or from a newer version is LEDGER_INVALID', async () => {
    const slot = ledger.slot(s3Key);
    await writeFile(slot.path, '{"version": 2, "meth');
    rejectsAs(() => slot.read(), /corrupt/);
    await writeFile(slot.path, JSON.stringify({ ...s3Entry(), parts: 'none' }));
    rejectsAs(() => slot.read(), /cannot be used: not a ledger entry this version of apple-import can read/);
    await writeFile(slot.path, JSON.stringify({ ...s3Entry(), version: 3 }));
    rejectsAs(() => slot.read(), /written by a newer apple-import \(ledger version 3\)/);
    await writeFile(slot.path, JSON.stringify({ version: 1, method: 's3', parts: [] }));
    rejectsAs(() => slot.read(), /a damaged version 1 entry/);
    assert.match(slot.path, new RegExp(`^${dir}`));
  });
});

/** The key parts of a direct upload as the ledger names them on disk. */
function keyParts(k: typeof directKey) {
  return {
    method: k.method,
    server: k.server,
    user: k.userId,
    fingerprint: k.fingerprint,
    filters: k.filters,
    maxBytes: k.maxBytes,
    maxRecords: k.maxRecords,
  };
}
