/**
 * `upload --method sdk` next to `validate` and `upload --method direct` on the same export, in the same
 * run (issue 15: sdk's client-side work, `--dry-run`, ≤ 1.2× validate's time; peak RSS ≤ 150 MB). Every
 * figure is the built CLI (dist/, built first) as a whole process, as users run it: start-up, the user
 * check, the fingerprint and the one pass over the export; peak RSS is that process's, worker threads
 * included (test/helpers/peak-rss.mjs). The commands run in alternating rounds, so a load that comes and
 * goes on a shared machine lands on all of them; medians and ratios are printed. Python's iterparse over
 * the same file (with root.clear(), as the backend's parser would need) is the anchor.
 *
 * `sdk send` sends for real, to the contract double running in this process (its CPU is this process's,
 * not the client's), without --wait: the client's whole run including the 202s.
 * Usage: npm run bench:sdk [-- --mb 150 --rounds 3]
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeExportFile } from '../src/generator/index.js';
import { startBackendDouble } from '../src/sandbox/backend/index.js';
import { PYTHON_ITERPARSE } from './lib/iterparse.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const mb = arg('--mb', Number(process.env.BENCH_MB ?? 150));
const rounds = arg('--rounds', 3);

interface Run {
  seconds: number;
  rssMb: number;
  stdout: string;
}

function cli(args: string[], env: Record<string, string>, rssFile: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(
      process.execPath,
      ['--import', join(root, 'test/helpers/peak-rss.mjs'), join(root, 'bin/apple-import.js'), ...args],
      {
        env: { PATH: process.env.PATH ?? '', ...env, APPLE_IMPORT_TEST_PEAK_RSS: rssFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += String(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += String(c);
    });
    child.on('error', reject);
    child.on('exit', async (code) => {
      const seconds = (performance.now() - t) / 1000;
      if (code !== 0) {
        reject(new Error(`${args.join(' ')} exited with ${code}: ${stderr.slice(-500)}`));
        return;
      }
      const kib = Number(await readFile(rssFile, 'utf8').catch(() => 'NaN'));
      resolve({ seconds, rssMb: kib / 1024, stdout });
    });
  });
}

/** Python's iterparse as the backend runs it, timed as a whole process like the CLI runs. */
function pythonSeconds(file: string): number {
  const t = performance.now();
  const r = spawnSync('python3', ['-c', PYTHON_ITERPARSE, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const build = spawn('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const built = await new Promise<number | null>((resolve) => build.on('exit', resolve));
  if (built !== 0) throw new Error('the build failed');
  const dir = await mkdtemp(join(tmpdir(), 'sdk-bench-'));
  const file = join(dir, 'export.xml');
  const apiKey = `sk-${randomBytes(16).toString('hex')}`;
  const double = await startBackendDouble({ seed: { apiKeys: [apiKey] }, directDelayMs: 1 });
  try {
    process.stderr.write(`generating ~${mb} MB export…\n`);
    await writeExportFile(file, { targetBytes: mb * 1e6, seed: 3 });
    const size = (await stat(file)).size;
    const env = (cfg: string) => ({
      APPLE_IMPORT_API_KEY: apiKey,
      APPLE_IMPORT_SERVER: double.url,
      APPLE_IMPORT_CONFIG_DIR: join(dir, cfg),
    });
    const dryUser = double.createUser({ email: 'dry@example.com' }).id;
    const upload = (user: string, method: string) => [
      'upload',
      file,
      '--user',
      user,
      '--method',
      method,
      '--json',
    ];
    const commands: Record<string, (round: number) => [string[], Record<string, string>]> = {
      validate: () => [['validate', file, '--json'], env('cfg')],
      'direct --dry-run': () => [[...upload(dryUser, 'direct'), '--dry-run'], env('cfg')],
      'sdk --dry-run': () => [[...upload(dryUser, 'sdk'), '--dry-run'], env('cfg')],
      // A new user and ledger each round: every round sends the whole export.
      'sdk send': (r) => [
        upload(double.createUser({ email: `send${r}@example.com` }).id, 'sdk'),
        env(`cfg-send${r}`),
      ],
    };
    const results: Record<string, Run[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    const python: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const [name, make] of Object.entries(commands)) {
        const [args, e] = make(r);
        const run = await cli(args, e, join(dir, `rss-${name.replace(/\W+/g, '-')}-${r}`));
        results[name]!.push(run);
        await double.idle();
        process.stderr.write(
          `round ${r + 1}: ${name} ${run.seconds.toFixed(2)} s, ${run.rssMb.toFixed(0)} MB\n`,
        );
      }
      python.push(pythonSeconds(file));
    }
    const sdkDoc = JSON.parse(results['sdk --dry-run']![0]!.stdout) as {
      records: number;
      batches: unknown[];
    };
    const v = median(results.validate!.map((x) => x.seconds));
    const out: Record<string, unknown> = {
      fileMB: +(size / 1e6).toFixed(1),
      rounds,
      samples: sdkDoc.records,
      sdkBatches: sdkDoc.batches.length,
      pythonIterparseSeconds: +median(python).toFixed(2),
    };
    for (const [name, runs] of Object.entries(results)) {
      const s = median(runs.map((x) => x.seconds));
      out[`${name} seconds`] = +s.toFixed(2);
      out[`${name} peakRssMB`] = +Math.max(...runs.map((x) => x.rssMb)).toFixed(0);
      if (name !== 'validate') out[`${name} / validate`] = +(s / v).toFixed(2);
    }
    out['sdk --dry-run / python iterparse'] = +(
      median(results['sdk --dry-run']!.map((x) => x.seconds)) / median(python)
    ).toFixed(2);
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await double.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
