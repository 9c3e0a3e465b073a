/**
 * The backend-import model (core/model, through validate's collector) against the sandbox's importer,
 * its independent reading of the same contract: over five seeds of generator variants, the records,
 * workouts and sleep samples the model says the backend stores are the ones the sandbox stores (rows
 * after its key dedupe: two apps' samples of one type, device model and start are one row) — for
 * the export as it is (no repairs assumed), and for the document apple-import sends (the export filter's
 * output, with the repairs the model assumes).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openExport } from '../../../src/adapters/export-source.js';
import type { UploadRepairs } from '../../../src/core/model/outcome.js';
import { repairPlanFor } from '../../../src/core/reader/repair.js';
import { createScanner } from '../../../src/core/reader/scanner.js';
import { probeHead } from '../../../src/core/upload/s3/preflight.js';
import { planFilter, repairedStream } from '../../../src/core/upload/shared/export-filter.js';
import { TAPE_FIELDS, ValidationCollector } from '../../../src/core/validate/collector.js';
import { type GeneratorOptions, writeExportFile } from '../../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../../src/sandbox/backend/index.js';

/** Five seeds, each with its own quirks; every one the backend's parser reads as it is. */
const RAW: GeneratorOptions[] = [
  { seed: 1, days: 6, compactDates: 0.15 },
  { seed: 2, days: 6, dupExact: 0.05, bloodPressure: true },
  { seed: 3, days: 5, shuffleOrder: true, compactDates: 0.05, locale: 'de_DE' },
  { seed: 4, days: 5, reformat: true, dupExact: 0.02, recordCopies: 0.2 },
  { seed: 5, days: 7, locale: 'fr_FR', compactDates: 0.3, dtd: 'none', recordCopies: 0.1 },
];
/** The same seeds with what only the upload's repairs make importable. */
const REPAIRED: GeneratorOptions[] = RAW.map((o, i) => ({
  ...o,
  workoutCopies: 0.5,
  ...(i % 2 === 0 ? { dtd: 'ios16-unclosed-attlist' as const, controlChars: 0.2 } : {}),
}));

function predict(doc: Buffer, repairs: UploadRepairs) {
  const c = new ValidationCollector(undefined, { repairs });
  const s = createScanner({ onTape: (el) => c.onTape(el), onDefect: (d) => c.onDefect(d) }, {}, undefined, {
    tape: true,
    tapeFields: TAPE_FIELDS,
  });
  s.write(doc);
  s.end();
  return c.finish(s.result(), 1);
}

describe('the backend-import model agrees with the sandbox importer', () => {
  let double: BackendDouble;
  let dir: string;
  before(async () => {
    double = await startBackendDouble({ directDelayMs: 0 });
    dir = await mkdtemp(join(tmpdir(), 'model-parity-'));
  });
  after(async () => {
    await double.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function imported(bytes: Buffer) {
    const user = double.createUser({}).id;
    const task = await double.importXml(user, 'export.xml', bytes);
    const c = double.counts(user);
    return {
      status: task.status,
      error: task.error,
      counts: { records: c.records, workouts: c.workouts, sleep: c.sleep },
    };
  }

  for (const opts of RAW) {
    it(`seed ${opts.seed}, the export as it is: the same records, workouts and sleep samples`, async () => {
      const file = join(dir, `raw-${opts.seed}.xml`);
      await writeExportFile(file, opts);
      const bytes = await readFile(file);
      const r = predict(bytes, {});
      assert.deepEqual(r.importFails, []);
      const got = await imported(bytes);
      assert.equal(got.status, 'completed', got.error);
      const { records, workouts, sleep } = r.willImport;
      assert.deepEqual(got.counts, { records, workouts, sleep });
      if (opts.compactDates) assert.ok((r.willSkip.byReason['old-date-format']?.total ?? 0) > 0);
      if (opts.recordCopies)
        assert.ok(r.duplicates.sameKey > r.duplicates.exact, 'records from two apps share row keys');
    });
  }

  for (const opts of REPAIRED) {
    it(`seed ${opts.seed}, the document apple-import sends: what the model predicts with its repairs`, async () => {
      const file = join(dir, `repaired-${opts.seed}.xml`);
      await writeExportFile(file, opts);
      const raw = predict(await readFile(file), {});
      assert.equal(raw.importFails[0]?.reason, 'workout-collision', 'as it is, the import would fail');
      const r = predict(await readFile(file), { dates: true, workoutCollisions: true });
      assert.deepEqual(r.importFails, []);
      const source = await openExport(file);
      const repair = repairPlanFor(await probeHead(source));
      const { filter } = await planFilter(source, repair, { importedWorkouts: new Set() });
      assert.ok(filter !== null, 'the filter changes the document');
      const parts: Buffer[] = [];
      for await (const b of repairedStream(source.open(), { ...repair, filter })) parts.push(Buffer.from(b));
      const doc = Buffer.concat(parts);
      assert.equal(doc.length, filter.stats.bytes, 'the size measured first');
      const got = await imported(doc);
      assert.equal(got.status, 'completed', got.error);
      const { records, workouts, sleep } = r.willImport;
      assert.deepEqual(got.counts, { records, workouts, sleep });
    });
  }
});
