// The sandbox wires its S3 endpoint to the backend double as a deployment wires S3 → SNS → the backend: what
// gets imported depends on the generation and completion mode, the port policy, and what --data-dir keeps.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Sandbox, type SandboxImportEvent, startSandbox } from '../../src/sandbox/run-sandbox.js';
import { presignAndPost } from '../helpers/presigned-post.js';

const EXPORT = `<?xml version="1.0" encoding="UTF-8"?>
<HealthData locale="en_US">
 <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" startDate="2024-01-31 10:00:00 -0800" endDate="2024-01-31 10:00:00 -0800" value="61"/>
 <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Phone" unit="count" startDate="2024-01-31 10:00:00 -0800" endDate="2024-01-31 10:10:00 -0800" value="420"/>
</HealthData>
`;

async function uploadViaS3(
  sandbox: Sandbox,
  userId: string,
  filename: string,
  body: string,
): Promise<string> {
  const up = await presignAndPost(sandbox.info.url, sandbox.info.api_key, userId, filename, body);
  assert.equal(up.status, 204, up.text);
  return up.key;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe('sandbox (sns mode): every S3 object is imported through the import thread', () => {
  let sandbox: Sandbox;
  const imports: SandboxImportEvent[] = [];

  before(async () => {
    sandbox = await startSandbox({
      port: 0,
      completionMode: 'sns',
      maxImportBytes: EXPORT.length,
      onImport: (e) => imports.push(e),
    });
  });
  after(() => sandbox.close());

  it('fails an object over maxImportBytes with the reason and imports the next ones in order', async () => {
    const user = sandbox.info.users[0]!.id;
    const big = await uploadViaS3(sandbox, user, 'too-big.xml', `${EXPORT} `);
    const fits = await uploadViaS3(sandbox, user, 'fits.xml', EXPORT);
    await sandbox.idle();
    assert.deepEqual(
      imports.map((e) => [e.key, e.status, e.items]),
      [
        [big, 'failed', null],
        [fits, 'completed', 2],
      ],
    );
    assert.match(imports[0]?.reason ?? '', /the sandbox imports at most \d+ bytes per object/);
    const events = (sandbox.backend.state.syncEvents.get(user) ?? []).map(
      (e) => `${e.metadata.object_key === big ? 'big' : 'fits'} ${e.stage}`,
    );
    assert.deepEqual(events, ['big started', 'big failed', 'fits started', 'fits completed']);
    assert.equal(sandbox.backend.counts(user).records, 2);
  });
});

describe('sandbox (client mode, the default): a presigned POST is stored and never imported', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  after(() => sandbox.close());

  it('stores the object, the notification is ignored, nothing is imported and no event is emitted', async () => {
    const user = sandbox.info.users[0]!.id;
    const key = await uploadViaS3(sandbox, user, 'post.xml', EXPORT);
    assert.match(key, new RegExp(`^${user}/raw/[0-9a-f]{32}-post\\.xml$`));
    await sandbox.idle();
    assert.equal((await sandbox.s3.stat(key))?.size, EXPORT.length);
    assert.deepEqual(sandbox.backend.state.snsNotifications, [
      { key, response: 'ignored: client-driven completion', taskId: null },
    ]);
    assert.equal(sandbox.backend.state.s3Imports.length, 0);
    assert.equal(sandbox.backend.counts(user).records, 0);
    assert.equal(sandbox.backend.state.syncEvents.get(user), undefined);
  });
});

describe('sandbox --backend 2026-08: every object imported, without sync events, as those servers did', () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox({ port: 0, generation: '2026-08' });
  });
  after(() => sandbox.close());

  it('imports a presigned POST under the old key scheme and emits nothing', async () => {
    const user = sandbox.info.users[1]!.id;
    const key = await uploadViaS3(sandbox, user, 'old.xml', EXPORT);
    assert.equal(key, `${user}/raw/old.xml`);
    await sandbox.idle();
    assert.deepEqual(
      sandbox.backend.state.s3Imports.map((t) => [t.key, t.status, t.items]),
      [[key, 'completed', 2]],
    );
    assert.equal(sandbox.backend.counts(user).records, 2);
    assert.equal(sandbox.backend.state.syncEvents.get(user), undefined);
  });
});

describe('sandbox: the default port', () => {
  it('takes the default port when free, and another one (saying so) when it is not', async () => {
    const preferred = await freePort();
    const first = await startSandbox({ defaultPort: preferred });
    try {
      assert.equal(new URL(first.info.url).port, String(preferred));
      assert.equal(first.info.port_note, null);
      const second = await startSandbox({ defaultPort: preferred });
      try {
        assert.notEqual(new URL(second.info.url).port, String(preferred));
        assert.match(
          second.info.port_note ?? '',
          new RegExp(`^Port ${preferred} is in use, so the sandbox took \\d+`),
        );
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });

  it('on 8000 it prints http://localhost:8000, the CLI default server', async (t) => {
    // Only meaningful when this machine's 8000 is free; the fallback above covers the other case.
    let sandbox: Sandbox;
    try {
      sandbox = await startSandbox({ port: 8000 });
    } catch (err) {
      assert.match(String(err), /Port 8000 is already in use/);
      t.diagnostic('port 8000 is taken here: checked that the explicit port is refused instead');
      return;
    }
    try {
      assert.equal(sandbox.info.url, 'http://localhost:8000');
      const res = await fetch(`${sandbox.info.url}/`);
      assert.equal(res.status, 200);
    } finally {
      await sandbox.close();
    }
  });
});
