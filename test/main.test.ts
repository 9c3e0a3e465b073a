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

  it("every command's help lists the global flags, the exit codes and where the docs are, without noise", async () => {
    const names = [
      'login',
      'logout',
      'whoami',
      'config',
      'users',
      'validate',
      'upload',
      'status',
      'sample',
      'sandbox',
    ];
    for (const name of names) {
      const r = await runCli([name, '--help']);
      assert.equal(r.code, 0, name);
      assert.match(r.stdout, /Global Options:[\s\S]*--json +print one JSON document/, name);
      assert.match(r.stdout, /Exit codes:\n {2}0 {4}success/, name);
      assert.match(r.stdout, /docs\/schemas\//, name);
      assert.doesNotMatch(r.stdout, /\(default: false\)|default: "\d+"/, name);
    }
    const upload = await runCli(['upload', '--help']);
    assert.doesNotMatch(upload.stdout, /atrial_fibrillation_burden/, 'the alias list lives in `help types`');
    assert.match(upload.stdout, /apple-import help types/);
    // Size flags take units, and the help says which.
    assert.match(upload.stdout, /--batch-bytes <size>/);
    assert.match(upload.stdout, /--max-part-size <size>/);
    assert.match(
      upload.stdout.replace(/\s+/g, ' '),
      /KiB, MiB, GiB \(1024\) or kB, MB, GB \(1000\), in any case, e\.g\. 5242880, 64MiB or 1GB/,
    );
    const help = await runCli(['help', 'upload']);
    assert.equal(help.stdout, upload.stdout);
    const types = await runCli(['help', 'types']);
    assert.match(types.stdout, /aliases:[\s\S]*heart_rate/);
    const none = await runCli(['help', 'frobnicate']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /No help for 'frobnicate'/);
  });

  it('-v prints the version (it is not --verbose)', async () => {
    const r = await runCli(['-v']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('an unknown flag exits 2', async () => {
    const r = await runCli(['--frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option/);
  });
});

describe('an interrupted command', () => {
  it('ends with what it did and the exact command that runs it again; with --json, the CANCELLED document', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeExportFile } = await import('../src/generator/index.js');
    const dir = await mkdtemp(join(tmpdir(), 'interrupt-'));
    try {
      const xml = join(dir, "dana's export.xml");
      await writeExportFile(xml, { days: 2, seed: 2 });
      const ac = new AbortController();
      ac.abort(new Error('Interrupted'));
      const r = await runCli(['validate', xml], { signal: ac.signal });
      assert.equal(r.code, 130, r.stderr);
      const quoted = `'${xml.replace(/'/g, "'\\''")}'`;
      assert.ok(
        r.stderr.endsWith(`Interrupted.\nRun it again with: apple-import validate ${quoted}\n`),
        r.stderr,
      );
      const j = await runCli(['validate', xml, '--json'], { signal: ac.signal });
      assert.equal(j.code, 130);
      assert.deepEqual(JSON.parse(j.stdout).error, {
        code: 'CANCELLED',
        exitCode: 130,
        message: 'Interrupted.',
        hint: `run it again with: apple-import validate ${quoted} --json`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
