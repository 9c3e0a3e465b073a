/**
 * S3 upload benchmark (issue 4): apple-import `upload` (child process, wall time and peak RSS via
 * /usr/bin/time -v) against `curl -F` sending the already-repaired file with a fresh presigned POST of
 * the same size, both to a real radosgw (bluestore). Goal: apple-import ≤ 1.15× curl.
 * apple-import runs as installed (the compiled dist/, built first), not through tsx, whose on-the-fly
 * compilation would add ~0.4 s of startup that no user pays. Its whole run includes the startup, the
 * user check, the head probe and sampled fingerprint, the presign and the one checked, repaired pass.
 * Usage: npm run bench:upload [-- --mb 500] [--node-flags "--cpu-prof --cpu-prof-dir=DIR"]
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
  const backend = await startBackendDouble({
    s3: {
      endpoint: rgw.endpoint,
      bucket: rgw.bucket,
      region: rgw.region,
      accessKeyId: rgw.accessKeyId,
      secretAccessKey: rgw.secretAccessKey,
    },
  });
  try {
    const apiKey = backend.createApiKey();
    const user = backend.createUser({ email: 'bench@example.com' }).id;

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
    console.log(`input ${summary.bytes} bytes, sent ${size} bytes`);
    const build = await timed('npm', ['run', '--silent', 'build'], process.env);
    if (build.code !== 0) throw new Error(`npm run build failed: ${build.stderr.slice(-800)}`);

    // curl: a fresh presign of the same size, then one POST.
    const res = await fetch(`${backend.url}/api/v1/users/${user}/import/apple/xml/s3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-open-wearables-api-key': apiKey },
      body: JSON.stringify({ filename: 'curl-bench.xml', expiration_seconds: 3600, max_file_size: size }),
    });
    const presign = (await res.json()) as { upload_url: string; form_fields: Record<string, string> };
    const form = Object.entries(presign.form_fields).flatMap(([k, v]) => ['--form-string', `${k}=${v}`]);
    let serverCpu = cpuSeconds(rgw.pids);
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
    const curlServerCpu = cpuSeconds(rgw.pids) - serverCpu;

    const cfg = join(work, 'cfg');
    serverCpu = cpuSeconds(rgw.pids);
    const cli = await timed(
      process.execPath,
      [...nodeFlags, 'bin/apple-import.js', 'upload', xml, '--user', user, '--json', '--no-progress'],
      {
        ...process.env,
        APPLE_IMPORT_CONFIG_DIR: cfg,
        APPLE_IMPORT_SERVER: backend.url,
        APPLE_IMPORT_API_KEY: apiKey,
      },
    );
    if (cli.code !== 0) throw new Error(`apple-import failed (${cli.code}): ${cli.stderr.slice(-800)}`);
    const cliServerCpu = cpuSeconds(rgw.pids) - serverCpu;
    const doc = JSON.parse(cli.stdout) as { durationMs: number; parts: { bytes: number }[] };

    const mbps = (bytes: number, ms: number) => ((bytes / ms) * 1000) / 1e6;
    console.log(
      `curl -F (repaired file):    ${(curl.ms / 1000).toFixed(2)} s  ${mbps(size, curl.ms).toFixed(1)} MB/s  peak RSS ${(curl.rssKb / 1024).toFixed(0)} MiB`,
    );
    console.log(
      `apple-import upload (all):  ${(cli.ms / 1000).toFixed(2)} s  ${mbps(size, cli.ms).toFixed(1)} MB/s  peak RSS ${(cli.rssKb / 1024).toFixed(0)} MiB  (start to exit, ${doc.parts.length} part(s))`,
    );
    console.log(
      `  of which the send:         ${(doc.durationMs / 1000).toFixed(2)} s  ${mbps(size, doc.durationMs).toFixed(1)} MB/s`,
    );
    console.log(
      `CPU seconds: curl ${clientCpu(curl.stderr).toFixed(2)} + radosgw ${curlServerCpu.toFixed(2)}   apple-import ${clientCpu(cli.stderr).toFixed(2)} + radosgw ${cliServerCpu.toFixed(2)}   (${availableParallelism()} cores)`,
    );
    console.log(
      `ratio whole run / curl: ${(cli.ms / curl.ms).toFixed(2)}×   send only / curl: ${(doc.durationMs / curl.ms).toFixed(2)}×   (goal ≤ 1.15×)`,
    );
  } finally {
    await backend.close();
    await rgw.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
