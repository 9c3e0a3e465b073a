import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { writeExportFile } from '../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../src/sandbox/backend/index.js';
import { runCli } from './helpers/run-cli.js';

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

/**
 * Ctrl-C in a real child process: the first lets the run unwind (here: it waits for the answer to a
 * batch the server received), a second one quits at once, however soon after the first it comes.
 */
/** Where each batch method sends its batches. */
const BATCH_ROUTES = {
  direct: /\/import\/apple\/xml\/direct$/,
  sdk: /\/sdk\/users\/[^/]+\/sync$/,
};

describe('bin: a second Ctrl-C', () => {
  let backend: BackendDouble;
  let dir: string;
  let xml: string;
  let userId: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apple-import-sigint-'));
    xml = join(dir, 'export.xml');
    await writeExportFile(xml, { days: 2, seed: 3 });
    backend = await startBackendDouble();
    userId = backend.createUser({ email: 'dana@example.com' }).id;
    // The batch reaches the server, which never answers: the first Ctrl-C waits for that answer.
    backend.faults.stall({ method: 'POST', path: BATCH_ROUTES.direct });
    backend.faults.stall({ method: 'POST', path: BATCH_ROUTES.sdk });
  });
  after(async () => {
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts `upload --method <method>`, waits for its first batch to reach the server, presses Ctrl-C twice. */
  async function pressTwice(env: Record<string, string>, gapMs: number, method: 'direct' | 'sdk' = 'direct') {
    const batchPosts = () =>
      backend.state.requests.filter((r) => r.method === 'POST' && BATCH_ROUTES[method].test(r.path));
    const before = batchPosts().length;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/bin.ts', 'upload', xml, '--user', userId, '--method', method],
      { env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', APPLE_IMPORT_SERVER: backend.url, ...env } },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Until the server has read the whole batch: the first Ctrl-C then waits for the answer.
    const deadline = Date.now() + 30_000;
    const received = () =>
      batchPosts()
        .slice(before)
        .some((r) => r.bodyReceived);
    while (!received()) {
      if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no batch was sent: ${stderr}`);
      await delay(20);
    }
    child.kill('SIGINT');
    await delay(gapMs);
    const aliveAfterFirst = child.exitCode === null;
    child.kill('SIGINT');
    // The server never answers, and the first Ctrl-C alone waits up to 30 s for that answer: exit 130
    // before this guard can only be the second Ctrl-C's doing (a hang shows as 'hung', not 130).
    const code = await Promise.race([exited, delay(10_000).then(() => 'hung' as const)]);
    if (code === 'hung') child.kill('SIGKILL');
    return { code, aliveAfterFirst, stderr };
  }

  it('quits at once when it comes 300 ms after the first (an API key: conf never loads)', async () => {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const r = await pressTwice(
      { APPLE_IMPORT_CONFIG_DIR: cfg, APPLE_IMPORT_API_KEY: backend.createApiKey() },
      300,
    );
    assert.ok(r.aliveAfterFirst, 'the first Ctrl-C alone does not quit while the answer is awaited');
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /Stopping after batch 1 of \d+ \(up to 30 s\); Ctrl-C again to stop now/);
  });

  it('upload --method sdk quits at once too, the answer to its batch awaited after the first', async () => {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const r = await pressTwice(
      { APPLE_IMPORT_CONFIG_DIR: cfg, APPLE_IMPORT_API_KEY: backend.createApiKey() },
      300,
      'sdk',
    );
    assert.ok(r.aliveAfterFirst, 'the first Ctrl-C alone does not quit while the answer is awaited');
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /Ctrl-C again to stop now/);
  });

  it('quits at once after a token refresh loaded conf, whose exit hook re-raises the first Ctrl-C', async () => {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const login = await runCli(['login', '--email', 'admin@admin.com', '--password-stdin'], {
      env: { APPLE_IMPORT_CONFIG_DIR: cfg, APPLE_IMPORT_SERVER: backend.url },
      stdin: 'your-secure-password',
    });
    assert.equal(login.code, 0, login.stderr);
    // An access token about to expire: the run refreshes it first, writing the config through conf.
    const file = join(cfg, 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8'));
    config.credentials.default[backend.url].expiresAt = Date.now() - 1000;
    await writeFile(file, JSON.stringify(config));
    const revokedBefore = backend.state.revokedRefreshTokens().length;
    const r = await pressTwice({ APPLE_IMPORT_CONFIG_DIR: cfg }, 400);
    assert.equal(
      backend.state.revokedRefreshTokens().length,
      revokedBefore + 1,
      'the child refreshed its login',
    );
    assert.ok(r.aliveAfterFirst, "conf's re-raised SIGINT is not taken for a second Ctrl-C");
    assert.equal(r.code, 130, r.stderr);
  });
});

/** A reader that stops early closes the pipe: the command ends quietly, with no EPIPE stack trace. */
describe('bin: a closed stdout', () => {
  let dir: string;
  let xml: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apple-import-epipe-'));
    xml = join(dir, 'export.xml');
    await writeExportFile(xml, { days: 30, seed: 5 });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const args of [['validate'], ['validate', '--json']]) {
    it(`${args.join(' ')} … | head -1 prints one line and exits 0 without a word on stderr`, () => {
      const cmd = [process.execPath, '--import', 'tsx', 'src/bin.ts', ...args, xml]
        .map((a) => `'${a}'`)
        .join(' ');
      const r = spawnSync('bash', ['-c', `${cmd} | head -1; echo "status=\${PIPESTATUS[0]}" >&2`], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', APPLE_IMPORT_CONFIG_DIR: dir },
        timeout: 60_000,
      });
      assert.equal(r.stdout.split('\n').filter(Boolean).length, 1, r.stdout);
      assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at |unexpected error/);
      assert.match(r.stderr, /status=0\n$/);
    });
  }
});
