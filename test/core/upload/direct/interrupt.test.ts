import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openExport } from '../../../../src/adapters/export-source.js';
import type { SyncStatusEvent } from '../../../../src/adapters/sync-api.js';
import { buildFilters } from '../../../../src/core/selection/filters.js';
import { runDirect } from '../../../../src/core/upload/direct/pipeline.js';
import { type SendDeps, type SendTrack, sendBatch } from '../../../../src/core/upload/direct/sender.js';
import type { DirectRunDeps } from '../../../../src/core/upload/direct/types.js';
import type { DirectLedgerEntry, LedgerSlot } from '../../../../src/core/upload/shared/ledger.js';
import { batchFilename } from '../../../../src/core/upload/shared/naming.js';
import type { UploadEvent } from '../../../../src/core/upload/types.js';
import { writeExportFile } from '../../../../src/generator/index.js';
import { manualClock, steppingClock } from '../../../helpers/fake-clock.js';

/** A promise that rejects with the signal's reason once it is aborted (at once if it already is). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve: (v: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function sendDeps(over: Partial<SendDeps>): SendDeps {
  return {
    post: async () => ({ task_id: 't' }),
    recent: async () => [],
    clock: manualClock(),
    signal: new AbortController().signal,
    ...over,
  };
}

describe('sendBatch on Ctrl-C', () => {
  it('tears down a request whose body has not gone out in full: the server cannot have it', async () => {
    const interrupt = new AbortController();
    let requestSignal: AbortSignal | null = null;
    const drains: number[] = [];
    const track: SendTrack = { uncertain: false };
    const sending = sendBatch(
      sendDeps({
        signal: interrupt.signal,
        onDrain: ({ waitMs }) => drains.push(waitMs),
        post: (_f, _b, _progress, signal) => {
          requestSignal = signal;
          interrupt.abort();
          return untilAborted(signal);
        },
      }),
      'a.xml',
      Buffer.from('x'),
      track,
    );
    await assert.rejects(sending, { name: 'AbortError' });
    assert.equal((requestSignal as AbortSignal | null)?.aborted, true);
    assert.deepEqual(drains, []);
    assert.equal(track.uncertain, false);
  });

  it('lets a request whose body went out in full get its answer, and returns its task id', async () => {
    const interrupt = new AbortController();
    const answer = deferred<{ task_id: string }>();
    let requestSignal: AbortSignal | null = null;
    const drains: number[] = [];
    const sending = sendBatch(
      sendDeps({
        signal: interrupt.signal,
        onDrain: ({ waitMs }) => drains.push(waitMs),
        post: (_f, _b, progress, signal) => {
          requestSignal = signal;
          progress.bodySent = true;
          interrupt.abort();
          return answer.promise;
        },
      }),
      'a.xml',
      Buffer.from('x'),
    );
    await new Promise(setImmediate);
    assert.equal((requestSignal as AbortSignal | null)?.aborted, false, 'the request is still open');
    assert.deepEqual(drains, [30_000]);
    answer.resolve({ task_id: 'task-1' });
    const result = await sending;
    assert.equal(result.taskId, 'task-1');
  });

  it('waits for that answer no longer than drainMs, then leaves the batch uncertain', async () => {
    const interrupt = new AbortController();
    const clock = manualClock();
    const track: SendTrack = { uncertain: false };
    const sending = sendBatch(
      sendDeps({
        signal: interrupt.signal,
        clock,
        drainMs: 5_000,
        post: (_f, _b, progress, signal) => {
          progress.bodySent = true;
          interrupt.abort();
          return untilAborted(signal);
        },
      }),
      'a.xml',
      Buffer.from('x'),
      track,
    );
    await new Promise(setImmediate);
    assert.deepEqual(
      clock.sleeps.map((s) => s.ms),
      [5_000],
    );
    clock.sleeps[0]?.end();
    await assert.rejects(sending, { name: 'AbortError' });
    assert.equal(track.uncertain, true, 'the server may have queued it');
  });
});

/** What names the batches (shared/naming.ts). */
const FINGERPRINT = 'f1f2f3f4';

