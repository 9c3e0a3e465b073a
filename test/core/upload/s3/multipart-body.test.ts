import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ExportSource, openExport } from '../../../../src/adapters/export-source.js';
import { ReadPool } from '../../../../src/adapters/read-pool.js';
import { scanExport } from '../../../../src/core/reader/read-export.js';
import type { RepairPlan } from '../../../../src/core/reader/repair.js';
import { paddedSize, repairBytes, repairPlanFor } from '../../../../src/core/reader/repair.js';
import { measureInWorker, plainVerdict } from '../../../../src/core/upload/s3/measure.js';
import { layoutParts, type PartLayout, partBodies } from '../../../../src/core/upload/s3/multipart-body.js';
import {
  type ExportFilterPlan,
  planFilter,
  repairedStream,
} from '../../../../src/core/upload/shared/export-filter.js';
import { writeExportFile } from '../../../../src/generator/index.js';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** The plain file checked by the upload's worker thread, which also says where each part starts. */
function locatedBy(source: ExportSource & { filePath: string }, repair: RepairPlan) {
  const measure = measureInWorker(source, repair, { importedWorkouts: new Set() });
  return {
    located: { starts: measure.starts, checked: plainVerdict(measure) },
    close: () => measure.close(),
  };
}

/** The export as a zip entry looks to the upload: readable from its start only (no filePath). */
function sequential(source: ExportSource): ExportSource {
  const { filePath: _file, ...rest } = source;
  return rest;
}

