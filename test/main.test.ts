import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from './helpers/run-cli.js';

describe('cli frame', () => {
  it('--version prints the version and exits 0', async () => {
    const r = await runCli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
  });

  it('--help lists examples and the exit-code table', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit codes:/);
    assert.match(r.stdout, /130 {2}interrupted/);
  });

  it('an unknown command exits 2 with a one-line hint', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
    assert.match(r.stderr, /apple-import --help/);
  });

  it('an unknown flag exits 2', async () => {
    const r = await runCli(['--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option/);
  });
});
