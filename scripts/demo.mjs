#!/usr/bin/env node
// Offline end-to-end demo: starts `apple-import sandbox`, writes a realistic export with the iOS 16 DTD
// defect (`apple-import sample`), then logs in, validates, uploads via S3 and directly, shows the import status and
// stops the sandbox. Every step is printed; the first failing step makes the demo exit 1.
// Run with `npm run demo` (which builds first). Nothing outside a temp dir is touched: the CLI's config lives
// in that temp dir, and the caller's APPLE_IMPORT_* settings are not passed on.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin', 'apple-import.js');
const dist = join(root, 'dist');
if (!existsSync(join(dist, 'bin.js'))) {
  console.error('demo: dist/ is missing; run `npm run demo` (it builds first) or `npm run build`.');
  process.exit(1);
}

const work = await mkdtemp(join(tmpdir(), 'apple-import-demo-'));
const baseEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('APPLE_IMPORT_')),
);
const env = { ...baseEnv, APPLE_IMPORT_CONFIG_DIR: join(work, 'config') };

let sandbox;
let stepNo = 0;

function say(line) {
  process.stdout.write(`${line}\n`);
}

function step(title) {
  stepNo += 1;
  say(`\n== ${stepNo}. ${title}`);
}

/** Runs the CLI, its output passed through; resolves with the exit code and what it printed on stdout. */
function runCli(args, { stdin, extraEnv = {} } = {}) {
  say(`$ apple-import ${args.join(' ')}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...env, ...extraEnv },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      process.stdout.write(c);
    });
    if (stdin !== undefined) child.stdin.end(stdin);
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: out }));
  });
}

async function mustRun(args, opts) {
  const r = await runCli(args, opts);
  if (r.code !== 0) throw new Error(`apple-import ${args[0]} exited with ${r.code}`);
  return r;
}

/** Starts the sandbox and reads its one JSON document from stdout. */
function startSandbox() {
  return new Promise((resolve, reject) => {
    // The data dir inside our work dir, so it goes with it even if the sandbox dies before its own cleanup.
    // sns mode: the CLI's presigned POST is imported (a current backend in client mode imports multipart only).
    const args = [
      'sandbox',
      '--json',
      '--port',
      '0',
      '--completion-mode',
      'sns',
      '--data-dir',
      join(work, 's3'),
    ];
    const child = spawn(process.execPath, [cli, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let settled = false;
    const exited = new Promise((r) => child.on('close', (code) => r(code)));
    child.stderr.on('data', (c) => {
      for (const line of String(c).split('\n').filter(Boolean)) say(`  [sandbox] ${line}`);
    });
    child.stdout.on('data', (c) => {
      out += c;
      if (settled) return;
      try {
        const info = JSON.parse(out);
        settled = true;
        resolve({ child, info, exited });
      } catch {
        // Not complete yet.
      }
    });
    child.on('error', reject);
    exited.then((code) => {
      if (!settled) reject(new Error(`the sandbox exited with ${code} before printing its details`));
    });
  });
}

async function api(info, path) {
  const res = await fetch(`${info.url}/api/v1${path}`, {
    headers: { 'x-open-wearables-api-key': info.api_key },
  });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.json();
}

/** The S3 path has no completion signal for clients (contract §2.6); the sandbox reports it as sync events. */
async function waitForImport(info, userId, count) {
  for (let i = 0; i < 600; i++) {
    const events = await api(info, `/users/${userId}/sync/recent`);
    const done = events.filter((e) => e.stage === 'completed' || e.stage === 'failed');
    if (done.length >= count) return done;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the sandbox did not finish importing within 60 s');
}

async function commandExists(name) {
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, name, '--help'], { env, stdio: 'ignore' });
    child.on('close', (code) => resolve(code));
  });
  return r === 0;
}

async function demo() {
  step('Start the sandbox (a local backend with an S3 endpoint that enforces presigned-POST policies)');
  say(`$ apple-import sandbox --json --port 0 --completion-mode sns --data-dir ${join(work, 's3')}`);
  sandbox = await startSandbox();
  const { info } = sandbox;
  const [dana, sam] = info.users;
  say(`  backend ${info.url}, S3 ${info.s3.endpoint}, users ${dana.email} and ${sam.email}`);
  env.APPLE_IMPORT_SERVER = info.url;

  step('Write a sample export.zip (a month, with the broken iOS 16 DTD)');
  const exportZip = join(work, 'export.zip');
  await mustRun(['sample', exportZip, '--zip', '--months', '1', '--seed', '7']);

  step('Log in with the sandbox developer account');
  await mustRun(['login', '--email', info.developer.email, '--password-stdin'], {
    stdin: `${info.developer.password}\n`,
  });
  await mustRun(['whoami']);

  step('Validate the export (the DTD defect is repairable, so this passes with a warning)');
  await mustRun(['validate', exportZip]);

  step(`Upload via S3 (the default) for ${dana.email}`);
  await mustRun(['upload', exportZip, '--user', dana.id]);
  say('  waiting for the sandbox to import the uploaded object…');
  const [imported] = await waitForImport(info, dana.id, 1);
  if (imported.stage !== 'completed') throw new Error(`the S3 import failed: ${imported.error}`);
  // The S3 path's events carry no counts (a current backend's task reports none); the data summary has them.
  const summary = await api(info, `/users/${dana.id}/summaries/data`);
  const items = summary.total_data_points + summary.total_workouts;
  say(`  imported ${items} items from ${imported.metadata.object_key ?? imported.metadata.filename}`);

  step(`Upload directly in batches for ${sam.email}, waiting for each batch`);
  await mustRun(['upload', exportZip, '--user', sam.id, '--method', 'direct', '--wait']);

  step(`Show the import status for ${dana.email}`);
  if (await commandExists('status')) {
    await mustRun(['status', '--user', dana.id]);
  } else {
    say('  (the status command is not in this build yet; the same events from the API:)');
    for (const e of await api(info, `/users/${dana.id}/sync/recent`)) {
      say(
        `  ${e.timestamp}  ${e.stage.padEnd(9)} ${e.metadata.object_key ?? e.metadata.filename ?? ''}  ${e.message}`,
      );
    }
  }
}

async function stopSandbox() {
  if (!sandbox) return 0;
  const { child, exited } = sandbox;
  sandbox = undefined;
  child.kill('SIGINT');
  return exited;
}

let failed = false;
try {
  await demo();
} catch (err) {
  failed = true;
  process.stderr.write(
    `\ndemo failed at step ${stepNo}: ${err instanceof Error ? err.message : String(err)}\n`,
  );
}
step('Stop the sandbox (Ctrl-C)');
const code = await stopSandbox();
say(`  sandbox exited with ${code}`);
// 130 is the sandbox's documented exit after Ctrl-C; anything else means it did not stop cleanly.
if (code !== 130) failed = true;
await rm(work, { recursive: true, force: true });
say(failed ? '\nDemo FAILED.' : '\nDemo finished: every step succeeded.');
process.exit(failed ? 1 : 0);
