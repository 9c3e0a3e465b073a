/**
 * End-to-end throughput of `upload --method direct` to a local backend double, against `validate` on
 * the same file (goal: direct ≤ 1.3× validate, excluding server time). The double's import task is
 * delayed past the run so its parsing does not compete for the CPU; --wait is not used.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeExportFile } from '../src/generator/index.js';
import { startBackendDouble } from '../src/sandbox/backend/index.js';
import { runCli } from '../test/helpers/run-cli.js';

const targetMb = Number(process.env.BENCH_MB ?? 150);
const dir = await mkdtemp(join(tmpdir(), 'direct-bench-'));
const file = join(dir, 'export.xml');
const API_KEY = `sk-${'ef'.repeat(16)}`;
try {
  process.stderr.write(`generating ~${targetMb} MB export…\n`);
  await writeExportFile(file, { seed: 1, targetBytes: targetMb * 1e6 });
  const size = (await stat(file)).size;
  const double = await startBackendDouble({
    seed: { apiKeys: [API_KEY] },
    directDelayMs: 3_600_000,
    maxDirectBytes: 16 * 1024 * 1024,
  });
  const user = double.createUser({ email: 'bench@example.com' });
  const env = {
    APPLE_IMPORT_API_KEY: API_KEY,
    APPLE_IMPORT_SERVER: double.url,
    APPLE_IMPORT_CONFIG_DIR: join(dir, 'cfg'),
  };

  const t0 = performance.now();
  const v = await runCli(['validate', file, '--json'], { env });
  const validateS = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  const d = await runCli(['upload', file, '--user', user.id, '--method', 'direct', '--json'], { env });
  const directS = (performance.now() - t1) / 1000;
  if (d.code !== 0) throw new Error(`direct upload failed (${d.code}): ${d.stderr}`);
  const doc = JSON.parse(d.stdout) as { records: number; batches: unknown[]; bytesSent: number };
  await double.close();
  const out = {
    fileMB: +(size / 1e6).toFixed(1),
    validateExit: v.code,
    validateSeconds: +validateS.toFixed(2),
    directSeconds: +directS.toFixed(2),
    ratio: +(directS / validateS).toFixed(2),
    recordsSent: doc.records,
    batches: doc.batches.length,
    sentMB: +(doc.bytesSent / 1e6).toFixed(1),
    recordsPerSecond: Math.round(doc.records / directS),
    sourceMBps: +(size / 1e6 / directS).toFixed(1),
    peakRssMB: Math.round(process.memoryUsage().rss / 1e6),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
