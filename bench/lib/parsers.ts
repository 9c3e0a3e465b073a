/** One function per parser under benchmark; each reads `file` in 1 MiB chunks and counts elements. */
import { spawnSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import sax from 'sax';
import { SaxesParser } from 'saxes';
import type * as ExportSource from '../../src/adapters/export-source.js';
import type * as ParallelScan from '../../src/core/reader/parallel-scan.js';
import type * as ReadExport from '../../src/core/reader/read-export.js';

export interface ParserRun {
  elements: number;
  seconds: number;
  /** Peak resident set size of the process that parsed, in bytes (worker threads included). */
  peakRss: number;
  threads?: number;
}

/** A module of the built package: the benchmark measures what users run, not tsx's transpiled sources. */
function distModule(rel: string): string {
  return new URL(`../../dist/${rel}`, import.meta.url).href;
}

async function sequential(file: string, onElement: () => void): Promise<void> {
  const { scanExport } = (await import(distModule('core/reader/read-export.js'))) as typeof ReadExport;
  const { READ_CHUNK_BYTES } = (await import(distModule('adapters/export-source.js'))) as typeof ExportSource;
  await scanExport(
    createReadStream(file, { highWaterMark: READ_CHUNK_BYTES }),
    { onElement },
    { hash: false },
  );
}

const CHUNK = 1 << 20;

export const PARSERS: Record<string, (file: string) => Promise<ParserRun>> = {
  /** The reader as `validate` runs it: parallel ranges on a plain file, from the built package. */
  async ours(file) {
    const { scanInParallel } = (await import(
      distModule('core/reader/parallel-scan.js')
    )) as typeof ParallelScan;
    const t0 = performance.now();
    let elements = 0;
    let threads = 1;
    const merged = await scanInParallel({
      path: file,
      size: statSync(file).size,
      consumerUrl: new URL('./count-consumer.mjs', import.meta.url),
      onRange: (r) => {
        elements += r.partial as number;
      },
      onPlan: (t) => {
        threads = t;
      },
    });
    if (merged === null) {
      elements = 0;
      threads = 1;
      await sequential(file, () => elements++);
    }
    return {
      elements,
      seconds: (performance.now() - t0) / 1000,
      // Worker threads live in this process, so maxRSS counts them too.
      peakRss: process.resourceUsage().maxRSS * 1024,
      threads,
    };
  },
  /** The same reader on one thread (what upload and direct use, and any zip input). */
  async 'ours-1t'(file) {
    const t0 = performance.now();
    let elements = 0;
    await sequential(file, () => elements++);
    return {
      elements,
      seconds: (performance.now() - t0) / 1000,
      peakRss: process.resourceUsage().maxRSS * 1024,
    };
  },
  async sax(file) {
    const t0 = performance.now();
    let elements = 0;
    let depth = 0;
    const p = sax.parser(true);
    p.onopentag = () => {
      if (++depth === 2) elements++;
    };
    p.onclosetag = () => {
      depth--;
    };
    for await (const s of createReadStream(file, { highWaterMark: CHUNK, encoding: 'utf8' }))
      p.write(s as string);
    p.close();
    return {
      elements,
      seconds: (performance.now() - t0) / 1000,
      peakRss: process.resourceUsage().maxRSS * 1024,
    };
  },
  async saxes(file) {
    const t0 = performance.now();
    let elements = 0;
    let depth = 0;
    const p = new SaxesParser();
    p.on('opentag', (t) => {
      if (++depth === 2) elements++;
      if (t.isSelfClosing) depth--;
    });
    p.on('closetag', (t) => {
      if (!t.isSelfClosing) depth--;
    });
    for await (const s of createReadStream(file, { highWaterMark: CHUNK, encoding: 'utf8' }))
      p.write(s as string);
    p.close();
    return {
      elements,
      seconds: (performance.now() - t0) / 1000,
      peakRss: process.resourceUsage().maxRSS * 1024,
    };
  },
  async python(file) {
    // Same shape as the backend's XMLService but with root.clear() (format §2.10), so memory stays flat.
    const script = `
import sys, time, resource, json, xml.etree.ElementTree as ET
t0 = time.perf_counter(); n = 0; depth = 0; root = None
for ev, el in ET.iterparse(sys.argv[1], events=("start", "end")):
    if ev == "start":
        depth += 1
        if depth == 1: root = el
        elif depth == 2: n += 1
    else:
        depth -= 1
        if depth == 1: root.clear()
print(json.dumps({"elements": n, "seconds": time.perf_counter() - t0,
                  "peakRss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
`;
    const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`python3 failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as ParserRun;
  },
};
