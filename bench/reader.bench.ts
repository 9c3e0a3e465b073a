/**
 * `npm run bench`: `apple-import validate FILE --json` as users run it (the built CLI, a whole process
 * from spawn to exit: start-up, read, collect, report) next to Python's ElementTree.iterparse as the
 * backend runs it (events start and end, root cleared), sax (strict) and saxes, each in a process of
 * its own, on a 300 MB and a 1 GB generated export and a zip of a 100 MB one. Runs alternate (the order
 * rotates every round) so a machine that is busy with something else slows every contender alike;
 * medians of wall time and peak RSS are printed, with each contender's wall time as a multiple of
 * validate's. Secondary lines: validate --threads 1, and our reader alone with a counting consumer.
 *
 * Usage: npm run bench [-- --runs 3] [--only 300mb,1gb,zip] [--skip sax,saxes]
 * Inputs are generated once into bench/.data (src/generator, seed 1) and reused.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeExportFile, writeExportZip } from '../src/generator/index.js';
import { PYTHON_ITERPARSE } from './lib/iterparse.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);

function flag(name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

interface Input {
  key: string;
  file: string;
  /** Size of the XML inside (the file's own size for a plain export). */
  xmlBytes: number;
}

interface Contender {
  name: string;
  /** Shown as a secondary line, not among the anchors. */
  secondary?: boolean;
  command(file: string): [string, string[]];
  /** The top-level element count from the process's stdout. */
  elements(stdout: string): number;
}

interface Run {
  seconds: number;
  peakRssKb: number;
  elements: number;
}

const CLI = join(root, 'bin', 'apple-import.js');
const CONTENDER = join(here, 'lib', 'contender.mjs');

function childOf(name: string): Contender['command'] {
  return (file) => [process.execPath, [CONTENDER, name, file]];
}

function fromJson(stdout: string): number {
  return (JSON.parse(stdout.trim().split('\n').at(-1)!) as { elements: number }).elements;
}

/** Top-level elements in validate's report: every element it counted at the top. */
function fromReport(stdout: string): number {
  const report = JSON.parse(stdout) as { elements: Record<string, number> };
  return Object.values(report.elements).reduce((a, b) => a + b, 0);
}

const CONTENDERS: Contender[] = [
  {
    name: 'validate',
    command: (f) => [process.execPath, [CLI, 'validate', f, '--json']],
    elements: fromReport,
  },
  { name: 'iterparse', command: (f) => ['python3', ['-c', PYTHON_ITERPARSE, f]], elements: fromJson },
  { name: 'sax', command: childOf('sax'), elements: fromJson },
  { name: 'saxes', command: childOf('saxes'), elements: fromJson },
  {
    name: 'validate-1t',
    secondary: true,
    command: (f) => [process.execPath, [CLI, 'validate', f, '--json', '--threads', '1']],
    elements: fromReport,
  },
  { name: 'reader', secondary: true, command: childOf('reader'), elements: fromJson },
];

