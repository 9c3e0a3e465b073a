import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** The real process boundary: exit codes as a shell sees them. */
function run(args: string[], env: Record<string, string> = {}) {
  const configDir = mkdtempSync(join(tmpdir(), 'apple-import-bin-'));
  try {
    return spawnSync(process.execPath, ['--import', 'tsx', 'src/bin.ts', ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', APPLE_IMPORT_CONFIG_DIR: configDir, NO_COLOR: '1', ...env },
      timeout: 30_000,
    });
  } finally {
    rmSync(configDir, { recursive: true, force: true });
  }
}

describe('bin', () => {
  it('exits 0 for --version', () => {
    const r = run(['--version']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('exits 2 for an unknown command', () => {
    const r = run(['frobnicate']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command/);
  });

  it('exits 4 without credentials, with a one-line error and no stack trace', () => {
    const r = run(['whoami'], { APPLE_IMPORT_SERVER: 'http://127.0.0.1:9' });
    assert.equal(r.status, 4);
    assert.match(
      r.stderr,
      /^error: Not logged in to http:\/\/127\.0\.0\.1:9\.\nhint: run `apple-import login`/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('exits 1 with a clear message when the server cannot be reached', () => {
    const r = run(['users'], {
      APPLE_IMPORT_SERVER: 'http://127.0.0.1:9',
      APPLE_IMPORT_API_KEY: `sk-${'a'.repeat(32)}`,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Could not reach http:\/\/127\.0\.0\.1:9: connection refused/);
    assert.ok(!r.stderr.includes('a'.repeat(32)));
  });
});
