/**
 * End-to-end throughput of `upload --method direct` against `validate` on the same file (goal: direct
 * ≤ 1.3× validate, excluding server time). The client runs in this process; backends run in their own:
 *
 * - `apple-import sandbox`: the backend double as users get it. It parses each batch in its import
 *   thread, one batch at a time, while the API goes on taking uploads (contract §3.4: the task runs in a
 *   Celery worker); `serverCpuSeconds` is its CPU time, all threads, until the client is done.
 * - the same double with the import task never starting (`directNoImportSeconds`): what the client takes
 *   when the API only receives. This is the figure the goal is about.
 *
 * `--dry-run` (all client work, nothing sent) is reported too, and `upload --method sdk --dry-run` on
 * the same export next to them (bench:sdk has the sdk method in more detail); `*BusySeconds` are the client's event-loop
 * busy time (time not spent waiting); `peakRssMB` is this process's, which runs every command in turn,
 * and `validatePeakRssMB`/`directPeakRssMB`/`sdkDryRunPeakRssMB` are those of the built CLI (dist/: run
 * `npm run build` first) as a whole process running that one command, worker threads included, as users
 * run it (test/helpers/peak-rss.mjs).
 * --wait is not used.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeExportFile } from '../src/generator/index.js';
import { startBackendDouble } from '../src/sandbox/backend/index.js';
import { runCli } from '../test/helpers/run-cli.js';

const ACCEPT_ONLY = '--accept-only-backend';
const GENERATE = '--generate';

interface BackendInfo {
  url: string;
  api_key: string;
  users: { id: string }[];
}

/** Child role: the backend double, answering uploads but never running their import task. */
async function serveAcceptOnly(): Promise<void> {
  const apiKey = `sk-${randomBytes(16).toString('hex')}`;
  // The longest timer Node allows (~24.8 days): the task is queued and never runs while we measure.
  const double = await startBackendDouble({ seed: { apiKeys: [apiKey] }, directDelayMs: 2 ** 31 - 1 });
  const user = double.createUser({ email: 'bench@example.com' });
  const info: BackendInfo = { url: double.url, api_key: apiKey, users: [{ id: user.id }] };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.once('SIGINT', () => void double.close().then(() => process.exit(0)));
}

/** CPU seconds a process has used so far, from /proc (null where there is none). */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

