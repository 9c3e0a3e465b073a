/**
 * Reader benchmark: throughput (MB/s) and peak RSS of our scanner against sax (strict), saxes and
 * Python ElementTree.iterparse on a ~500 MB realistic export. Each parser runs in its own child
 * process so RSS is per parser. Usage: npm run bench [-- --mb 500]
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PARSERS, type ParserRun } from './lib/parsers.js';
import { writeSyntheticExport } from './lib/synthetic-export.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const args = process.argv.slice(2);

async function childMain(parser: string, file: string): Promise<void> {
  const run = PARSERS[parser];
  if (!run) throw new Error(`unknown parser ${parser}`);
  process.stdout.write(`${JSON.stringify(await run(file))}\n`);
}

/** Reuses bench/.data/export-<mb>mb.xml, generating it with src/generator when available. */
async function ensureData(mb: number): Promise<{ file: string; source: string }> {
  const dir = join(here, '.data');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `export-${mb}mb.xml`);
  if (existsSync(file)) return { file, source: 'cached' };
  const tmp = `${file}.tmp`;
  try {
    const gen = (await import('../src/generator/index.js')) as {
      generateExport(o: { targetBytes: number; seed: number }, sink: NodeJS.WritableStream): Promise<unknown>;
    };
    const out = createWriteStream(tmp);
    await gen.generateExport({ targetBytes: mb * 1e6, seed: 1 }, out);
    if (!out.writableEnded) out.end();
    if (!out.writableFinished) await once(out, 'finish');
    renameSync(tmp, file);
    return { file, source: 'src/generator' };
  } catch (e) {
    process.stderr.write(`src/generator unavailable (${(e as Error).message}); using the inline generator\n`);
    await writeSyntheticExport(tmp, mb * 1e6);
    renameSync(tmp, file);
    return { file, source: 'bench/lib/synthetic-export' };
  }
}

async function parentMain(): Promise<void> {
  const mbFlag = args.indexOf('--mb');
  const mb = mbFlag === -1 ? 500 : Number(args[mbFlag + 1]);
  const { file, source } = await ensureData(mb);
  const bytes = statSync(file).size;
  console.log(`input: ${file} (${(bytes / 1e6).toFixed(0)} MB, ${source})`);
  // "ours" runs the built package, as users do: build it first so the numbers are of this checkout.
  execFileSync(
    process.execPath,
    [
      join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(here, '..', 'tsconfig.build.json'),
    ],
    {
      stdio: 'inherit',
    },
  );
  const results: Record<string, ParserRun> = {};
  for (const name of Object.keys(PARSERS)) {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', name, file],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      },
    );
    results[name] = JSON.parse(out.trim().split('\n').at(-1)!) as ParserRun;
    const r = results[name]!;
    console.log(
      `${name.padEnd(8)} ${(bytes / 1e6 / r.seconds).toFixed(0).padStart(6)} MB/s ${r.seconds.toFixed(2).padStart(7)} s  peak RSS ${(r.peakRss / 1048576).toFixed(0).padStart(5)} MiB  elements ${r.elements}`,
    );
  }
  for (const mine of ['ours', 'ours-1t']) {
    const ours = results[mine]!;
    const ratios = ['sax', 'saxes', 'python']
      .filter((o) => results[o])
      .map((o) => `${mine}/${o}: ${(results[o]!.seconds / ours.seconds).toFixed(2)}x`);
    console.log(`${ratios.join('   ')}${ours.threads ? `   (${ours.threads} threads)` : ''}`);
  }
  const counts = new Set(Object.values(results).map((r) => r.elements));
  if (counts.size !== 1)
    console.log(`WARNING: parsers disagree on the element count: ${[...counts].join(', ')}`);
}

if (args[0] === '--child') await childMain(args[1]!, args[2]!);
else await parentMain();
