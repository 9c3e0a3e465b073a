/**
 * What a terminal shows, on a real pseudo-terminal read by a terminal emulator (test/helpers/pty.ts), and
 * what pipes and files get: colour only on the stream that is a terminal, nothing drawn where it cannot be
 * cleared.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { type S3Server, startS3Server } from '../../src/sandbox/s3/server.js';
import { ESCAPE, runOnPty, waitForScreen, waitForText } from '../helpers/pty.js';
import { builtCli } from '../hostile/helpers.js';

/** The status line is the screen's last line, with its ETA on a terminal wide enough to hold one. */
function statusDrawn(lines: string[], cols: number): boolean {
  const last = lines.at(-1) ?? '';
  return /^Uploading [█░]+ \d+% · /.test(last) && (cols < 120 || / · ETA \d/.test(last));
}

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

describe('validate on a terminal', () => {
  for (const cols of [80, 120]) {
    it(`${cols} columns: the answer wrapped at words, every other line cut to the width`, async () => {
      const r = await runOnPty(['validate', xml], { cols, env: { NO_COLOR: '1' } });
      assert.equal(r.exitCode, 0, r.raw);
      const screen = r.screen;
      assert.match(
        screen[screen.findIndex((l) => l.startsWith('Validating ')) + 1] ?? '',
        /^The backend will import /,
      );
      for (const l of screen) assert.ok(l.length <= cols, `wider than ${cols}: ${l}`);
      const verdict = screen.findIndex((l) => l.startsWith('Verdict: '));
      assert.ok(verdict > 0 && verdict < 6, screen.join('\n'));
      assert.ok(
        screen.some((l) => /^ {2}type +records {2}first {7}last {8}imported\?$/.test(l)),
        screen.join('\n'),
      );
      // Each type's first and last day, and a row too long for the width cut with an ellipsis.
      const day = '\\d{4}-\\d{2}-\\d{2}';
      assert.ok(
        screen.some((l) => new RegExp(`^ {2}HeartRate +[\\d,]+ {2}${day} {2}${day} {2}yes$`).test(l)),
        screen.join('\n'),
      );
      const stand = screen.find((l) => /^ {2}AppleStandHour /.test(l)) ?? '';
      if (cols === 80) assert.match(stand, /no \(unmapped…$/, screen.join('\n'));
      else assert.match(stand, /no \(unmapped type\)$/, screen.join('\n'));
      for (const l of screen) assert.doesNotMatch(l, /ETA|░/, `left behind: ${l}`);
    });
  }
});

describe('upload --method direct on a terminal', () => {
  let backend: BackendDouble;
  let userId: string;
  let key: string;
  before(async () => {
    backend = await startBackendDouble();
    userId = backend.createUser({ email: 'dana@example.com' }).id;
    key = backend.createApiKey('ci');
    // Each batch takes a moment, so the status line is seen between them.
    backend.faults.delay(120, { method: 'POST', path: /\/import\/apple\/xml\/direct$/ });
  });
  after(async () => {
    await backend.close();
  });

  for (const cols of [80, 120]) {
    it(`${cols} columns: one status line under the log lines while it runs, nothing of it left at the end`, async () => {
      const cfg = await mkdtemp(join(dir, 'cfg-'));
      let during: string[] = [];
      const r = await runOnPty(
        ['upload', xml, '--user', userId, '--method', 'direct', '--batch-bytes', '1000000'],
        {
          cols,
          env: { APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_API_KEY: key, APPLE_IMPORT_CONFIG_DIR: cfg },
          drive: async (_pty, raw, screen) => {
            await waitForText(raw, /batch 3 \(/);
            // Until the status line is drawn under the batch lines (with its ETA where it fits).
            during = await waitForScreen(screen, (lines) => statusDrawn(lines, cols));
          },
        },
      );
      assert.equal(r.exitCode, 0, r.screen.join('\n'));
      // While it runs: the header and the batch lines above, the status line last, within the width.
      const status = during.at(-1) ?? '';
      assert.match(
        status,
        /^Uploading [█░]+ \d+% · (.* · )?batch \d+\/~?\d+ sent · [\d,]+ records( · |$)/,
        during.join('\n'),
      );
      assert.ok(status.length < cols, `the status line fits in ${cols} columns: ${status}`);
      if (cols >= 120)
        assert.match(status, / · [\d.]+ [KM]iB of [\d.]+ MiB · .* · ETA \d/, 'bytes read and ETA');
      assert.match(during[0] ?? '', /^Uploading .*export\.xml to user /);
      assert.ok(
        during.slice(1, -1).every((l) => /^batch \d+ \(/.test(l)),
        during.join('\n'),
      );
      // At the end: the header, one line per batch, the summary; no status text left behind.
      const screen = r.screen.filter((l) => l !== '');
      assert.match(screen[0] ?? '', /^Uploading .*export\.xml to user \S+ \(direct/);
      assert.doesNotMatch(screen[0] ?? '', /ETA|█/);
      const batches = screen.filter((l) => /^batch \d+ \(/.test(l));
      assert.ok(batches.length >= 10, screen.join('\n'));
      for (const l of screen) assert.doesNotMatch(l, /ETA|[█░]|records ·/, `left behind: ${l}`);
      assert.ok(
        screen.some((l) => new RegExp(`^Sent ${batches.length} of ${batches.length} batches`).test(l)),
        screen.join('\n'),
      );
    });
  }

  it('Ctrl-C: the first says at once what happens next; the run ends with what was done and the command that resumes', async () => {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const args = ['upload', xml, '--user', userId, '--method', 'direct', '--batch-bytes', '1000000'];
    const r = await runOnPty(args, {
      cols: 100,
      env: { APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_API_KEY: key, APPLE_IMPORT_CONFIG_DIR: cfg },
      drive: async (pty, raw) => {
        await waitForText(raw, /batch 2 \(/);
        pty.write('\x03');
      },
    });
    assert.equal(r.exitCode, 130, r.screen.join('\n'));
    const screen = r.screen.filter((l) => l !== '');
    const stop = screen.findIndex((l) => /^warning: Stopping after batch \d+ of ~?\d+/.test(l));
    assert.ok(stop > 0, screen.join('\n'));
    assert.match(screen[stop]!, /Ctrl-C again to stop now$/);
    assert.match(screen.at(-2)!, /^Interrupted: \d+ of ~?\d+ batches sent \([\d,]+ records\)\.$/);
    assert.equal(screen.at(-1), `Resume with: apple-import ${args.join(' ')}`);
    for (const l of screen) assert.doesNotMatch(l, /ETA|[█░]/, `left behind: ${l}`);
  });
});

describe('upload over S3 on a terminal', () => {
  const creds = {
    bucket: 'exports',
    region: 'us-east-1',
    accessKeyId: 'AKIATERMINAL00000000',
    secretAccessKey: 'terminal-secret',
  };
  let s3: S3Server;
  let current: BackendDouble;
  let before2026: BackendDouble;
  let big: string;
  before(async () => {
    s3 = await startS3Server(creds);
    // Parts of 5 MiB (S3's least): the export below (about 12 MiB) makes three. Each part waits a moment
    // before S3 reads it, so the status line is seen while a part goes up.
    current = await startBackendDouble({
      s3: { endpoint: s3.endpoint, ...creds, notifies: false },
      partSize: 5 * 1024 * 1024,
    });
    before2026 = await startBackendDouble({
      s3: { endpoint: s3.endpoint, ...creds, notifies: false },
      generation: '2026-08',
    });
    s3.faults.delay(400, { method: 'PUT' }).delay(400, { method: 'POST' });
    big = join(dir, 'big.xml');
    await writeExportFile(big, { seed: 4, days: 22 });
  });
  after(async () => {
    await current.close();
    await before2026.close();
    await s3.close();
  });

  /** `upload` to a fresh user of `backend` on a pty, the screen taken while the second part goes up. */
  async function uploadOnPty(backend: BackendDouble, cols: number, extra: string[] = []) {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const user = backend.createUser({ email: `s3-${cols}-${extra.length}@example.com` }).id;
    let during: string[] = [];
    const r = await runOnPty(['upload', big, '--user', user, ...extra], {
      cols,
      env: {
        APPLE_IMPORT_SERVER: backend.url,
        APPLE_IMPORT_API_KEY: backend.createApiKey('ci'),
        APPLE_IMPORT_CONFIG_DIR: cfg,
      },
      drive: async (_pty, raw, screen) => {
        await waitForText(raw, /Uploading [█░]+ \d+% .*parts 1\/\d/);
        during = await waitForScreen(screen, (lines) => statusDrawn(lines, cols));
      },
    });
    return { ...r, during, screen: r.screen.filter((l) => l !== '') };
  }

  for (const cols of [80, 120]) {
    it(`multipart, ${cols} columns: one status line (bytes sent, parts n/N, speed, ETA) under the log lines, none left at the end`, async () => {
      const r = await uploadOnPty(current, cols, ['--concurrency', '1']);
      assert.equal(r.exitCode, 0, r.screen.join('\n'));
      const status = r.during.at(-1) ?? '';
      assert.match(status, /^Uploading [█░]+ \d+% · /, r.during.join('\n'));
      assert.match(status, / · parts 1\/3( · |$)/, r.during.join('\n'));
      assert.ok(status.length < cols, `the status line fits in ${cols} columns: ${status}`);
      if (cols >= 120)
        assert.match(
          status,
          / · [\d.]+ [KM]iB of [\d.]+ MiB · parts 1\/3 · [\d.]+ [KM]iB\/s · ETA \d/,
          status,
        );
      // The log lines above it, whole: the backend line first.
      assert.match(r.during[0] ?? '', /^backend: /);
      assert.equal(r.during.filter((l) => /[█░]/.test(l)).length, 1, r.during.join('\n'));
      // At the end: the messages and the summary, nothing of the status line.
      for (const l of r.screen) assert.doesNotMatch(l, /ETA|[█░]|parts \d+\/\d+/, `left behind: ${l}`);
      assert.ok(
        r.screen.some((l) =>
          /^✓ Uploaded .*big\.xml for user \S+: one object in 3 parts of 5\.0 MiB/.test(l),
        ),
        r.screen.join('\n'),
      );
    });
  }

  it('presigned POST (a server before August 2026), 100 columns: the parts share one status line', async () => {
    const r = await uploadOnPty(before2026, 100, ['--max-part-size', '3MiB']);
    assert.equal(r.exitCode, 0, r.screen.join('\n'));
    const status = r.during.at(-1) ?? '';
    assert.match(status, /^Uploading [█░]+ \d+% · [\d.]+ [KM]iB sent · parts 1\/\d+/, r.during.join('\n'));
    assert.ok(status.length < 100, status);
    // Part 1's line is above the status line, whole.
    assert.ok(
      r.during.slice(0, -1).some((l) => /^✓ part 1\/\d+ stored as /.test(l)),
      r.during.join('\n'),
    );
    assert.equal(r.during.filter((l) => /[█░]/.test(l)).length, 1, r.during.join('\n'));
    for (const l of r.screen) assert.doesNotMatch(l, /ETA|[█░]|parts \d+\/\d+ ·/, `left behind: ${l}`);
  });

  it('in a pipe and with CI=true: no escape code, plain progress lines', async () => {
    const cli = await builtCli();
    for (const ci of [{}, { CI: 'true' }] as Record<string, string>[]) {
      const cfg = await mkdtemp(join(dir, 'cfg-'));
      const user = current.createUser({ email: `pipe-${'CI' in ci ? 'ci' : 'plain'}@example.com` }).id;
      // Not spawnSync: the servers answering it run in this process.
      const r = await promisify(execFile)(process.execPath, [cli, 'upload', big, '--user', user], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          APPLE_IMPORT_SERVER: current.url,
          APPLE_IMPORT_API_KEY: current.createApiKey('ci'),
          APPLE_IMPORT_CONFIG_DIR: cfg,
          ...ci,
        },
      });
      assert.doesNotMatch(r.stdout + r.stderr, ESCAPE, JSON.stringify(ci));
      assert.doesNotMatch(r.stderr, /[█░\r]/, JSON.stringify(ci));
      assert.match(r.stderr, /^Uploading 3 parts: \d+% \(/m);
    }
  });
});