describe('multipart bodies: the padded repaired stream cut into parts', () => {
  let dir: string;
  let path: string;
  let expected: Buffer;
  let source: ExportSource;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multipart-body-'));
    path = join(dir, 'export.xml');
    await writeExportFile(path, {
      days: 3,
      dtd: 'ios16-unclosed-attlist',
      exportVersion: 12,
      controlChars: 0.5,
    });
    source = await openExport(path);
    const summary = await scanExport(source.open(), {});
    assert.ok(summary.illegalCharCount > 0, 'the fixture has control characters');
    expected = await collect(repairBytes(source.open(), repairPlanFor(summary), 0, { padDropped: true }));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function bodiesOf(
    src: ExportSource,
    partSize: number,
    opts: { budget?: number; concurrency?: number; located?: boolean } = {},
  ) {
    const head = await scanExport(src.open(), {});
    const repair = repairPlanFor(head);
    const parts = layoutParts(paddedSize(src.size, repair), partSize);
    const by = opts.located ? locatedBy(src as ExportSource & { filePath: string }, repair) : null;
    const bodies = partBodies({
      ...(by ? { located: by.located } : {}),
      source: src,
      repair,
      parts,
      skip: new Set(),
      concurrency: opts.concurrency ?? 3,
      signal: new AbortController().signal,
      ...(opts.budget !== undefined ? { bufferBudgetBytes: opts.budget } : {}),
    });
    return { bodies, parts, close: () => by?.close() };
  }

  const modes: [string, () => ExportSource, number | undefined, boolean?][] = [
    ['a plain file: every part reads its own range, in parallel', () => source, undefined],
    [
      'a plain file checked by the worker: each part starts where the worker found it, nothing read twice',
      () => source,
      undefined,
      true,
    ],
    ['a sequential source, parts buffered in order', () => sequential(source), undefined],
    ['a sequential source, parts too large to buffer streamed one at a time', () => sequential(source), 1],
  ];
  for (const [name, src, budget, located] of modes) {
    it(name, async () => {
      const partSize = 100_003;
      const { bodies, parts, close } = await bodiesOf(src(), partSize, {
        ...(budget !== undefined ? { budget } : {}),
        ...(located ? { located } : {}),
      });
      assert.equal(
        parts.reduce((n, p) => n + p.bytes, 0),
        expected.length,
      );
      const got: Buffer[] = [];
      const pool = new ReadPool(64 * 1024);
      if (bodies.slots > 1) {
        // As the sender asks for them: up to `slots` at once.
        const all = await Promise.all(
          parts.map((p) =>
            collect(bodies.body(p, 1, pool)).then((b) => {
              bodies.release(p);
              return b;
            }),
          ),
        );
        got.push(...all);
      } else {
        for (const p of parts) {
          got.push(await collect(bodies.body(p, 1, pool)));
          bodies.release(p);
        }
      }
      for (const [i, b] of got.entries()) assert.equal(b.length, parts[i]!.bytes, `part ${i + 1} exact size`);
      assert.ok(Buffer.concat(got).equals(expected), 'the parts together are the padded repaired stream');
      const summary = await bodies.checked;
      assert.equal(summary.bytes, source.size);
      bodies.close();
      close();
    });
  }

  it('a streamed part sent again reads its own range afresh; parts stored earlier are read past', async () => {
    const src = sequential(source);
    const head = await scanExport(src.open(), {});
    const repair = repairPlanFor(head);
    const parts = layoutParts(paddedSize(src.size, repair), 150_000);
    const bodies = partBodies({
      source: src,
      repair,
      parts,
      skip: new Set([1]),
      concurrency: 4,
      signal: new AbortController().signal,
      bufferBudgetBytes: 1,
    });
    const pool = new ReadPool(64 * 1024);
    const second: PartLayout = parts[1]!;
    // The first attempt at part 2 gives up half-way…
    let taken = 0;
    for await (const c of bodies.body(second, 1, pool)) {
      taken += c.length;
      if (taken > 50_000) break;
    }
    // …the retry reads it whole from its own range, and the rest come from the pass.
    const again = await collect(bodies.body(second, 2, pool));
    assert.ok(again.equals(expected.subarray(second.start, second.start + second.bytes)));
    for (const p of parts.slice(2)) {
      const b = await collect(bodies.body(p, 1, pool));
      assert.ok(b.equals(expected.subarray(p.start, p.start + p.bytes)), `part ${p.number}`);
    }
    await bodies.checked;
    bodies.close();
  });

  for (const located of [false, true])
    it(`a truncated export fails the check${located ? ' made by the worker' : ''}: every part waiting on it learns why, not "changed"`, async () => {
      const cut = join(dir, `cut-${located}.xml`);
      await writeFile(cut, (await readFile(path)).subarray(0, -50));
      const src = await openExport(cut);
      const repair = { doctype: null };
      // With the worker, parts past the end of what the repair keeps wait for its verdict: the truncation.
      const parts = layoutParts(src.size + (located ? 300_000 : 0), 100_000);
      const by = located ? locatedBy(src as ExportSource & { filePath: string }, repair) : null;
      const bodies = partBodies({
        source: src,
        repair,
        parts,
        skip: new Set(),
        concurrency: 2,
        signal: new AbortController().signal,
        ...(by ? { located: by.located } : {}),
      });
      const invalid = (err: Error & { code?: string }) => err.code === 'INPUT_INVALID';
      await assert.rejects(bodies.checked, invalid);
      await assert.rejects(collect(bodies.body(parts.at(-1)!, 1, new ReadPool())), invalid);
      bodies.close();
      by?.close();
    });

  it('a file with a DOCTYPE and few control characters, located by the worker: clean runs by arithmetic', async () => {
    const few = join(dir, 'few.xml');
    await writeExportFile(few, { days: 4, seed: 3, dtd: 'ios16-unclosed-attlist', exportVersion: 12 });
    // One control character far into the file: chunks before it are clean, the one holding it is not.
    const bytes = await readFile(few);
    const at = bytes.indexOf('<Record', Math.floor(bytes.length * 0.7));
    await writeFile(few, Buffer.concat([bytes.subarray(0, at), Buffer.from([0x01]), bytes.subarray(at)]));
    const src = await openExport(few);
    const { bodies, parts, close } = await bodiesOf(src, 70_001, { located: true });
    const head = await scanExport(src.open(), {});
    const want = await collect(repairBytes(src.open(), repairPlanFor(head), 0, { padDropped: true }));
    const pool = new ReadPool(64 * 1024);
    const got = await Promise.all(parts.map((p) => collect(bodies.body(p, 1, pool))));
    assert.ok(parts.length > 10);
    assert.ok(Buffer.concat(got).equals(want), 'the parts together are the padded repaired stream');
    await bodies.checked;
    bodies.close();
    close();
  });
});

