import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** `npm test` on a machine without radosgw: it installs it, or says in one line what to run. */
describe('scripts/test-deps.mjs', () => {
  it('passes when every tool is on PATH', () => {
    const r = spawnSync(process.execPath, ['scripts/test-deps.mjs'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  it('without the tools and without apt-get: exit 1 and one line saying exactly what to run', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-tools-'));
    try {
      const r = spawnSync(process.execPath, ['scripts/test-deps.mjs'], {
        encoding: 'utf8',
        env: { PATH: empty },
      });
      assert.equal(r.status, 1);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(
        lines[0]!,
        /^The tests need radosgw, .* run `sudo apt-get update && sudo apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd python3 curl`, then npm test again\.$/,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("the README's test command, `npm test` and .ci/run take this one step, and .ci/run runs that command", () => {
    const readme = readFileSync('README.md', 'utf8');
    assert.match(readme, /\*\*The test command is `npm ci && npm test`\*\*/);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts.test, 'node scripts/run-tests.mjs');
    assert.match(readFileSync('scripts/run-tests.mjs', 'utf8'), /\['scripts\/test-deps\.mjs'\]/);
    const ci = readFileSync('.ci/run', 'utf8');
    assert.match(ci, /^run node scripts\/test-deps\.mjs$/m);
    assert.match(ci, /^run npm ci\b/m);
    assert.match(ci, /^run timeout .* npm test$/m);
  });
});
