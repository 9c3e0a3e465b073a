/**
 * S3 upload benchmark (issues 4 and 13): apple-import `upload` (child process, wall time and peak RSS via
 * /usr/bin/time -v) against `curl -F` sending the already-repaired file with a fresh presigned POST of
 * the same size, all to the same real radosgw (bluestore), in rounds that alternate the three:
 * - multipart: a current backend (default part size 100 MiB, default --concurrency), goal ≤ 1.0× curl and
 *   peak RSS ≤ 150 MB;
 * - post: a backend before August 2026 (one presigned POST), goal ≤ 1.15× curl.
 * apple-import runs as installed (the compiled dist/, built first), not through tsx, whose on-the-fly
 * compilation would add ~0.4 s of startup that no user pays. Its whole run includes the startup, the
 * user check, the head probe and sampled fingerprint, the presign and the one checked, repaired pass.
 * Usage: npm run bench:upload [-- --mb 500] [--rounds 2] [--node-flags "--cpu-prof --cpu-prof-dir=DIR"]
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { openExport } from '../src/adapters/export-source.js';
import { scanExport } from '../src/core/reader/read-export.js';
import { paddedSize, repairBytes, repairPlanFor } from '../src/core/reader/repair.js';
import { startBackendDouble } from '../src/sandbox/backend/index.js';
import { startRadosgw } from '../test/helpers/radosgw.js';
import { writeSyntheticExport } from './lib/synthetic-export.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const mbArg = process.argv.indexOf('--mb');
const mb = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 500;
/** e.g. `--node-flags "--cpu-prof --cpu-prof-dir=/tmp/prof"` to profile apple-import's run. */
const flagsArg = process.argv.indexOf('--node-flags');
const nodeFlags = flagsArg > 0 ? (process.argv[flagsArg + 1] ?? '').split(' ').filter(Boolean) : [];
const roundsArg = process.argv.indexOf('--rounds');
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 2;

/** CPU seconds (user + system) the processes have used so far; /proc/PID/stat fields 14 and 15, in ticks. */
function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // a daemon that is gone has no more CPU to count
    }
  }
  return ticks / 100;
}

/** The client's CPU seconds from `/usr/bin/time -v`. */
function clientCpu(timeOutput: string): number {
  const user = /User time \(seconds\): ([\d.]+)/.exec(timeOutput);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(timeOutput);
  return Number(user?.[1] ?? 0) + Number(sys?.[1] ?? 0);
}

function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; rssKb: number; stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-v', cmd, ...args], { env, cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
      resolve({ ms, rssKb: rss ? Number(rss[1]) : 0, stdout, stderr, code: code ?? 1 });
    });
  });
}

