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
import { rangeTargets, scanInParallel } from '../../../src/core/reader/parallel-scan.js';
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
    const bounds: [number, number][] = [];
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
        bounds.push([r.start, r.end]);
        elements += r.partial as number;
      },
    });
    assert.ok(merged);
    assert.ok(seen.length >= 6, `${seen.length} ranges`);
    assert.deepEqual(
      seen,
      Array.from({ length: seen.length }, (_, i) => i),
    );
    assert.equal(bounds[0]![0], 0);
    for (let i = 1; i < bounds.length; i++) assert.equal(bounds[i]![0], bounds[i - 1]![1]);
    assert.equal(bounds.at(-1)![1], size);
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
    assert.equal(plan[0], 2);
    assert.ok(plan[1]! >= 12, `${plan[1]} ranges`);
    assert.deepEqual(
      seen,
      Array.from({ length: plan[1]! }, (_, i) => i),
    );
    assert.deepEqual([...where].sort(), [false, true], 'both the main thread and the worker scanned ranges');
    assert.equal(elements, merged.topLevelCount);
    assert.equal(merged.bytes, size);
  });

  it('cuts ranges that shrink toward the end of the file, none over the bound', () => {
    const MiB = 1024 * 1024;
    for (const [size, threads, max] of [
      [1000e6, 2, 128 * MiB],
      [300e6, 2, 128 * MiB],
      [300e6, 4, 128 * MiB],
      [60e6, 2, 128 * MiB],
      [100e6, 2, 4 * MiB],
    ] as const) {
      const cuts = [0, ...rangeTargets(size, threads, max), size];
      const sizes = cuts.slice(1).map((c, i) => c - cuts[i]!);
      assert.ok(sizes.length >= 2 * threads, `${size}: ${sizes.length} ranges`);
      assert.ok(Math.max(...sizes) <= max, `${size}: ${sizes}`);
      // Non-increasing but for the last, which takes what is left.
      for (let i = 1; i + 1 < sizes.length; i++) assert.ok(sizes[i]! <= sizes[i - 1]!, `${size}: ${sizes}`);
      if (max > 6 * MiB) assert.ok(sizes.at(-1)! < sizes[0]! / 2, `${size}: ${sizes}`);
    }
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
