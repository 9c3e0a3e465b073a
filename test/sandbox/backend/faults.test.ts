import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type BackendDouble, startBackendDouble } from '../../../src/sandbox/backend/index.js';
import { waitFor } from './support.js';

describe('backend double: fault injection', () => {
  let backend: BackendDouble;
  let headers: Record<string, string>;
  const users = () => fetch(`${backend.url}/api/v1/users`, { headers });

  before(async () => {
    backend = await startBackendDouble();
    headers = { 'x-open-wearables-api-key': backend.createApiKey() };
  });
  beforeEach(() => backend.faults.clear());
  after(() => backend.close());

  it('next(n) answers n matching requests with the scripted response, then behaves normally', async () => {
    backend.faults.next(
      2,
      { status: 503, headers: { 'Retry-After': '7' } },
      { method: 'GET', path: '/api/v1/users' },
    );
    const other = await fetch(`${backend.url}/`);
    assert.equal(other.status, 200, 'unmatched requests are untouched');
    for (let i = 0; i < 2; i++) {
      const res = await users();
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '7');
      assert.deepEqual(await res.json(), { detail: 'Service Unavailable' });
    }
    assert.equal((await users()).status, 200);
    assert.equal(backend.state.requests.filter((r) => r.path === '/api/v1/users').length, 3);
  });

  it('next() with a custom body and a RegExp path', async () => {
    backend.faults.next(1, { status: 500, body: 'Internal Server Error' }, { path: /\/users$/ });
    const res = await users();
    assert.equal(res.status, 500);
    assert.equal(await res.text(), 'Internal Server Error');
  });

  it('drop(n) destroys the socket without an answer', async () => {
    backend.faults.drop(1, { path: '/api/v1/users' });
    await assert.rejects(users());
    assert.equal((await users()).status, 200);
  });

  it('drop with afterBytes reads that much of the body first', async () => {
    backend.faults.drop(1, { method: 'POST' }, { afterBytes: 1000 });
    const received = await new Promise<string>((resolve) => {
      const req = request(`${backend.url}/api/v1/users`, {
        method: 'POST',
        headers: { ...headers, 'content-length': '100000' },
      });
      req.on('error', (err) => resolve(err.message));
      req.on('response', () => resolve('answered'));
      req.write(Buffer.alloc(64 * 1024, 'x'));
    });
    assert.notEqual(received, 'answered');
  });

  it('stall() never answers until cleared requests are gone; unmatched ones still work', async () => {
    backend.faults.stall({ path: '/api/v1/users' });
    const seen = backend.state.requests.length;
    const controller = new AbortController();
    let settled = false;
    const pending = fetch(`${backend.url}/api/v1/users`, { headers, signal: controller.signal }).finally(
      () => {
        settled = true;
      },
    );
    await waitFor(
      () => backend.state.requests.slice(seen).some((r) => r.path === '/api/v1/users'),
      'stalled request',
    );
    assert.equal((await fetch(`${backend.url}/`)).status, 200);
    assert.equal(settled, false);
    controller.abort();
    await assert.rejects(pending);
  });

  it('delay() holds matching requests, then answers normally', async () => {
    backend.faults.delay(60_000, { path: '/api/v1/users' });
    const seen = backend.state.requests.length;
    const controller = new AbortController();
    let settled = false;
    const pending = fetch(`${backend.url}/api/v1/users`, { headers, signal: controller.signal }).finally(
      () => {
        settled = true;
      },
    );
    await waitFor(
      () => backend.state.requests.slice(seen).some((r) => r.path === '/api/v1/users'),
      'delayed request',
    );
    assert.equal((await fetch(`${backend.url}/`)).status, 200);
    assert.equal(settled, false);
    controller.abort();
    await assert.rejects(pending);

    backend.faults.clear();
    backend.faults.delay(5, { path: '/api/v1/users' });
    assert.equal((await users()).status, 200);
  });
});
