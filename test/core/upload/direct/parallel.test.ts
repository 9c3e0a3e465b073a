import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { systemClock } from '../../../../src/adapters/clock.js';
import { openExport } from '../../../../src/adapters/export-source.js';
import { buildFilters, type FilterFlags } from '../../../../src/core/selection/filters.js';
import type { ParallelOptions } from '../../../../src/core/upload/direct/parallel.js';
import { runDirect } from '../../../../src/core/upload/direct/pipeline.js';
import type { DirectRunResult } from '../../../../src/core/upload/direct/types.js';
import { writeExportFile } from '../../../../src/generator/index.js';

interface Planned {
  result: DirectRunResult;
  bodies: Buffer[];
}

/** A real (not dry) run whose uploads are kept in memory; `parallel` tunes the worker threads. */
async function plan(path: string, parallel: ParallelOptions, flags: FilterFlags = {}, signal?: AbortSignal) {
  const bodies: Buffer[] = [];
  const result = await runDirect(
    {
      server: 'http://backend.invalid',
      userId: 'u',
      fingerprint: 'f1f2f3f4',
      filters: buildFilters(flags),
      limits: { maxBytes: 64 * 1024, maxRecords: 300 },
      wait: false,
      dryRun: false,
      force: false,
      failFast: false,
    },
    {
      source: await openExport(path),
      ledger: { path: 'memory', read: () => undefined, write: () => {}, delete: () => {} },
      post: async (_filename, body) => {
        bodies.push(Buffer.from(body));
        return { task_id: `t${bodies.length}` };
      },
      feed: {
        stream: async function* () {},
        recent: async () => [],
      },
      clock: systemClock,
      signal: signal ?? new AbortController().signal,
      runId: '00000000',
      parallel,
    },
  );
  return { result, bodies } satisfies Planned;
}

const ONE_THREAD: ParallelOptions = { workers: 0 };
const WORKERS: ParallelOptions = { workers: 2, minBytes: 0, rangeBytes: 96 * 1024 };

function assertSame(par: Planned, seq: Planned): void {
  assert.equal(par.bodies.length, seq.bodies.length);
  for (let i = 0; i < seq.bodies.length; i++)
    assert.ok(par.bodies[i]!.equals(seq.bodies[i]!), `batch ${i + 1}`);
  assert.deepEqual(par.result.report, seq.result.report);
  assert.equal(par.result.records, seq.result.records);
  assert.equal(par.result.summary?.wellFormed, seq.result.summary?.wellFormed);
  assert.equal(par.result.summary?.topLevelCount, seq.result.summary?.topLevelCount);
}

describe('direct batches from worker threads', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'direct-parallel-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, flags] of [
    ['all samples', {}],
    ['with filters', { since: '2024-01-03', until: '2024-01-05', excludeTypes: 'steps' }],
  ] as [string, FilterFlags][]) {
    it(`makes the same batches as one thread: ${name}`, async () => {
      const file = join(dir, `export-${name.replace(/\W/g, '')}.xml`);
      await writeExportFile(file, {
        seed: 3,
        days: 8,
        dtd: 'ios16-unclosed-attlist',
        exportVersion: 12,
        controlChars: 0.2,
        dupExact: 0.05,
      });
      const seq = await plan(file, ONE_THREAD, flags);
      const par = await plan(file, WORKERS, flags);
      assert.equal(seq.result.reader.threads, 0);
      assert.equal(par.result.reader.threads, 2);
      assert.ok(par.result.reader.ranges > 4, `${par.result.reader.ranges} ranges`);
      assert.equal(par.result.reader.sequentialFrom, null);
      assert.ok(seq.bodies.length > 3);
      assert.ok(total(seq.result.report.dropped.duplicate) > 0 || flags.since !== undefined);
      assertSame(par, seq);
    });
  }

  it('takes over on its own thread where a range cut fell inside an element', async () => {
    // No indentation: children lines look like top-level elements to the cut planner.
    const workout = (i: number) =>
      `<Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="${i}" sourceName="W" startDate="2024-01-0${1 + Math.floor(i / 24)} ${String(i % 24).padStart(2, '0')}:00:00 +0100" endDate="2024-01-0${1 + Math.floor(i / 24)} ${String(i % 24).padStart(2, '0')}:30:00 +0100">\n${Array.from(
        { length: 40 },
        (_, k) =>
          `<WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="2024-01-01 00:00:00 +0100" endDate="2024-01-01 00:30:00 +0100" average="${k}"/>\n`,
      ).join('')}</Workout>\n`;
    const records = (i: number) =>
      Array.from(
        { length: 30 },
        (_, k) =>
          `<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" startDate="2024-01-0${1 + (i % 9)} 00:${String(k).padStart(2, '0')}:00 +0100" value="${i * 100 + k}"/>\n`,
      ).join('');
    let body = '';
    for (let i = 0; i < 60; i++) body += workout(i) + records(i);
    const file = join(dir, 'unindented.xml');
    await writeFile(
      file,
      `<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n${body}</HealthData>\n`,
    );
    const seq = await plan(file, ONE_THREAD);
    const par = await plan(file, { workers: 2, minBytes: 0, rangeBytes: 16 * 1024 });
    assert.notEqual(par.result.reader.sequentialFrom, null, 'a cut inside a Workout is noticed');
    assertSame(par, seq);
    assert.equal(total(seq.result.report.kept), 60 + 60 * 30);
  });

  it('stops the workers when the run is cancelled', async () => {
    const file = join(dir, 'cancel.xml');
    await writeExportFile(file, { seed: 5, days: 6 });
    const controller = new AbortController();
    let posts = 0;
    const run = runDirect(
      {
        server: 'http://backend.invalid',
        userId: 'u',
        fingerprint: 'f1f2f3f4',
        filters: buildFilters({}),
        limits: { maxBytes: 32 * 1024, maxRecords: 300 },
        wait: false,
        dryRun: false,
        force: false,
        failFast: false,
      },
      {
        source: await openExport(file),
        ledger: { path: 'memory', read: () => undefined, write: () => {}, delete: () => {} },
        post: async () => {
          if (++posts === 2) controller.abort(new Error('stop'));
          return { task_id: 't' };
        },
        feed: { stream: async function* () {}, recent: async () => [] },
        clock: systemClock,
        signal: controller.signal,
        parallel: WORKERS,
      },
    );
    await assert.rejects(run);
    assert.ok(posts >= 2 && posts < 10, `${posts} posts`);
  });
});

function total(map: Record<string, number> | undefined): number {
  return Object.values(map ?? {}).reduce((a, b) => a + b, 0);
}
