/**
 * End-to-end throughput of `upload --method direct` against `validate` on the same file (goal: direct
 * ≤ 1.3× validate, excluding server time). The backend runs as `apple-import sandbox` in its own process,
 * so receiving and importing batches is server time on the other core, not work in the measured process;
 * `--dry-run` (all client work, nothing sent) is reported too. --wait is not used.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeExportFile } from '../src/generator/index.js';
import type { SandboxInfo } from '../src/sandbox/run-sandbox.js';
import { runCli } from '../test/helpers/run-cli.js';

const targetMb = Number(process.env.BENCH_MB ?? 150);
const dir = await mkdtemp(join(tmpdir(), 'direct-bench-'));
const file = join(dir, 'export.xml');
let sandbox: ChildProcess | undefined;

async function startSandbox(): Promise<SandboxInfo> {
  sandbox = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/bin.ts', 'sandbox', '--json', '--data-dir', join(dir, 's3')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH ?? '', APPLE_IMPORT_CONFIG_DIR: join(dir, 'sandbox-cfg') },
    },
  );
  let text = '';
  for await (const chunk of sandbox.stdout!) {
    text += String(chunk);
    try {
      return JSON.parse(text) as SandboxInfo;
    } catch {
      // the JSON document has not fully arrived yet
    }
  }
  throw new Error(`the sandbox exited before printing its JSON: ${text}`);
}

async function timed(args: string[], env: Record<string, string>) {
  const t = performance.now();
  const r = await runCli(args, { env });
  const seconds = (performance.now() - t) / 1000;
  if (r.code !== 0) throw new Error(`${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return { r, seconds };
}

try {
  process.stderr.write(`generating ~${targetMb} MB export…\n`);
  await writeExportFile(file, { seed: 1, targetBytes: targetMb * 1e6 });
  const size = (await stat(file)).size;
  const info = await startSandbox();
  const user = info.users[0]!.id;
  const env = {
    APPLE_IMPORT_API_KEY: info.api_key,
    APPLE_IMPORT_SERVER: info.url,
    APPLE_IMPORT_CONFIG_DIR: join(dir, 'cfg'),
  };
  const direct = ['upload', file, '--user', user, '--method', 'direct', '--json'];

  const validate = await timed(['validate', file, '--json'], env);
  const dry = await timed([...direct, '--dry-run'], env);
  const sent = await timed(direct, env);
  const doc = JSON.parse(sent.r.stdout) as { records: number; batches: unknown[]; bytesSent: number };
  const out = {
    fileMB: +(size / 1e6).toFixed(1),
    validateSeconds: +validate.seconds.toFixed(2),
    dryRunSeconds: +dry.seconds.toFixed(2),
    directSeconds: +sent.seconds.toFixed(2),
    ratioDirectToValidate: +(sent.seconds / validate.seconds).toFixed(2),
    ratioDryRunToValidate: +(dry.seconds / validate.seconds).toFixed(2),
    recordsSent: doc.records,
    batches: doc.batches.length,
    sentMB: +(doc.bytesSent / 1e6).toFixed(1),
    recordsPerSecond: Math.round(doc.records / sent.seconds),
    sourceMBps: +(size / 1e6 / sent.seconds).toFixed(1),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  if (sandbox && sandbox.exitCode === null) {
    sandbox.kill('SIGINT');
    await once(sandbox, 'exit');
  }
  await rm(dir, { recursive: true, force: true });
}