/** Runs one process under GNU time: wall time from spawn to exit, and its peak RSS. */
function measure(c: Contender, file: string): Promise<Run> {
  const [cmd, argv] = c.command(file);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-f', 'RSS_KB=%M', cmd, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      const rss = /RSS_KB=(\d+)/.exec(err);
      // validate exits 3 for an export the backend would refuse; its report is still on stdout.
      if ((code !== 0 && !(c.name.startsWith('validate') && code === 3)) || rss === null) {
        reject(new Error(`${c.name} exited ${code}: ${err.slice(-2000)}`));
        return;
      }
      try {
        resolve({ seconds, peakRssKb: Number(rss[1]), elements: c.elements(out) });
      } catch (e) {
        reject(new Error(`${c.name}: unreadable output (${(e as Error).message}): ${out.slice(0, 500)}`));
      }
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function ensureInputs(keys: string[]): Promise<Input[]> {
  const dir = join(here, '.data');
  mkdirSync(dir, { recursive: true });
  const plain = async (key: string, mb: number): Promise<Input> => {
    const file = join(dir, `export-${key}.xml`);
    if (!existsSync(file)) {
      process.stderr.write(`generating ${file} (${mb} MB)…\n`);
      await writeExportFile(`${file}.tmp`, { targetBytes: mb * 1e6, seed: 1 });
      renameSync(`${file}.tmp`, file);
    }
    return { key, file, xmlBytes: statSync(file).size };
  };
  const inputs: Input[] = [];
  for (const key of keys) {
    if (key === '300mb') inputs.push(await plain(key, 300));
    else if (key === '1gb') inputs.push(await plain(key, 1000));
    else if (key === 'zip') {
      const file = join(dir, 'export-100mb.zip');
      if (!existsSync(file)) {
        process.stderr.write(`generating ${file} (a 100 MB export, zipped)…\n`);
        await writeExportZip(`${file}.tmp.zip`, { targetBytes: 100e6, seed: 1 });
        renameSync(`${file}.tmp.zip`, file);
      }
      const { openExport } = await import('../src/adapters/export-source.js');
      const source = await openExport(file);
      inputs.push({ key, file, xmlBytes: source.size });
    } else throw new Error(`unknown input ${key} (300mb, 1gb, zip)`);
  }
  return inputs;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(0)} MB`;
}

async function parentMain(): Promise<void> {
  const runs = Number(flag('--runs') ?? 3);
  const keys = (flag('--only') ?? '300mb,1gb,zip').split(',');
  const skip = new Set((flag('--skip') ?? '').split(',').filter(Boolean));
  const contenders = CONTENDERS.filter((c) => !skip.has(c.name));
  // validate runs the built package, as users do: build it first so the numbers are of this checkout.
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  const inputs = await ensureInputs(keys);
  const load0 = loadavg()[0]!;
  console.log(
    `node ${process.version}, ${availableParallelism()} cores, load average ${load0.toFixed(1)} at the start; ${runs} alternating runs per contender`,
  );
  for (const input of inputs) {
    const size = statSync(input.file).size;
    console.log(
      `\n${input.key}: ${input.file}${input.file.endsWith('.zip') ? ` (${mb(size)} zip of ${mb(input.xmlBytes)} XML)` : ` (${mb(size)})`}`,
    );
    const results = new Map<string, Run[]>(contenders.map((c) => [c.name, []]));
    for (let r = 0; r < runs; r++) {
      // Rotate the order each round, so no contender always follows the same one.
      const order = contenders.map((_, i) => contenders[(i + r) % contenders.length]!);
      for (const c of order) results.get(c.name)!.push(await measure(c, input.file));
    }
    const base = median(results.get('validate')!.map((x) => x.seconds));
    const line = (c: Contender): string => {
      const rs = results.get(c.name)!;
      const s = median(rs.map((x) => x.seconds));
      const rss = median(rs.map((x) => x.peakRssKb)) / 1024;
      const ratio = c.name === 'validate' ? '' : `   ${(s / base).toFixed(2)}× validate's time`;
      return `  ${c.name.padEnd(12)} ${s.toFixed(2).padStart(7)} s  ${(input.xmlBytes / 1e6 / s).toFixed(0).padStart(5)} MB/s  peak RSS ${rss.toFixed(0).padStart(4)} MiB${ratio}`;
    };
    for (const c of contenders.filter((x) => !x.secondary)) console.log(line(c));
    console.log('  secondary:');
    for (const c of contenders.filter((x) => x.secondary)) console.log(line(c));
    const py = results.get('iterparse');
    if (py) {
      const speedup = median(py.map((x) => x.seconds)) / base;
      console.log(`  validate is ${speedup.toFixed(2)}× as fast as Python iterparse (median wall times)`);
    }
    const counts = new Set([...results.values()].flat().map((x) => x.elements));
    if (counts.size !== 1)
      console.log(
        `  WARNING: the contenders disagree on the top-level element count: ${[...counts].join(', ')}`,
      );
  }
  console.log(
    `\nload average ${loadavg()[0]!.toFixed(1)} at the end (the machine is shared: read ratios, not seconds)`,
  );
}

await parentMain();
