/** One function per parser under benchmark; each reads `file` in 1 MiB chunks and counts elements. */
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import sax from 'sax';
import { SaxesParser } from 'saxes';
import { scanExport } from '../../src/core/reader/read-export.js';

export interface ParserRun {
  elements: number;
  seconds: number;
  /** Peak resident set size of the process that parsed, in bytes. */
  peakRss: number;
}

const CHUNK = 1 << 20;

export const PARSERS: Record<string, (file: string) => Promise<ParserRun>> = {
  async ours(file) {
    const t0 = performance.now();
    let elements = 0;
    await scanExport(createReadStream(file, { highWaterMark: CHUNK }), { onElement: () => elements++ }, { hash: false });
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
