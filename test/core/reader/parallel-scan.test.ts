/**
 * The parallel scan's own contract (validate's exact merge is tested in test/core/validate/parallel.test.ts):
 * results come back in document order, and anything that makes a range unusable yields null so the
 * caller scans on one thread instead of failing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { scanInParallel } from '../../../src/core/reader/parallel-scan.js';
import { writeExportFile } from '../../../src/generator/index.js';

const dir = mkdtempSync(join(tmpdir(), 'apple-import-pscan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A consumer module (plain JS, loaded by URL in each worker) counting elements, or dying on purpose. */
function consumer(name: string, body: string): URL {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, `export function createRangeConsumer(options) {\n${body}\n}\n`);
  return pathToFileURL(file);
}

const COUNT = consumer(
  'count',
  'let n = 0; return { onElement() { n++; }, onDefect() {}, finish() { return { partial: n }; } };',
);
// Counts too, and says which thread it ran on.
const WHERE = consumer(
  'where',
  'let n = 0; return { onElement() { n++; }, onDefect() {}, finish() { return { partial: [n, globalThis.isMain] }; } };',
);
writeFileSync(
  WHERE,
  `import { isMainThread } from 'node:worker_threads';\nglobalThis.isMain = isMainThread;\n${readFileSync(WHERE, 'utf8')}`,
);
// Dies in the range that starts past the middle of the file, like a thread running out of memory.
const DIE = consumer(
  'die',
  'let n = 0; return { onElement(el) { n++; if (el.startOffset > options.at) process.exit(1); }, onDefect() {}, finish() { return { partial: n }; } };',
);

describe('parallel scan', () => {
  it('hands the ranges back in document order, adding up to the whole', async () => {
    const path = join(dir, 'a.xml');
    await writeExportFile(path, { seed: 41, days: 20 });
    const size = statSync(path).size;
    const seen: number[] = [];
    let elements = 0;
    const merged = await scanInParallel({
      path,
      size,
      consumerUrl: COUNT,
      workers: 2,
      minBytes: 0,
      maxRangeBytes: Math.ceil(size / 6),
      onRange: (r) => {
        seen.push(r.index);
        elements += r.partial as number;
      },
    });
    assert.ok(merged);
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5]);
    assert.equal(elements, merged.topLevelCount);
    assert.equal(merged.bytes, size);
    assert.equal(merged.closed, true);
  });

  it('with mainThread, the main thread scans ranges of the same queue, one worker fewer', async () => {
    const path = join(dir, 'c.xml');
    await writeExportFile(path, { seed: 43, days: 20 });
    const size = statSync(path).size;
    const seen: number[] = [];
    const where = new Set<boolean>();
    let elements = 0;
    let plan = [0, 0];
    const merged = await scanInParallel({
      path,
      size,
      consumerUrl: WHERE,
      workers: 2,
      minBytes: 0,
      maxRangeBytes: Math.ceil(size / 12),
      mainThread: true,
      onPlan: (threads, ranges) => {
        plan = [threads, ranges];
      },
      onRange: (r) => {
        seen.push(r.index);
        const [n, main] = r.partial as [number, boolean];
        elements += n;
        where.add(main);
      },
    });
    assert.ok(merged);
    assert.deepEqual(plan, [2, 12]);
    assert.deepEqual(
      seen,
      Array.from({ length: 12 }, (_, i) => i),
    );
    assert.deepEqual([...where].sort(), [false, true], 'both the main thread and the worker scanned ranges');
    assert.equal(elements, merged.topLevelCount);
    assert.equal(merged.bytes, size);
  });

  it('gives up (null, so the caller reads on one thread) when a thread dies', async () => {
    const path = join(dir, 'b.xml');
    await writeExportFile(path, { seed: 42, days: 20 });
    const size = statSync(path).size;
    const merged = await scanInParallel({
      path,
      size,
      consumerUrl: DIE,
      consumerOptions: { at: Math.floor(size / 2) },
      workers: 2,
      minBytes: 0,
      maxRangeBytes: Math.ceil(size / 6),
      onRange: () => {},
    });
    assert.equal(merged, null);
  });
});
