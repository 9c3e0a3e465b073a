import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  followSyncEvents,
  reconnectDelayMs,
  type SyncFeed,
  type SyncStatusEvent,
} from '../../../src/core/sync/follow.js';
import { SyncTracker } from '../../../src/core/sync/tracker.js';
import { steppingClock } from '../../helpers/fake-clock.js';

const ev = (id: string, stage = 'started', filename = 'a.xml'): SyncStatusEvent => ({
  event_id: id,
  stage,
  source: 'xml_import',
  metadata: { filename },
});

/**
 * A feed whose n-th stream (0-based) is `streams[n]`: the events it yields, then how it ends (`close`, an
 * error, or `hang` until aborted). `opens` counts the streams the server accepted.
 */
function scriptedFeed(
  streams: { events?: SyncStatusEvent[]; end: 'close' | 'hang' | Error; refuse?: boolean }[],
  recent: SyncStatusEvent[] = [],
) {
  let n = 0;
  const log = { opens: 0, replays: [] as number[], recentCalls: 0 };
  const feed: SyncFeed = {
    async *stream(replay, signal, onOpen) {
      log.replays.push(replay);
      const s = streams[Math.min(n++, streams.length - 1)]!;
      if (s.refuse) throw s.end;
      log.opens++;
      onOpen();
      for (const e of s.events ?? []) yield e;
      if (s.end === 'close') return;
      if (s.end === 'hang') {
        signal.throwIfAborted();
        await new Promise<void>((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      }
      throw s.end;
    },
    recent: async () => {
      log.recentCalls++;
      return [...recent];
    },
  };
  return { feed, log };
}

describe('followSyncEvents', () => {
  it('delivers each event once across reconnects: the replay repeats what was seen, new ones follow', async () => {
    const { feed, log } = scriptedFeed([
      { events: [ev('1'), ev('2')], end: 'close' },
      { events: [ev('1'), ev('2'), ev('3')], end: new Error('socket hang up') },
      { events: [ev('2'), ev('3'), ev('4')], end: 'hang' },
    ]);
    const controller = new AbortController();
    const seen: string[] = [];
    const states: string[] = [];
    const clock = steppingClock();
    await followSyncEvents(
      feed,
      {
        clock,
        signal: controller.signal,
        replay: 50,
        maxFailures: 3,
        whenDown: 'throw',
        onConnection: (s) => states.push(s),
      },
      (e) => {
        seen.push(e.event_id as string);
        if (e.event_id === '4') controller.abort();
      },
    );
    assert.deepEqual(seen, ['1', '2', '3', '4']);
    assert.deepEqual(log.replays, [50, 50, 50]);
    assert.deepEqual(states, ['connected', 'reconnecting', 'reconnected', 'reconnecting', 'reconnected']);
    // A stream that opened resets the count: each reconnect waits as after the first failure.
    assert.deepEqual(clock.sleeps, [reconnectDelayMs(1), reconnectDelayMs(1)]);
  });

  it('events without an id are never taken for repeats', async () => {
    const bare: SyncStatusEvent = { stage: 'started' };
    const { feed } = scriptedFeed([
      { events: [bare, bare], end: 'close' },
      { events: [], end: 'hang' },
    ]);
    const controller = new AbortController();
    let n = 0;
    const following = followSyncEvents(
      feed,
      { clock: steppingClock(), signal: controller.signal, replay: 1, maxFailures: 3, whenDown: 'throw' },
      () => {
        if (++n === 2) controller.abort();
      },
    );
    await following;
    assert.equal(n, 2);
  });

  it("whenDown 'throw': gives up with the last error after maxFailures in a row, backing off in between", async () => {
    const refused = new Error('connection refused');
    const { feed } = scriptedFeed([{ end: refused, refuse: true }]);
    const clock = steppingClock();
    await assert.rejects(
      followSyncEvents(
        feed,
        { clock, signal: new AbortController().signal, replay: 20, maxFailures: 4, whenDown: 'throw' },
        () => {},
      ),
      refused,
    );
    assert.deepEqual(clock.sleeps, [1, 2, 3].map(reconnectDelayMs));
    assert.ok(reconnectDelayMs(20) === 30_000, 'capped at 30 s');
  });

  it("whenDown 'poll': reads /sync/recent oldest first instead, still each event once", async () => {
    const { feed, log } = scriptedFeed(
      [{ end: new Error('502'), refuse: true }],
      [ev('b', 'completed'), ev('a', 'started')],
    );
    const controller = new AbortController();
    const seen: string[] = [];
    const clock = steppingClock();
    const states: string[] = [];
    await followSyncEvents(
      feed,
      {
        clock: {
          ...clock,
          sleep: async (ms, signal) => {
            await clock.sleep(ms, signal);
            if (log.recentCalls >= 3) controller.abort();
          },
        },
        signal: controller.signal,
        replay: 200,
        maxFailures: 2,
        whenDown: 'poll',
        pollIntervalMs: 5_000,
        onConnection: (s) => states.push(s),
      },
      (e) => seen.push(e.event_id as string),
    );
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(states.at(-1), 'polling');
    assert.equal(log.recentCalls, 3);
    assert.deepEqual(clock.sleeps.slice(-3), [5_000, 5_000, 5_000]);
  });

  it('returns when the signal aborts while it waits to reconnect', async () => {
    const { feed } = scriptedFeed([{ end: 'close' }]);
    const controller = new AbortController();
    await followSyncEvents(
      feed,
      {
        clock: {
          now: () => 0,
          sleep: async () => {
            controller.abort();
            throw new Error('aborted');
          },
        },
        signal: controller.signal,
        replay: 1,
        maxFailures: 5,
        whenDown: 'throw',
      },
      () => {},
    );
  });
});

describe('SyncTracker', () => {
  it('resolves a watched file at its terminal event, ignoring what is not watched and older replays', async () => {
    const { feed } = scriptedFeed([
      {
        events: [
          ev('0', 'completed', 'other.xml'),
          ev('1', 'started'),
          ev('2', 'completed'),
          ev('1', 'started'),
        ],
        end: 'hang',
      },
    ]);
    const controller = new AbortController();
    const tracker = new SyncTracker(feed, { clock: steppingClock(), signal: controller.signal });
    tracker.watch('a.xml');
    await tracker.start();
    const fate = await tracker.terminal('a.xml');
    assert.equal(fate.stage, 'completed');
    assert.equal(tracker.fate('other.xml'), undefined, 'only watched files are kept');
    tracker.stop();
  });

  it('matches by any key it is given (a task id, for the S3 path to come)', async () => {
    const { feed } = scriptedFeed([
      { events: [{ event_id: 'x', stage: 'failed', run_id: 'task-9', error: 'boom' }], end: 'hang' },
    ]);
    const tracker = new SyncTracker(feed, {
      clock: steppingClock(),
      signal: new AbortController().signal,
      match: (e) => e.run_id ?? null,
    });
    tracker.watch('task-9');
    await tracker.start();
    const fate = await tracker.terminal('task-9');
    assert.deepEqual([fate.stage, fate.error], ['failed', 'boom']);
    tracker.stop();
  });
});
