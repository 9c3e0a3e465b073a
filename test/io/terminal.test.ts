/**
 * What a terminal shows, on a real pseudo-terminal read by a terminal emulator (test/helpers/pty.ts), and
 * what pipes and files get: colour only on the stream that is a terminal, nothing drawn where it cannot be
 * cleared.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeExportFile } from '../../src/generator/index.js';
import { ESCAPE, runOnPty } from '../helpers/pty.js';
import { builtCli } from '../hostile/helpers.js';

const SGR = /\u001b\[[0-9;]*m/;

let dir: string;
let xml: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'terminal-'));
  xml = join(dir, 'export.xml');
  await writeExportFile(xml, { days: 20, seed: 9 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('colour per stream', () => {
  it('validate > file from a terminal: the file has no escape codes, the terminal (stderr) has colour', async () => {
    const file = join(dir, 'report.txt');
    const r = await runOnPty([], { cols: 100, script: `$CLI validate '${xml}' > '${file}'` });
    assert.equal(r.exitCode, 0, r.raw);
    const report = await readFile(file, 'utf8');
    assert.match(report, /The backend will import/);
    assert.doesNotMatch(report, ESCAPE);
    assert.match(r.raw, SGR, 'the ✓ on stderr is green');
    assert.ok(
      r.screen.some((l) => l.includes('✓ the export looks good')),
      r.screen.join('\n'),
    );
  });

  it('validate 2> file from a terminal: the report (stdout) has colour, the file none', async () => {
    const file = join(dir, 'messages.txt');
    const r = await runOnPty([], { cols: 100, script: `$CLI validate '${xml}' 2> '${file}'` });
    assert.equal(r.exitCode, 0, r.raw);
    const messages = await readFile(file, 'utf8');
    assert.match(messages, /the export looks good/);
    assert.doesNotMatch(messages, ESCAPE);
    assert.match(r.raw, SGR, 'the report headings are bold on the terminal');
  });

  it('NO_COLOR on a terminal: no colour on either stream', async () => {
    const r = await runOnPty(['validate', xml], { cols: 100, env: { NO_COLOR: '1' } });
    assert.equal(r.exitCode, 0, r.raw);
    assert.doesNotMatch(r.raw, SGR);
  });

  it('FORCE_COLOR=1 colours pipes too; without it, pipes and CI=true get no escape code at all', async () => {
    const cli = await builtCli();
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, [cli, 'validate', xml], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', APPLE_IMPORT_CONFIG_DIR: dir, ...env },
      });
    const forced = run({ FORCE_COLOR: '1' });
    assert.equal(forced.status, 0, forced.stderr);
    assert.match(forced.stdout, SGR);
    assert.match(forced.stderr, SGR);
    for (const env of [{}, { CI: 'true' }] as Record<string, string>[]) {
      const r = run(env);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, ESCAPE, JSON.stringify(env));
    }
    const both = run({ FORCE_COLOR: '1', NO_COLOR: '1' });
    assert.doesNotMatch(both.stdout + both.stderr, SGR, 'NO_COLOR wins over FORCE_COLOR');
  });
});
