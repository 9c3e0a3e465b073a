import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BackendDouble, startBackendDouble } from '../../../src/sandbox/backend/index.js';
import { directUpload, exportXml, waitFor } from './support.js';

describe('backend double: sync status (contract §4)', () => {
  let backend: BackendDouble;
  let headers: Record<string, string>;
  let userId: string;
  const base = () => `${backend.url}/api/v1/users/${userId}/sync`;

  before(async () => {
    backend = await startBackendDouble({ directDelayMs: 1, sseHeartbeatMs: 5 });
    headers = { 'x-open-wearables-api-key': backend.createApiKey() };
    userId = backend.createUser({ email: 's@example.com' }).id;
    await directUpload(backend, userId, 'first.xml', exportXml(''), headers);
    await waitFor(() => (backend.state.syncEvents.get(userId)?.length ?? 0) >= 2, 'first import');
  });
  after(() => backend.close());

  it('recent lists newest first and honours limit; unknown users are 404 "User not found"', async () => {
    const res = await fetch(`${base()}/recent?limit=1`, { headers });
    const events = (await res.json()) as { stage: string }[];
    assert.deepEqual(
      events.map((e) => e.stage),
      ['completed'],
    );
    const missing = await fetch(
      `${backend.url}/api/v1/users/00000000-0000-4000-8000-000000000000/sync/recent`,
      {
        headers,
      },
    );
    assert.deepEqual([missing.status, await missing.json()], [404, { detail: 'User not found' }]);
    const bad = await fetch(`${base()}/recent?limit=201`, { headers });
    assert.deepEqual(await bad.json(), { detail: 'Input should be less than or equal to 200' });
  });

  it('stream: connected comment, replay of the last N, live events and heartbeats', async () => {
    const controller = new AbortController();
    const res = await fetch(`${base()}/stream?replay=1`, { headers, signal: controller.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('cache-control'), 'no-cache, no-transform');
    assert.equal(res.headers.get('x-accel-buffering'), 'no');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}`);
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(/"stage":"completed"/);
    assert.ok(text.startsWith(': connected\n\n'));
    assert.equal(text.match(/event: sync\.status/g)?.length, 1, 'replayed only the last event');

    await directUpload(backend, userId, 'live.xml', exportXml(''), headers);
    await readUntil(/"filename":"live\.xml"[^\n]*\n\n[\s\S]*"filename":"live\.xml"/);
    const frames = text.split('\n\n').filter((f) => f.startsWith('event: sync.status'));
    const live = frames
      .map((f) => JSON.parse(f.split('\ndata: ')[1]!))
      .filter((e) => e.metadata.filename === 'live.xml');
    assert.deepEqual(
      live.map((e) => e.stage),
      ['started', 'completed'],
    );
    await readUntil(/: heartbeat\n\n/);
    controller.abort();
  });

  it('close() ends open streams', async () => {
    const other = await startBackendDouble();
    const key = other.createApiKey();
    const user = other.createUser({});
    const res = await fetch(`${other.url}/api/v1/users/${user.id}/sync/stream`, {
      headers: { 'x-open-wearables-api-key': key },
    });
    const reader = res.body!.getReader();
    await reader.read();
    await other.close();
    for (;;) {
      const { done } = await reader.read().catch(() => ({ done: true }));
      if (done) break;
    }
  });
});