async function main(): Promise<void> {
  const dataDir = join(here, '.data');
  await mkdir(dataDir, { recursive: true });
  const xml = join(dataDir, `export-${mb}mb.xml`);
  if (!existsSync(xml)) {
    console.log(`generating ${xml} …`);
    await writeSyntheticExport(xml, mb * 1_000_000);
  }
  const work = await mkdtemp(join(tmpdir(), 'upload-bench-'));
  const rgw = await startRadosgw({ store: 'bluestore', bucket: 'uploads' });
  const s3 = {
    endpoint: rgw.endpoint,
    bucket: rgw.bucket,
    region: rgw.region,
    accessKeyId: rgw.accessKeyId,
    secretAccessKey: rgw.secretAccessKey,
  };
  const current = await startBackendDouble({ s3, maxImportBytes: 0 });
  const old = await startBackendDouble({ s3, generation: '2026-08' });
  try {
    const keys = { current: current.createApiKey(), old: old.createApiKey() };
    const users = {
      current: current.createUser({ email: 'bench@example.com' }).id,
      old: old.createUser({ email: 'bench@example.com' }).id,
    };

    // The bytes apple-import sends (repaired, padded: repair.ts) for curl, written before any timing.
    const source = await openExport(xml);
    const summary = await scanExport(source.open(), {}, { hash: false });
    const plan = repairPlanFor(summary);
    const size = paddedSize(summary.bytes, plan);
    const repairedPath = join(work, 'repaired.xml');
    await pipeline(
      Readable.from(repairBytes(source.open(), plan, 0, { padDropped: true })),
      createWriteStream(repairedPath),
    );
    console.log(`input ${summary.bytes} bytes, sent ${size} bytes; ${availableParallelism()} cores`);
    const build = await timed('npm', ['run', '--silent', 'build'], process.env);
    if (build.code !== 0) throw new Error(`npm run build failed: ${build.stderr.slice(-800)}`);

    type Run = { ms: number; rssKb: number; cpu: number; serverCpu: number; sendMs?: number; parts?: number };
    const results: Record<'curl' | 'multipart' | 'post', Run[]> = { curl: [], multipart: [], post: [] };

    const curlOnce = async (): Promise<Run> => {
      // A fresh presign of the same size, then one POST.
      const res = await fetch(`${old.url}/api/v1/users/${users.old}/import/apple/xml/s3`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-open-wearables-api-key': keys.old },
        body: JSON.stringify({ filename: 'curl-bench.xml', expiration_seconds: 3600, max_file_size: size }),
      });
      const presign = (await res.json()) as { upload_url: string; form_fields: Record<string, string> };
      const form = Object.entries(presign.form_fields).flatMap(([k, v]) => ['--form-string', `${k}=${v}`]);
      const serverCpu = cpuSeconds(rgw.pids);
      const curl = await timed(
        'curl',
        [
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-H',
          'Expect:',
          ...form,
          '-F',
          `file=@${repairedPath};type=application/xml`,
          presign.upload_url,
        ],
        process.env,
      );
      if (curl.stdout.trim() !== '204')
        throw new Error(`curl upload failed: ${curl.stdout} ${curl.stderr.slice(0, 300)}`);
      return {
        ms: curl.ms,
        rssKb: curl.rssKb,
        cpu: clientCpu(curl.stderr),
        serverCpu: cpuSeconds(rgw.pids) - serverCpu,
      };
    };

    const cliOnce = async (which: 'current' | 'old', round: number): Promise<Run> => {
      const backend = which === 'current' ? current : old;
      const serverCpu = cpuSeconds(rgw.pids);
      const cli = await timed(
        process.execPath,
        [
          ...nodeFlags,
          'bin/apple-import.js',
          'upload',
          xml,
          '--user',
          users[which],
          '--json',
          '--no-progress',
        ],
        {
          ...process.env,
          // A config folder per run: every run uploads afresh.
          APPLE_IMPORT_CONFIG_DIR: join(work, `cfg-${which}-${round}`),
          APPLE_IMPORT_SERVER: backend.url,
          APPLE_IMPORT_API_KEY: keys[which],
        },
      );
      if (cli.code !== 0) throw new Error(`apple-import failed (${cli.code}): ${cli.stderr.slice(-800)}`);
      const doc = JSON.parse(cli.stdout) as { durationMs: number; parts: { bytes: number }[] };
      return {
        ms: cli.ms,
        rssKb: cli.rssKb,
        cpu: clientCpu(cli.stderr),
        serverCpu: cpuSeconds(rgw.pids) - serverCpu,
        sendMs: doc.durationMs,
        parts: doc.parts.length,
      };
    };

    for (let round = 1; round <= rounds; round++) {
      results.curl.push(await curlOnce());
      results.multipart.push(await cliOnce('current', round));
      results.post.push(await cliOnce('old', round));
      // The double imports nothing here (maxImportBytes 0): its task fails at once, off the clock.
      await current.idle();
    }

    const mbps = (bytes: number, ms: number) => ((bytes / ms) * 1000) / 1e6;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const line = (label: string, runs: Run[]) => {
      const ms = median(runs.map((r) => r.ms));
      const rss = Math.max(...runs.map((r) => r.rssKb)) / 1024;
      const cpu = median(runs.map((r) => r.cpu));
      const server = median(runs.map((r) => r.serverCpu));
      const parts = runs[0]?.parts !== undefined ? `, ${runs[0].parts} part(s)` : '';
      console.log(
        `${label.padEnd(34)} ${(ms / 1000).toFixed(2)} s  ${mbps(size, ms).toFixed(1)} MB/s  peak RSS ${rss.toFixed(0)} MiB  CPU ${cpu.toFixed(2)} s + radosgw ${server.toFixed(2)} s${parts}  [${runs.map((r) => (r.ms / 1000).toFixed(2)).join(', ')}]`,
      );
      return ms;
    };
    console.log(`whole runs (process start to exit), median of ${rounds} alternating round(s):`);
    const curlMs = line('curl -F (repaired file, POST)', results.curl);
    const multipartMs = line('apple-import upload, multipart', results.multipart);
    const postMs = line('apple-import upload, presigned POST', results.post);
    console.log(
      `ratio multipart / curl: ${(multipartMs / curlMs).toFixed(2)}× (goal ≤ 1.0×)   presigned POST / curl: ${(postMs / curlMs).toFixed(2)}× (goal ≤ 1.15×)`,
    );
  } finally {
    await current.close();
    await old.close();
    await rgw.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