describe('runDirect: interruption and resume', () => {
  let dir = '';
  let file = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'direct-interrupt-'));
    file = join(dir, 'export.xml');
    await writeExportFile(file, { seed: 7, days: 2 });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  type MemoryLedger = LedgerSlot<DirectLedgerEntry> & { entry(): DirectLedgerEntry | undefined };

  function memoryLedger(): MemoryLedger {
    let stored: DirectLedgerEntry | undefined;
    return {
      path: 'memory',
      entry: () => stored,
      read: () => (stored ? structuredClone(stored) : undefined),
      write: (e) => {
        stored = structuredClone(e);
      },
      delete: () => {
        stored = undefined;
      },
    };
  }

  const started = (filename: string): SyncStatusEvent => ({
    stage: 'started',
    source: 'xml_import',
    metadata: { filename },
  });

  async function run(
    runId: string,
    deps: Pick<DirectRunDeps, 'ledger' | 'post' | 'clock' | 'signal'> & {
      recent?: DirectRunDeps['feed']['recent'];
    },
    onEvent: (e: UploadEvent) => void = () => {},
  ) {
    return runDirect(
      {
        server: 'http://backend.invalid',
        userId: 'u',
        fingerprint: FINGERPRINT,
        filters: buildFilters({}),
        limits: { maxBytes: 64 * 1024, maxRecords: 300 },
        wait: false,
        dryRun: false,
        force: false,
        failFast: false,
      },
      {
        source: await openExport(file),
        ledger: deps.ledger,
        post: deps.post,
        feed: { stream: async function* () {}, recent: deps.recent ?? (async () => []) },
        clock: deps.clock,
        signal: deps.signal,
        runId,
        parallel: { workers: 0 },
      },
      onEvent,
    );
  }

  /** A first run that loses batch 2's answer on Ctrl-C (the drain gives up): batch 2 stays pending. */
  async function interruptedAtBatch2(ledger: MemoryLedger, runId: string): Promise<string[]> {
    const interrupt = new AbortController();
    const posted: string[] = [];
    await assert.rejects(
      run(runId, {
        ledger,
        clock: steppingClock(),
        signal: interrupt.signal,
        post: async (filename, _body, progress, signal) => {
          posted.push(filename);
          if (posted.length < 2) return { task_id: `t-${filename}` };
          progress.bodySent = true;
          interrupt.abort();
          return untilAborted(signal);
        },
      }),
    );
    return posted;
  }

  it('a batch torn down before its body went out is not left pending', async () => {
    const ledger = memoryLedger();
    const interrupt = new AbortController();
    await assert.rejects(
      run('00000001', {
        ledger,
        clock: steppingClock(),
        signal: interrupt.signal,
        post: async (filename, _body, _progress, signal) => {
          if (filename.endsWith('-b00001.xml')) return { task_id: 't1' };
          interrupt.abort();
          return untilAborted(signal);
        },
      }),
    );
    const batches = ledger.entry()?.batches ?? [];
    assert.deepEqual(
      batches.map((b) => [b.seq, b.taskId, b.pending ?? false]),
      [[1, 't1', false]],
    );
    // So the re-run sends batch 2 at once, without watching the feed for it.
    const clock = steppingClock();
    const looks: number[] = [];
    const result = await run('00000002', {
      ledger,
      clock,
      signal: new AbortController().signal,
      recent: async () => {
        looks.push(1);
        return [];
      },
      post: async (filename) => ({ task_id: `t-${filename}` }),
    });
    assert.equal(result.skipped, 1);
    assert.deepEqual(looks, []);
    assert.deepEqual(clock.sleeps, []);
  });

  it('a pending batch not on the feed is sent again only after the grace period, and its old name is kept', async () => {
    const ledger = memoryLedger();
    const posted = await interruptedAtBatch2(ledger, '00000001');
    const first = posted[1] as string;
    assert.equal(ledger.entry()?.batches.find((b) => b.seq === 2)?.pending, true);

    // Run 2: the feed never shows it; the same loss happens to the resend.
    const clock = steppingClock();
    const phases: string[] = [];
    const interrupt = new AbortController();
    const resent: string[] = [];
    await assert.rejects(
      run(
        '00000002',
        {
          ledger,
          clock,
          signal: interrupt.signal,
          post: async (filename, _body, progress, signal) => {
            resent.push(filename);
            progress.bodySent = true;
            interrupt.abort();
            return untilAborted(signal);
          },
        },
        (e) => {
          if (e.type === 'pending') phases.push(`${e.index} ${e.phase} ${e.filename} ${e.waitMs}`);
        },
      ),
    );
    assert.deepEqual(phases, [`2 waiting ${first} 60000`, `2 resending ${first} 60000`]);
    // 60 s of looks every 2 s, then the 30 s wait for the resend's answer.
    assert.equal(
      clock.sleeps.slice(0, -1).reduce((a, b) => a + b, 0),
      60_000,
    );
    assert.equal(clock.sleeps.at(-1), 30_000);
    assert.deepEqual(resent, [batchFilename(FINGERPRINT, '00000002', 2)]);
    const entry = ledger.entry()?.batches.find((b) => b.seq === 2);
    assert.equal(entry?.pending, true);
    assert.equal(entry?.filename, batchFilename(FINGERPRINT, '00000002', 2));
    assert.deepEqual(entry?.earlier, [first]);

    // Run 3: the first send's import starts at last; it is matched by its old name and not sent again.
    const sent: string[] = [];
    const result = await run('00000003', {
      ledger,
      clock: steppingClock(),
      signal: new AbortController().signal,
      recent: async () => [started(first)],
      post: async (filename) => {
        sent.push(filename);
        return { task_id: `t-${filename}` };
      },
    });
    assert.equal(result.skipped, 2);
    assert.ok(!sent.some((f) => f.endsWith('-b00002.xml')), `batch 2 sent again: ${sent.join(', ')}`);
    assert.notEqual(ledger.entry()?.completedAt ?? null, null);
  });

  it('a pending batch that appears on the feed during the grace period is not sent again', async () => {
    const ledger = memoryLedger();
    const posted = await interruptedAtBatch2(ledger, '00000001');
    const first = posted[1] as string;
    const clock = steppingClock();
    let looks = 0;
    const sent: string[] = [];
    const result = await run('00000002', {
      ledger,
      clock,
      signal: new AbortController().signal,
      // The server's worker reaches it on the fourth look.
      recent: async () => (++looks >= 4 ? [started(first)] : []),
      post: async (filename) => {
        sent.push(filename);
        return { task_id: `t-${filename}` };
      },
    });
    assert.equal(result.skipped, 2);
    assert.ok(!sent.some((f) => f.endsWith('-b00002.xml')));
    assert.deepEqual(clock.sleeps, [2_000, 2_000, 2_000]);
    assert.equal(ledger.entry()?.batches.find((b) => b.seq === 2)?.pending, false);
  });
});
