// A contender of the reader benchmark (bench/reader.bench.ts), run as a process of its own:
// `node bench/lib/contender.mjs NAME FILE` reads the export, counts its top-level elements and prints
// {"elements": n}. Plain JavaScript on the built package, so no transpiler's start-up is in its time.
// A zip is inflated by our export source (adapters/export-source.ts) for sax and saxes, so they parse
// the same bytes validate does.
import { createReadStream, statSync } from 'node:fs';
import sax from 'sax';
import { SaxesParser } from 'saxes';

const dist = (rel) => new URL(`../../dist/${rel}`, import.meta.url).href;
const CHUNK = 1 << 20;

/** The export's XML as strings in 1 MiB chunks: a plain file as it is, a zip's entry inflated. */
async function* xmlText(file) {
  if (!file.endsWith('.zip')) {
    for await (const s of createReadStream(file, { highWaterMark: CHUNK, encoding: 'utf8' })) yield s;
    return;
  }
  const { openExport } = await import(dist('adapters/export-source.js'));
  const source = await openExport(file);
  const decoder = new TextDecoder();
  for await (const chunk of source.open()) yield decoder.decode(chunk, { stream: true });
  yield decoder.decode();
}

const CONTENDERS = {
  /**
   * Our reader alone, as validate runs it (threads on a plain file, the tape scan, one thread for a
   * zip) with a consumer that only counts: what the reader costs without the collector.
   */
  async reader(file) {
    let elements = 0;
    if (!file.endsWith('.zip')) {
      const { scanInParallel } = await import(dist('core/reader/parallel-scan.js'));
      const merged = await scanInParallel({
        path: file,
        size: statSync(file).size,
        consumerUrl: new URL('./count-consumer.mjs', import.meta.url),
        utf8: true,
        onRange: (r) => {
          elements += r.partial;
        },
      });
      if (merged !== null) return elements;
      elements = 0;
    }
    const { scanExport } = await import(dist('core/reader/read-export.js'));
    const { openExport } = await import(dist('adapters/export-source.js'));
    const { TAPE_FIELDS } = await import(dist('core/validate/collector.js'));
    const source = await openExport(file);
    await scanExport(
      source.open(),
      { onTape: () => elements++ },
      { hash: false, tape: true, tapeFields: TAPE_FIELDS, utf8: true },
    );
    return elements;
  },
  async sax(file) {
    let elements = 0;
    let depth = 0;
    const p = sax.parser(true);
    p.onopentag = () => {
      if (++depth === 2) elements++;
    };
    p.onclosetag = () => {
      depth--;
    };
    for await (const s of xmlText(file)) p.write(s);
    p.close();
    return elements;
  },
  async saxes(file) {
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
    for await (const s of xmlText(file)) p.write(s);
    p.close();
    return elements;
  },
};

const [name, file] = process.argv.slice(2);
const run = CONTENDERS[name];
if (!run) throw new Error(`unknown contender ${name}`);
process.stdout.write(`${JSON.stringify({ elements: await run(file) })}\n`);
