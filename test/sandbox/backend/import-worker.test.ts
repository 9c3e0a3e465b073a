// The double's import task runs off the request loop, as the real backend hands it to a Celery worker
// (contract §3.4): the API answers while an export parses, tasks run one at a time in arrival order, a
// failed commit still ends the task where it did (§5.6), and closing stops the import thread.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import {
  type BackendDouble,
  type SyncStatusEvent,
  startBackendDouble,
} from '../../../src/sandbox/backend/index.js';
import { DEVICE, directUpload, exportXml, waitFor } from './support.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2023, 0, 1);

/** `count` step records a minute apart from `fromMinute`: distinct upsert keys, so each is stored. */
function steps(count: number, fromMinute = 0): string {
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const iso = new Date(T0 + (fromMinute + i) * MINUTE).toISOString();
    const at = `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000`;
    lines.push(
      `<Record type="HKQuantityTypeIdentifierStepCount" sourceName="Watch" unit="count" value="${i % 97}" startDate="${at}" endDate="${at}"/>`,
    );
  }
  return lines.join('\n');
}

const WORKOUT = `<Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="Watch" device="${DEVICE}" startDate="2024-01-15 07:00:00 +0100" endDate="2024-01-15 07:30:00 +0100"/>`;

/** ~17 MB: several hundred ms of parsing here, above 100 ms on any machine this runs on. */
const BIG_RECORDS = 120_000;

describe('backend double: the import task runs off the request loop (contract §3.4)', () => {
  let backend: BackendDouble;
  let headers: Record<string, string>;
  let userId: string;
  const events = (filename?: string) =>
    (backend.state.syncEvents.get(userId) ?? []).filter(
      (e) => filename === undefined || e.metadata.filename === filename,
    );
  const terminal = (filename: string) =>
    waitFor(
      () => events(filename).find((e) => e.stage === 'completed' || e.stage === 'failed'),
      `terminal event for ${filename}`,
    ) as Promise<SyncStatusEvent>;
  const recent = async () => {
    const res = await fetch(`${backend.url}/api/v1/users/${userId}/sync/recent?limit=200`, { headers });
    assert.equal(res.status, 200);
    return (await res.json()) as SyncStatusEvent[];
  };

  before(async () => {
    backend = await startBackendDouble({ directDelayMs: 1 });
    headers = { 'x-open-wearables-api-key': backend.createApiKey() };
    userId = backend.createUser({ email: 'w@example.com' }).id;
    // The import thread starts with the first upload; have it running so what follows measures parsing.
    await directUpload(backend, userId, 'warm.xml', exportXml(steps(1, 10_000_000)), headers);
    assert.equal((await terminal('warm.xml')).stage, 'completed');
  });
  after(() => backend.close());

  it('answers /sync/recent and another upload while a large import parses; imports finish in arrival order', async () => {
    const big = exportXml(steps(BIG_RECORDS));
    assert.equal((await directUpload(backend, userId, 'big.xml', big, headers)).status, 200);

    // Answers that show the big import started but not finished: under the old in-loop task both events
    // were emitted in one turn of the loop, so no answer could ever fall between them.
    let between = 0;
    let second: Response | null = null;
    let secondWhileRunning = false;
    for (let i = 0; i < 10_000; i++) {
      const list = (await recent()).filter((e) => e.metadata.filename === 'big.xml');
      if (list.some((e) => e.stage === 'completed' || e.stage === 'failed')) break;
      if (!list.some((e) => e.stage === 'started')) continue;
      between++;
      if (second === null) {
        second = await directUpload(backend, userId, 'after.xml', exportXml(steps(3, 500_000)), headers);
        secondWhileRunning = !events('big.xml').some((e) => e.stage === 'completed');
      }
    }
    assert.ok(between >= 2, `answers between started and completed: ${between}`);
    assert.equal(second?.status, 200);
    assert.ok(secondWhileRunning, 'the second upload was answered before the big import completed');

    const done = await terminal('big.xml');
    assert.equal(done.stage, 'completed');
    assert.equal(done.items_processed, BIG_RECORDS);

    await backend.idle();
    assert.deepEqual(
      events()
        .filter((e) => e.metadata.filename !== 'warm.xml')
        .map((e) => `${e.metadata.filename} ${e.stage}`),
      ['big.xml started', 'big.xml completed', 'after.xml started', 'after.xml completed'],
    );
    assert.equal(backend.state.imported.get(userId)?.records.length, 1 + BIG_RECORDS + 3);
  });

  it('a duplicate workout in a later chunk fails the task after the earlier chunks were committed (§3.4, §5.6)', async () => {
    await directUpload(backend, userId, 'workout.xml', exportXml(WORKOUT), headers);
    assert.equal((await terminal('workout.xml')).stage, 'completed');
    const before = backend.state.imported.get(userId)?.records.length ?? 0;

    // Chunk 1: 50,000 new records (XML_CHUNK_SIZE). Chunk 2 starts with the same workout, then more records
    // that the failed task must never store; a third chunk's worth follows, which the worker need not parse.
    const body = [steps(50_000, 1_000_000), WORKOUT, steps(120_000, 2_000_000)].join('\n');
    await directUpload(backend, userId, 'dup.xml', exportXml(body), headers);
    await directUpload(backend, userId, 'next.xml', exportXml(steps(2, 3_000_000)), headers);
    const failed = await terminal('dup.xml');
    assert.equal(failed.stage, 'failed');
    assert.match(
      failed.error ?? '',
      /duplicate key value violates unique constraint "event_record_detail_pkey"/,
    );
    assert.equal(failed.message, 'Apple Health XML import failed: dup.xml');
    assert.equal(backend.state.imported.get(userId)?.records.length, before + 50_000);
    assert.equal(backend.state.imported.get(userId)?.workouts.length, 1);

    // The import thread is free again and takes the next upload in order.
    assert.equal((await terminal('next.xml')).stage, 'completed');
    const order = events().map((e) => `${e.metadata.filename} ${e.stage}`);
    assert.deepEqual(order.slice(order.indexOf('dup.xml started')), [
      'dup.xml started',
      'dup.xml failed',
      'next.xml started',
      'next.xml completed',
    ]);
    assert.equal(backend.state.imported.get(userId)?.records.length, before + 50_000 + 2);
  });

  it('importXml queues behind the uploads and resolves with the finished task', async () => {
    const queued = directUpload(backend, userId, 'queued.xml', exportXml(steps(60_000, 4_000_000)), headers);
    assert.equal((await queued).status, 200);
    const task = await backend.importXml(userId, 'object.xml', Buffer.from(exportXml(steps(4, 5_000_000))));
    assert.equal(task.status, 'completed');
    assert.equal(backend.state.directUploads.includes(task), false);
    const order = events().map((e) => `${e.metadata.filename} ${e.stage}`);
    assert.ok(order.indexOf('queued.xml completed') < order.indexOf('object.xml started'), order.join(', '));
    const forced = await backend.importXml(userId, 'object-2.xml', Buffer.alloc(0), { failWith: 'too big' });
    assert.deepEqual([forced.status, forced.error], ['failed', 'too big']);
    assert.equal((await terminal('object-2.xml')).error, 'too big');
  });
});

