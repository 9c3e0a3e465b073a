/**
 * Running the CLI on hostile input as a user does: a child process (so its peak RSS is its own),
 * and the checks every case makes — the exit code, the first line of the message, what stdout holds
 * under --json, and that nothing reached the backend.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BackendDouble } from '../../src/sandbox/backend/index.js';
import { checkJsonOutput, errorDocument } from '../helpers/json-schemas.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PEAK_RSS = fileURLToPath(new URL('../helpers/peak-rss.mjs', import.meta.url));
const DIST_BIN = join(ROOT, 'dist', 'bin.js');

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? await newestSource(p) : (await stat(p)).mtimeMs);
  }
  return newest;
}

/**
 * The built CLI, as users run it: memory is measured on dist/, not through tsx (whose loader thread
 * alone adds ~25 MB). Built here (`npm run build`) when src/ is newer (CI builds first, so there it never
 * is), under a lock since test files run in parallel. While the lock is held dist/ is half-written (the build
 * clears it before it bundles), so no one takes it as fresh then.
 */
export async function builtCli(): Promise<string> {
  const lock = join(ROOT, 'dist', '.test-build.lock');
  const fresh = async () => {
    const built = await stat(DIST_BIN).catch(() => undefined);
    if (built === undefined || (await stat(lock).catch(() => undefined)) !== undefined) return false;
    return built.mtimeMs >= (await newestSource(join(ROOT, 'src')));
  };
  if (await fresh()) return DIST_BIN;
  await mkdir(join(ROOT, 'dist'), { recursive: true });
  const giveUp = Date.now() + 180_000;
  for (;;) {
    // A lock older than any build is left over from a killed run.
    const fh = await open(lock, Date.now() > giveUp ? 'w' : 'wx').catch(() => undefined);
    if (fh) {
      try {
        const built = await stat(DIST_BIN).catch(() => undefined);
        if (built === undefined || built.mtimeMs < (await newestSource(join(ROOT, 'src')))) {
          await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: ROOT });
        }
      } finally {
        await fh.close();
        await rm(lock, { force: true });
      }
      return DIST_BIN;
    }
    await delay(200);
    if (await fresh()) return DIST_BIN;
  }
}

export interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak resident set size of the CLI process, worker threads included, in MiB. */
  peakRssMiB: number;
}

export interface ChildOptions {
  env?: Record<string, string>;
  /** Run as this uid/gid (root only), e.g. to meet permission checks root would ignore. */
  uid?: number;
  gid?: number;
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. */
  stdin?: string;
}

/** Runs `apple-import …args` in a child process: the built CLI (dist/), compiled first if stale. */
export async function runChild(args: string[], opts: ChildOptions = {}): Promise<ChildRun> {
  const rssDir = await mkdtemp(join(tmpdir(), 'apple-import-rss-'));
  // Writable for a child that runs as another user.
  await chmod(rssDir, 0o777);
  const rssFile = join(rssDir, 'peak');
  try {
    const child = spawn(process.execPath, ['--import', PEAK_RSS, await builtCli(), ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        APPLE_IMPORT_TEST_PEAK_RSS: rssFile,
        ...opts.env,
      },
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
    });
    child.stdin.end(opts.stdin ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    clearTimeout(timer);
    const kib = Number(await readFile(rssFile, 'utf8').catch(() => '0'));
    if (code !== null) checkJsonOutput(args, code, stdout);
    return { code, stdout, stderr, peakRssMiB: Math.round(kib / 1024) };
  } finally {
    await rm(rssDir, { recursive: true, force: true });
  }
}

/** Under --json an error is the one document on stdout, naming its code (docs/schemas/error.schema.json). */
export function assertJsonStdout(stdout: string, errorCode: string): void {
  assert.equal(errorDocument(stdout).code, errorCode, `one JSON error document naming ${errorCode}`);
}

/** Exit code, the first line of the error message (after any progress lines), stdout under --json. */
export function assertRefused(r: ChildRun, exit: number, errorCode: string, firstLine: RegExp): void {
  assert.equal(r.code, exit, r.stderr);
  const first = r.stderr.split('\n').find((l) => l.startsWith('error: ')) ?? '';
  assert.match(first, firstLine, r.stderr);
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('error: ')).length, 1, 'one error');
  assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, 'no unexpected error, no stack trace');
  assertJsonStdout(r.stdout, errorCode);
}

/** What the backend has been sent: presigns (S3), direct batches, and every non-GET request. */
export function backendTraffic(backend: BackendDouble): {
  presigns: number;
  direct: number;
  writes: string[];
} {
  return {
    presigns: backend.state.presigns.length,
    direct: backend.state.directUploads.length,
    writes: backend.state.requests
      .filter((r) => r.method !== 'GET' && !r.path.startsWith('/api/v1/auth'))
      .map((r) => `${r.method} ${r.path}`),
  };
}

export function assertNothingSent(backend: BackendDouble, before: ReturnType<typeof backendTraffic>): void {
  assert.deepEqual(backendTraffic(backend), before, 'nothing reached the backend');
}
