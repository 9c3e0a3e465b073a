// One progress decision (io/progress-policy.ts) for every command: plain lines in a pipe, a bar on a
// terminal, and nothing at all with --no-progress, --quiet or --json, in CI or not.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { type S3Server, startS3Server } from '../../src/sandbox/s3/server.js';
import { CliEnv } from '../helpers/cli-env.js';
import { fastClock } from '../helpers/fake-clock.js';
import { type FakeS3, s3SettingsFor, startFakeS3 } from '../helpers/fake-s3.js';
import type { RunOptions } from '../helpers/run-cli.js';

/** A plain progress line: `Scanning: 40% (…)`, `Uploading part 1/1: 70% (…)`. */
const PROGRESS_LINE = /^(Scanning|Checking|Reading|Planning|Uploading part \d+\/\d+): \d+% \(/m;
/** What only a drawn bar or spinner writes: cursor escapes, carriage returns, bar cells. */
const DRAWN = /\u001b\[|\r|[█░]/;

describe('progress follows one policy in every command', () => {
  let double: BackendDouble;
  let s3: FakeS3;
  let cli: CliEnv;
  let dir = '';
  let file = '';
  let userId = '';
  let env: Record<string, string> = {};
  before(async () => {
    s3 = await startFakeS3();
    double = await startBackendDouble({
      s3: s3SettingsFor(s3),
      directDelayMs: 1,
    });
    env = { APPLE_IMPORT_API_KEY: double.createApiKey() };
    userId = double.createUser({ email: 'progress@example.com' }).id;
    cli = await CliEnv.create(double.url);
    dir = await mkdtemp(join(tmpdir(), 'progress-test-'));
    file = join(dir, 'export.xml');
    // Large enough to be read in many chunks, so a progress line would be due at every 10 %.
    await writeExportFile(file, { seed: 3, days: 8 });
  });
  after(async () => {
    await double.close();
    await s3.close();
    await cli.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const commands: Record<string, () => string[]> = {
    validate: () => ['validate', file],
    'upload --method s3': () => ['upload', file, '--user', userId, '--force'],
    'upload --method direct': () => ['upload', file, '--user', userId, '--method', 'direct', '--force'],
    'upload --method sdk': () => ['upload', file, '--user', userId, '--method', 'sdk', '--force'],
  };

  async function run(args: string[], opts: RunOptions = {}) {
    const r = await cli.run(args, { clock: fastClock(), ...opts, env: { ...env, ...opts.env } });
    assert.equal(r.code, 0, r.stderr);
    return r;
  }

  for (const [name, args] of Object.entries(commands)) {
    it(`${name}: plain progress lines in a pipe, none with --no-progress, --quiet or --json, with CI=true or not`, async () => {
      const piped = await run(args());
      assert.match(piped.stderr, PROGRESS_LINE, 'a pipe gets plain lines');
      assert.doesNotMatch(piped.stderr, DRAWN);
      for (const flag of ['--no-progress', '--quiet', '--json'])
        for (const ci of [{}, { CI: 'true' }]) {
          const r = await run([...args(), flag], { env: ci });
          const where = `${flag}${'CI' in ci ? ' with CI=true' : ''}`;
          assert.doesNotMatch(r.stderr, PROGRESS_LINE, `${where}: ${r.stderr}`);
          assert.doesNotMatch(r.stderr, DRAWN, where);
        }
    });

    it(`${name}: a bar on a terminal, plain lines on the same terminal under CI=true`, async () => {
      const terminal = { tty: { stdin: false, stdout: false, stderr: true }, columns: 100 };
      const drawn = await run(args(), terminal);
      assert.match(drawn.stderr, DRAWN, 'a terminal gets a bar');
      const ci = await run(args(), { ...terminal, env: { CI: 'true' } });
      assert.match(ci.stderr, PROGRESS_LINE);
      assert.doesNotMatch(ci.stderr, DRAWN, 'CI gets plain lines, never escapes');
    });
  }

  it('status --follow prints its events on stdout and no progress on stderr, whatever the flags', async () => {
    // A user of its own: the same export sent again to one user fails on the server (its workouts collide).
    const user = double.createUser({ email: 'follow@example.com' }).id;
    const up = await run(['upload', file, '--user', user, '--method', 'direct', '--wait']);
    assert.match(up.stderr, /completed/);
    for (const [flags, ci] of [
      [['--no-progress'], {}],
      [['--quiet'], {}],
      [['--json'], {}],
      [['--json'], { CI: 'true' }],
      [[], { CI: 'true' }],
    ] as [string[], Record<string, string>][]) {
      const controller = new AbortController();
      const following = cli.start(['status', '--user', user, '--follow', '--limit', '2', ...flags], {
        env: { ...env, ...ci },
        signal: controller.signal,
      });
      await following.waitFor((out) => out.trim().split('\n').length >= 2);
      controller.abort();
      const r = await following.done;
      assert.equal(r.code, 130);
      assert.doesNotMatch(r.stderr, PROGRESS_LINE);
      assert.doesNotMatch(r.stderr, DRAWN);
    }
  });
});

describe('a multipart upload draws one status line for its object', () => {
  let s3: S3Server;
  let double: BackendDouble;
  let cli: CliEnv;
  let dir = '';
  let file = '';
  let env: Record<string, string> = {};
  const creds = {
    bucket: 'exports',
    region: 'us-east-1',
    accessKeyId: 'AKIAPROGRESS00000000',
    secretAccessKey: 'progress-secret',
  };
  before(async () => {
    s3 = await startS3Server(creds);
    double = await startBackendDouble({
      s3: { endpoint: s3.endpoint, ...creds, notifies: false },
      partSize: 5 * 1024 * 1024,
    });
    env = { APPLE_IMPORT_API_KEY: double.createApiKey() };
    cli = await CliEnv.create(double.url);
    dir = await mkdtemp(join(tmpdir(), 'progress-multipart-'));
    file = join(dir, 'export.xml');
    // Over 5 MiB: two parts of the double's 5 MiB.
    await writeExportFile(file, { seed: 4, days: 10 });
  });
  after(async () => {
    await double.close();
    await s3.close();
    await cli.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('plain lines in a pipe, a bar on a terminal, nothing with --json', async () => {
    // A user per run: a second upload to the same one would leave out what it has (then under 5 MiB).
    let n = 0;
    const args = () => ['upload', file, '--user', double.createUser({ email: `run${++n}@example.com` }).id];
    const piped = await cli.run(args(), { env });
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stderr, /^Uploading 2 parts: \d+% \(/m);
    assert.doesNotMatch(piped.stderr, DRAWN);
    const drawn = await cli.run(args(), {
      env,
      tty: { stdin: false, stdout: false, stderr: true },
      columns: 100,
    });
    assert.equal(drawn.code, 0, drawn.stderr);
    assert.match(drawn.stderr, DRAWN);
    // The status line every upload draws on a terminal (io/status-line.ts), its parts stored n of N.
    assert.match(drawn.stderr, /Uploading [█░]+ \d+% · .*parts \d\/2/);
    assert.doesNotMatch(drawn.stderr, /Uploading 2 parts \[/);
    const json = await cli.run([...args(), '--json'], { env });
    assert.equal(json.code, 0, json.stderr);
    assert.doesNotMatch(json.stderr, /Uploading 2 parts/);
  });
});