async function main(): Promise<void> {
  const targetMb = Number(process.env.BENCH_MB ?? 150);
  const dir = await mkdtemp(join(tmpdir(), 'direct-bench-'));
  const file = join(dir, 'export.xml');
  const children: ChildProcess[] = [];

  async function startChild(
    args: string[],
    env: Record<string, string>,
  ): Promise<[ChildProcess, BackendInfo]> {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    children.push(child);
    let text = '';
    for await (const chunk of child.stdout!) {
      text += String(chunk);
      try {
        return [child, JSON.parse(text) as BackendInfo];
      } catch {
        // the JSON document has not fully arrived yet
      }
    }
    throw new Error(`${args.join(' ')} exited before printing its JSON: ${text}`);
  }

  /** Peak RSS (MB) of the built CLI running only this command, as a whole process. */
  async function peakRss(args: string[], env: Record<string, string>): Promise<number> {
    const rssFile = join(dir, `rss-${args[0]}-${randomBytes(4).toString('hex')}`);
    const child = spawn(
      process.execPath,
      ['--import', './test/helpers/peak-rss.mjs', 'bin/apple-import.js', ...args],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { PATH: process.env.PATH ?? '', ...env, APPLE_IMPORT_TEST_PEAK_RSS: rssFile },
      },
    );
    const [code] = await once(child, 'exit');
    if (code !== 0) throw new Error(`${args.join(' ')} (peak RSS run) exited with ${code}`);
    return Math.round(Number(readFileSync(rssFile, 'utf8')) / 1024);
  }

  async function timed(args: string[], env: Record<string, string>) {
    const elu = performance.eventLoopUtilization();
    const t = performance.now();
    const r = await runCli(args, { env });
    const seconds = (performance.now() - t) / 1000;
    const busy = performance.eventLoopUtilization(elu).active / 1000;
    if (r.code !== 0) throw new Error(`${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return { r, seconds, busy };
  }

  try {
    process.stderr.write(`generating ~${targetMb} MB export…\n`);
    // In a child, so that peakRssMB is the CLI's (the generator's own peak is higher than validate's).
    const generator = spawn(process.execPath, ['--import', 'tsx', 'bench/direct.bench.ts', GENERATE, file], {
      stdio: 'inherit',
      env: { PATH: process.env.PATH ?? '', BENCH_MB: String(targetMb) },
    });
    const [code] = await once(generator, 'exit');
    if (code !== 0) throw new Error(`the generator exited with ${code}`);
    const size = (await stat(file)).size;
    const [sandbox, info] = await startChild(
      ['src/bin.ts', 'sandbox', '--json', '--data-dir', join(dir, 's3')],
      { APPLE_IMPORT_CONFIG_DIR: join(dir, 'sandbox-cfg') },
    );
    const [, quiet] = await startChild(['bench/direct.bench.ts', ACCEPT_ONLY], {});
    const envFor = (b: BackendInfo, cfg: string) => ({
      APPLE_IMPORT_API_KEY: b.api_key,
      APPLE_IMPORT_SERVER: b.url,
      APPLE_IMPORT_CONFIG_DIR: join(dir, cfg),
    });
    const env = envFor(info, 'cfg');
    const direct = (user: string) => ['upload', file, '--user', user, '--method', 'direct', '--json'];

    const validate = await timed(['validate', file, '--json'], env);
    const dry = await timed([...direct(info.users[0]!.id), '--dry-run'], env);
    // The sdk method's client-side work on the same export (issue 15: ≤ 1.2× validate's time).
    const sdkDry = await timed(
      ['upload', file, '--user', info.users[0]!.id, '--method', 'sdk', '--json', '--dry-run'],
      env,
    );
    const cpuBefore = cpuSeconds(sandbox.pid);
    const sent = await timed(direct(info.users[0]!.id), env);
    const cpuAfter = cpuSeconds(sandbox.pid);
    const noImport = await timed(direct(quiet.users[0]!.id), envFor(quiet, 'cfg-quiet'));
    const doc = JSON.parse(sent.r.stdout) as { records: number; batches: unknown[]; bytesSent: number };
    const validateRss = await peakRss(['validate', file, '--json'], env);
    const directRss = await peakRss(direct(quiet.users[0]!.id), envFor(quiet, 'cfg-rss'));
    const sdkRss = await peakRss(
      ['upload', file, '--user', quiet.users[0]!.id, '--method', 'sdk', '--json', '--dry-run'],
      envFor(quiet, 'cfg-rss-sdk'),
    );
    const out = {
      fileMB: +(size / 1e6).toFixed(1),
      validateSeconds: +validate.seconds.toFixed(2),
      dryRunSeconds: +dry.seconds.toFixed(2),
      directSeconds: +sent.seconds.toFixed(2),
      directNoImportSeconds: +noImport.seconds.toFixed(2),
      ratioDirectToValidate: +(sent.seconds / validate.seconds).toFixed(2),
      ratioDryRunToValidate: +(dry.seconds / validate.seconds).toFixed(2),
      sdkDryRunSeconds: +sdkDry.seconds.toFixed(2),
      ratioSdkDryRunToValidate: +(sdkDry.seconds / validate.seconds).toFixed(2),
      ratioNoImportToValidate: +(noImport.seconds / validate.seconds).toFixed(2),
      serverCpuSeconds: cpuBefore === null || cpuAfter === null ? null : +(cpuAfter - cpuBefore).toFixed(2),
      validateBusySeconds: +validate.busy.toFixed(2),
      directBusySeconds: +sent.busy.toFixed(2),
      directNoImportBusySeconds: +noImport.busy.toFixed(2),
      recordsSent: doc.records,
      batches: doc.batches.length,
      sentMB: +(doc.bytesSent / 1e6).toFixed(1),
      recordsPerSecond: Math.round(doc.records / sent.seconds),
      sourceMBps: +(size / 1e6 / sent.seconds).toFixed(1),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      validatePeakRssMB: validateRss,
      directPeakRssMB: directRss,
      sdkDryRunPeakRssMB: sdkRss,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await once(child, 'exit');
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === ACCEPT_ONLY) await serveAcceptOnly();
else if (role === GENERATE) {
  await writeExportFile(process.argv[3]!, {
    seed: 1,
    targetBytes: Number(process.env.BENCH_MB ?? 150) * 1e6,
  });
} else await main();
