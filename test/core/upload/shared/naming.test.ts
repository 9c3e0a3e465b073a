import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  batchFilename,
  newRunId,
  partFilename,
  sdkRequestId,
} from '../../../../src/core/upload/shared/naming.js';

describe('naming', () => {
  it('one scheme for parts and batches: export, run, unit', () => {
    const run = newRunId();
    assert.match(run, /^[0-9a-f]{8}$/);
    assert.notEqual(newRunId(), run);
    assert.equal(partFilename('0123456789ab', 'deadbeef', 1, 3), 'apple-import-01234567-deadbeef-p01.xml');
    assert.equal(partFilename('0123456789ab', 'deadbeef', 7, 120), 'apple-import-01234567-deadbeef-p007.xml');
    assert.equal(batchFilename('0123456789ab', 'deadbeef', 42), 'apple-import-01234567-deadbeef-b00042.xml');
    assert.equal(sdkRequestId('0123456789ab', 'deadbeef', 42), 'apple-import-01234567-deadbeef-s00042');
  });

  it('names survive the server’s key cleaning: only [A-Za-z0-9._-], never empty, at most 200 characters', () => {
    const name = batchFilename('ab/c d', `r${'x'.repeat(300)}`, 1);
    assert.match(name, /^[A-Za-z0-9._-]+\.xml$/);
    assert.ok(name.length <= 200);
    assert.equal(partFilename('', '', 1, 1), 'apple-import-export-run-p01.xml');
  });
});