describe('multipart bodies: the filtered document (dates rewritten, colliding workouts left out) in order', () => {
  let dir: string;
  let source: ExportSource;
  let repair: ReturnType<typeof repairPlanFor>;
  let filter: ExportFilterPlan;
  let expected: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'multipart-body-filtered-'));
    const path = join(dir, 'export.xml');
    await writeExportFile(path, {
      days: 3,
      seed: 6,
      dtd: 'ios16-unclosed-attlist',
      exportVersion: 12,
      controlChars: 0.2,
      compactDates: 0.1,
      workoutCopies: 0.6,
    });
    source = await openExport(path);
    repair = repairPlanFor(await scanExport(source.open(), {}));
    const planned = await planFilter(source, repair, { importedWorkouts: new Set() });
    assert.ok(planned.filter, 'the filter changes the fixture');
    assert.ok(planned.stats.datesRewritten > 0 && planned.stats.collisions > 0);
    filter = planned.filter;
    expected = await collect(repairedStream(source.open(), { ...repair, filter }));
    assert.equal(expected.length, filter.stats.bytes);
    assert.notEqual(expected.length, paddedSize(source.size, repair), 'not the plain repaired size');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function bodiesOf(partSize: number, opts: { budget?: number; skip?: number[] } = {}) {
    const parts = layoutParts(filter.stats.bytes, partSize);
    const bodies = partBodies({
      source,
      repair,
      parts,
      skip: new Set(opts.skip ?? []),
      concurrency: 3,
      signal: new AbortController().signal,
      filter,
      ...(opts.budget !== undefined ? { bufferBudgetBytes: opts.budget } : {}),
    });
    return { bodies, parts };
  }

  for (const [name, budget] of [
    ['a plain file goes in order too: parts buffered', undefined],
    ['parts too large to buffer: streamed one at a time', 1],
  ] as const) {
    it(name, async () => {
      const { bodies, parts } = bodiesOf(100_003, budget !== undefined ? { budget } : {});
      assert.ok(parts.length >= 3);
      assert.equal(bodies.slots, budget === undefined ? 3 : 1);
      const pool = new ReadPool(64 * 1024);
      const got: Buffer[] = [];
      for (const p of parts) {
        const b = await collect(bodies.body(p, 1, pool));
        assert.equal(b.length, p.bytes, `part ${p.number} exact size`);
        got.push(b);
        bodies.release(p);
      }
      assert.ok(Buffer.concat(got).equals(expected), 'the parts together are the filtered document');
      assert.equal((await bodies.checked).bytes, source.size);
      bodies.close();
    });
  }

  it('a streamed part sent again is made afresh up to it; parts stored earlier are read past', async () => {
    const { bodies, parts } = bodiesOf(150_000, { budget: 1, skip: [1] });
    const pool = new ReadPool(64 * 1024);
    const second = parts[1]!;
    let taken = 0;
    for await (const c of bodies.body(second, 1, pool)) {
      taken += c.length;
      if (taken > 50_000) break;
    }
    const again = await collect(bodies.body(second, 2, pool));
    assert.ok(again.equals(expected.subarray(second.start, second.start + second.bytes)));
    for (const p of parts.slice(2)) {
      const b = await collect(bodies.body(p, 1, pool));
      assert.ok(b.equals(expected.subarray(p.start, p.start + p.bytes)), `part ${p.number}`);
    }
    await bodies.checked;
    bodies.close();
  });

  it('a document that comes to another size than measured fails the check', async () => {
    const wrong: ExportFilterPlan = { ...filter, stats: { ...filter.stats, bytes: filter.stats.bytes + 7 } };
    const parts = layoutParts(wrong.stats.bytes, 100_000);
    const bodies = partBodies({
      source,
      repair,
      parts,
      skip: new Set(parts.slice(0, -1).map((p) => p.number)),
      concurrency: 1,
      signal: new AbortController().signal,
      filter: wrong,
    });
    await assert.rejects(bodies.checked, (err: Error & { code?: string }) => err.code === 'INPUT_CHANGED');
    bodies.close();
  });
});