describe('backend double: closing stops the import thread', () => {
  it('close() during an import ends it without a terminal event; idle() then resolves', async () => {
    const backend = await startBackendDouble({ directDelayMs: 1 });
    const headers = { 'x-open-wearables-api-key': backend.createApiKey() };
    const userId = backend.createUser({}).id;
    await directUpload(backend, userId, 'big.xml', exportXml(steps(BIG_RECORDS)), headers);
    await directUpload(backend, userId, 'queued.xml', exportXml(steps(1)), headers);
    const stages = () => (backend.state.syncEvents.get(userId) ?? []).map((e) => e.stage);
    await waitFor(() => stages().includes('started'), 'the big import to start');
    await backend.close();
    await backend.idle();
    assert.deepEqual(
      backend.state.directUploads.map((u) => u.status),
      ['processing', 'processing'],
    );
    // The stopped thread's exit must not read as a crash that fails the task. close() resolved once the
    // thread's 'exit' was emitted (Worker.terminate()); one turn of the event loop lets whatever that
    // exit set off settle.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(stages(), ['started']);
  });

  it('a process that ran imports exits by itself once the double is closed', async () => {
    const script = `
      const { startBackendDouble } = await import(${JSON.stringify(new URL('../../../src/sandbox/backend/index.ts', import.meta.url).href)});
      const double = await startBackendDouble();
      const user = double.createUser({});
      const task = await double.importXml(user.id, 'a.xml', Buffer.from(${JSON.stringify(exportXml(steps(2)))}));
      await double.close();
      process.stdout.write(task.status);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(timer);
    assert.deepEqual([code, signal, out], [0, null, 'completed']);
  });
});
