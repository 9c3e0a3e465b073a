// The current backend's multipart routes (open-wearables-current.md §2.2) and the import they queue (§2.3),
// against the sandbox's S3 endpoint, and the whole flow once more against radosgw, where a real S3 checks
// the part uploads and the completion.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  type BackendDouble,
  type BackendDoubleOptions,
  type S3Settings,
  type SyncStatusEvent,
  startBackendDouble,
} from '../../../src/sandbox/backend/index.js';
import { type S3Server, startS3Server } from '../../../src/sandbox/s3/server.js';
import { presignAndPost } from '../../helpers/presigned-post.js';
import { type Radosgw, startRadosgw } from '../../helpers/radosgw.js';
import { DEVICE, exportXml, waitFor } from './support.js';

const API_KEY = `sk-${'b'.repeat(32)}`;
const MIB = 1024 * 1024;
const CREDS = {
  region: 'us-east-1',
  accessKeyId: 'AKIAMULTIPART0000000',
  secretAccessKey: 'multipart-secret',
};

const record = (i: number, value = '1') =>
  `<Record type="HKQuantityTypeIdentifierStepCount" sourceName="Watch" device="${DEVICE}" unit="count" value="${value}" startDate="2024-03-01 08:${String(i % 60).padStart(2, '0')}:${String(Math.floor(i / 60) % 60).padStart(2, '0')} +0000" endDate="2024-03-01 09:00:00 +0000"/>`;
const workout = (start: string, source = 'Watch') =>
  `<Workout workoutActivityType="HKWorkoutActivityTypeRunning" sourceName="${source}" device="${DEVICE}" startDate="${start}" endDate="2024-03-02 07:30:00 +0000"/>`;

/** An export of at least `size` bytes: `records` step records, padded with whitespace at the end. */
function exportOfSize(size: number, body: string): Buffer {
  const xml = Buffer.from(exportXml(body));
  return xml.length >= size ? xml : Buffer.concat([xml, Buffer.alloc(size - xml.length, 0x0a)]);
}

interface Client {
  backend: BackendDouble;
  userId: string;
  call(
    route: string,
    body: unknown,
    userId?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** create → sign → PUT each part; returns what complete needs. */
  upload(
    bytes: Buffer,
    partSize?: number,
  ): Promise<{ key: string; uploadId: string; parts: { part_number: number; etag: string }[] }>;
  events(key: string): SyncStatusEvent[];
}

function client(backend: BackendDouble, userId: string): Client {
  const call: Client['call'] = async (route, body, user = userId) => {
    const res = await fetch(`${backend.url}/api/v1/users/${user}/import/apple/xml/s3/multipart/${route}`, {
      method: 'POST',
      headers: { 'x-open-wearables-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    backend,
    userId,
    call,
    async upload(bytes, partSize = 5 * MIB) {
      const created = await call('create', {
        filename: 'export.xml',
        file_size: Math.max(bytes.length, 5 * MIB),
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const key = created.body.key as string;
      const uploadId = created.body.upload_id as string;
      const count = Math.max(1, Math.ceil(bytes.length / partSize));
      const numbers = Array.from({ length: count }, (_, i) => i + 1);
      const signed = await call('sign', { key, upload_id: uploadId, part_numbers: numbers });
      assert.equal(signed.status, 200, JSON.stringify(signed.body));
      const parts: { part_number: number; etag: string }[] = [];
      for (const { part_number, url } of signed.body.urls as { part_number: number; url: string }[]) {
        const chunk = bytes.subarray((part_number - 1) * partSize, part_number * partSize);
        const res = await fetch(url, { method: 'PUT', body: chunk });
        assert.equal(res.status, 200, await res.text());
        parts.push({ part_number, etag: res.headers.get('etag') ?? '' });
      }
      return { key, uploadId, parts };
    },
    events: (key) =>
      (backend.state.syncEvents.get(userId) ?? []).filter((e) => e.metadata.object_key === key),
  };
}

async function withDouble(s3: S3Settings, opts: BackendDoubleOptions = {}) {
  const backend = await startBackendDouble({ s3, seed: { apiKeys: [API_KEY] }, directDelayMs: 1, ...opts });
  return client(backend, backend.createUser({ email: `m${Math.random()}@example.com` }).id);
}

describe('multipart routes (current backend, client mode) against the sandbox S3 endpoint', () => {
  let s3: S3Server;
  let settings: S3Settings;
  let c: Client;

  before(async () => {
    s3 = await startS3Server({ bucket: 'exports', ...CREDS });
    settings = { endpoint: s3.endpoint, bucket: 'exports', ...CREDS, notifies: false };
    c = await withDouble(settings);
  });
  after(async () => {
    await c.backend.close();
    await s3.close();
  });

  it('advertises the routes and the 5 GiB cap (max_file_size and file_size maximum) in /openapi.json', async () => {
    const doc = (await (await fetch(`${c.backend.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        { post?: { requestBody?: { content: Record<string, { schema: { $ref: string } }> } } }
      >;
      components: {
        schemas: Record<string, { properties: Record<string, { maximum?: number; minimum?: number }> }>;
      };
    };
    for (const route of ['create', 'sign', 'complete', 'abort']) {
      assert.ok(doc.paths[`/api/v1/users/{user_id}/import/apple/xml/s3/multipart/${route}`]?.post, route);
    }
    const ref =
      doc.paths['/api/v1/users/{user_id}/import/apple/xml/s3/multipart/create']?.post?.requestBody?.content[
        'application/json'
      ]?.schema.$ref;
    assert.equal(ref, '#/components/schemas/MultipartCreateRequest');
    const schemas = doc.components.schemas;
    assert.equal(schemas.PresignedURLRequest?.properties.max_file_size?.maximum, 5 * 1024 ** 3);
    assert.equal(schemas.MultipartCreateRequest?.properties.file_size?.maximum, 5 * 1024 ** 3);
    assert.equal(schemas.MultipartCreateRequest?.properties.file_size?.minimum, 5 * MIB);
  });

  it('create: 201 with a unique key under the user, the upload id and the recommended part size', async () => {
    const a = await c.call('create', { filename: '../Apple Health/export.xml', file_size: 6 * MIB });
    const b = await c.call('create', { filename: '../Apple Health/export.xml', file_size: 6 * MIB });
    assert.equal(a.status, 201);
    assert.deepEqual(Object.keys(a.body), ['upload_id', 'key', 'bucket', 'part_size']);
    assert.match(
      a.body.key as string,
      new RegExp(`^${c.userId}/raw/[0-9a-f]{32}-\\.\\.AppleHealthexport\\.xml$`),
    );
    assert.notEqual(a.body.key, b.body.key);
    assert.equal(a.body.bucket, 'exports');
    assert.equal(a.body.part_size, 100 * MIB);
    const big = await c.call('create', { file_size: 5 * 1024 ** 3 });
    assert.equal(big.body.part_size, 100 * MIB, '52 parts of 100 MiB for 5 GiB');
  });

  for (const [body, detail] of [
    [{ filename: 'x.xml' }, 'Field required'],
    [{ file_size: 5 * MIB - 1 }, 'Input should be greater than or equal to 5242880'],
    [{ file_size: 5 * 1024 ** 3 + 1 }, 'Input should be less than or equal to 5368709120'],
    [{ file_size: 6 * MIB, content_type: 'x'.repeat(101) }, 'String should have at most 100 characters'],
  ] as const) {
    it(`create: 400 "${detail}"`, async () => {
      assert.deepEqual(await c.call('create', body), { status: 400, body: { detail } });
    });
  }

  it('sign: part URLs valid for 24 h by default, batches of part numbers, 403 for another user’s key', async () => {
    const created = await c.call('create', { file_size: 6 * MIB });
    const key = created.body.key as string;
    const signed = await c.call('sign', { key, upload_id: created.body.upload_id, part_numbers: [3, 1, 2] });
    assert.equal(signed.status, 200);
    const urls = signed.body.urls as { part_number: number; url: string }[];
    assert.deepEqual(
      urls.map((u) => u.part_number),
      [3, 1, 2],
    );
    const url = new URL(urls[0]?.url ?? '');
    assert.equal(url.origin, s3.endpoint);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '86400');
    assert.equal(url.searchParams.get('partNumber'), '3');
    const short = await c.call('sign', {
      key,
      upload_id: created.body.upload_id,
      part_numbers: [1],
      expiration_seconds: 60,
    });
    assert.equal(
      new URL((short.body.urls as { url: string }[])[0]?.url ?? '').searchParams.get('X-Amz-Expires'),
      '60',
    );
    for (const [body, detail] of [
      [{ key, upload_id: 'u', part_numbers: [] }, 'List should have at least 1 item after validation, not 0'],
      [{ key, upload_id: 'u', part_numbers: [0] }, 'Input should be greater than or equal to 1'],
      [
        { key, upload_id: 'u', part_numbers: [1], expiration_seconds: 86_401 },
        'Input should be less than or equal to 86400',
      ],
    ] as const) {
      assert.deepEqual(await c.call('sign', body), { status: 400, body: { detail } });
    }
    assert.deepEqual(await c.call('sign', { key, upload_id: 'u', part_numbers: [1] }, 'someone-else'), {
      status: 403,
      body: { detail: 'Object key does not belong to this user' },
    });
  });

  it('complete: 202 processing with the task id; the queued task completes, imports and emits xml_import events', async () => {
    const bytes = exportOfSize(
      7 * MIB,
      [record(1, '10'), record(2, '20'), workout('2024-03-02 07:00:00 +0000')].join('\n'),
    );
    const { key, uploadId, parts } = await c.upload(bytes);
    assert.equal(parts.length, 2);
    const done = await c.call('complete', { key, upload_id: uploadId, parts });
    assert.equal(done.status, 202);
    assert.deepEqual(Object.keys(done.body), ['status', 'key', 'bucket', 'task_id']);
    assert.deepEqual([done.body.status, done.body.key, done.body.bucket], ['processing', key, 'exports']);
    const taskId = done.body.task_id as string;
    assert.match(taskId, /^[0-9a-f-]{36}$/);
    await c.backend.idle();
    const stored = await s3.stat(key);
    assert.equal(stored?.size, bytes.length);
    const md5 = (b: Buffer) => createHash('md5').update(b).digest();
    const expectedEtag = `${createHash('md5')
      .update(Buffer.concat([md5(bytes.subarray(0, 5 * MIB)), md5(bytes.subarray(5 * MIB))]))
      .digest('hex')}-2`;
    assert.equal(stored?.etag, expectedEtag);
    const events = c.events(key);
    assert.deepEqual(
      events.map((e) => [e.stage, e.status, e.run_id, e.source, e.provider, e.message, e.items_processed]),
      [
        [
          'started',
          'in_progress',
          taskId,
          'xml_import',
          'apple',
          'Importing Apple Health XML file from object storage',
          null,
        ],
        ['completed', 'success', taskId, 'xml_import', 'apple', 'Import completed successfully', null],
      ],
    );
    assert.deepEqual(events[0]?.metadata, { bucket: 'exports', object_key: key });
    assert.deepEqual(
      c.backend
        .imports(c.userId)
        .series('steps')
        .map((r) => r.stored),
      ['10.000', '20.000'],
    );
    assert.equal(c.backend.counts(c.userId).workouts, 1);
    const task = c.backend.state.s3Imports.find((t) => t.taskId === taskId);
    assert.deepEqual([task?.status, task?.attempts, task?.trigger], ['completed', 1, 'complete']);
    // Client mode: the S3 notification of the new object is ignored.
    c.backend.notifyObjectCreated(key);
    assert.equal(c.backend.state.snsNotifications.at(-1)?.response, 'ignored: client-driven completion');
  });

  it('complete: parts that do not match ListParts are 400, before anything is completed', async () => {
    const bytes = exportOfSize(6 * MIB, record(3));
    const { key, uploadId, parts } = await c.upload(bytes);
    const detail = 'Completed parts do not match the parts stored for this multipart upload';
    const unquoted = parts.map((p) => ({ ...p, etag: p.etag.replaceAll('"', '') }));
    for (const claimed of [
      unquoted,
      parts.slice(0, 1),
      [...parts, parts[0]!],
      [...parts, { part_number: 3, etag: parts[0]!.etag }],
    ]) {
      assert.deepEqual(await c.call('complete', { key, upload_id: uploadId, parts: claimed }), {
        status: 400,
        body: { detail },
      });
    }
    assert.equal(await s3.stat(key), undefined, 'still incomplete');
    // ETags are trimmed: surrounding whitespace is fine, the quotes are not optional.
    const spaced = parts.map((p) => ({ ...p, etag: ` ${p.etag} ` }));
    assert.equal((await c.call('complete', { key, upload_id: uploadId, parts: spaced })).status, 202);
  });

  it('complete: 503 when the task cannot be queued, the upload stays incomplete and can be completed again', async () => {
    const { key, uploadId, parts } = await c.upload(exportOfSize(6 * MIB, record(4)));
    c.backend.failNextCompletionQueue();
    assert.deepEqual(await c.call('complete', { key, upload_id: uploadId, parts }), {
      status: 503,
      body: { detail: 'Unable to queue upload processing; the multipart upload remains incomplete' },
    });
    await c.backend.idle();
    assert.equal(await s3.stat(key), undefined);
    assert.equal((await c.call('complete', { key, upload_id: uploadId, parts })).status, 202);
    await c.backend.idle();
    assert.ok(await s3.stat(key));
  });

  it('abort: 200 {status: aborted, key}, idempotent; completing it then is 404 from the listing', async () => {
    const { key, uploadId, parts } = await c.upload(exportOfSize(6 * MIB, record(5)));
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await c.call('abort', { key, upload_id: uploadId }), {
        status: 200,
        body: { status: 'aborted', key },
      });
    }
    assert.deepEqual(await c.call('complete', { key, upload_id: uploadId, parts }), {
      status: 404,
      body: { detail: 'Failed to validate multipart upload: NoSuchUpload' },
    });
    assert.deepEqual(await c.call('abort', { key, upload_id: uploadId }, 'other-user'), {
      status: 403,
      body: { detail: 'Object key does not belong to this user' },
    });
  });

  it("maps S3's errors: status by code, detail '<message>: <Code>'", async () => {
    s3.faults.next(1, { status: 503 }, { method: 'POST' });
    assert.deepEqual(await c.call('create', { file_size: 6 * MIB }), {
      status: 503,
      body: { detail: 'Failed to create multipart upload: SlowDown' },
    });
    s3.faults.next(1, { status: 403 }, { method: 'POST' });
    assert.deepEqual(await c.call('create', { file_size: 6 * MIB }), {
      status: 403,
      body: { detail: 'Failed to create multipart upload: AccessDenied' },
    });
    const created = await c.call('create', { file_size: 6 * MIB });
    const key = created.body.key as string;
    s3.faults.next(1, { status: 500 }, { method: 'GET' });
    assert.deepEqual(
      await c.call('complete', {
        key,
        upload_id: created.body.upload_id,
        parts: [{ part_number: 1, etag: '"x"' }],
      }),
      {
        status: 503,
        body: { detail: 'Failed to validate multipart upload: InternalError' },
      },
    );
  });

  it('a broken export fails the task after its retries, with the parser’s error; nothing is imported', async () => {
    const before = c.backend.counts(c.userId);
    const bytes = Buffer.concat([
      Buffer.from(exportXml(record(6)).replace('</HealthData>', '<Record')),
      Buffer.alloc(6 * MIB, 0x20),
    ]);
    const { key, uploadId, parts } = await c.upload(bytes);
    const done = await c.call('complete', { key, upload_id: uploadId, parts });
    await c.backend.idle();
    const events = c.events(key);
    assert.deepEqual(
      events.map((e) => e.stage),
      ['started', 'failed'],
      'started once, failed once, after the retries',
    );
    assert.equal(events[1]?.message, 'Apple Health XML import failed');
    assert.match(
      events[1]?.error ?? '',
      /^unclosed token: line \d+, column \d+$|^no element found|not well-formed/,
    );
    const task = c.backend.state.s3Imports.find((t) => t.taskId === done.body.task_id);
    assert.equal(task?.attempts, 4, 'the first attempt and three retries');
    // The error comes before the generator yields its last (here its only) chunk, so nothing was committed.
    assert.deepEqual(c.backend.counts(c.userId), before);
  });

  it('a workout already stored fails the whole task with the IntegrityError (S3 path, contract §5.6)', async () => {
    const first = await c.upload(exportOfSize(6 * MIB, workout('2024-04-01 07:00:00 +0000')));
    await c.call('complete', { key: first.key, upload_id: first.uploadId, parts: first.parts });
    await c.backend.idle();
    const stored = c.backend.imports(c.userId).workouts.find((w) => w.start === '2024-04-01 07:00:00 +0000');
    assert.ok(stored);
    // The same run from another app: on the XML path it shares the data source (device model), so it collides.
    const again = await c.upload(
      exportOfSize(6 * MIB, [workout('2024-04-01 07:00:00 +0000', 'Strava'), record(7, '77')].join('\n')),
    );
    await c.call('complete', { key: again.key, upload_id: again.uploadId, parts: again.parts });
    await c.backend.idle();
    const failed = c.events(again.key).at(-1);
    assert.equal(failed?.stage, 'failed');
    assert.equal(
      failed?.error?.split('\n').slice(0, 2).join('\n'),
      '(psycopg.errors.UniqueViolation) duplicate key value violates unique constraint "event_record_detail_pkey"\n' +
        `DETAIL:  Key (record_id)=(${stored.id}) already exists.`,
    );
    assert.equal(
      c.backend
        .imports(c.userId)
        .series('steps')
        .some((r) => r.value === '77'),
      false,
    );
  });

  it('a user that does not exist: the task completes as skipped with the reason', async () => {
    const ghost = client(c.backend, '00000000-0000-4000-8000-000000000000');
    const { key, uploadId, parts } = await ghost.upload(exportOfSize(6 * MIB, record(8)));
    await ghost.call('complete', { key, upload_id: uploadId, parts });
    await c.backend.idle();
    const events = (c.backend.state.syncEvents.get(ghost.userId) ?? []).filter(
      (e) => e.metadata.object_key === key,
    );
    assert.deepEqual(
      events.map((e) => [e.stage, e.status, e.message]),
      [
        ['started', 'in_progress', 'Importing Apple Health XML file from object storage'],
        ['completed', 'skipped', 'User with ID: 00000000-0000-4000-8000-000000000000 not found.'],
      ],
    );
  });

  it('a presigned POST in client mode is stored but never imported', async () => {
    const up = await presignAndPost(c.backend.url, API_KEY, c.userId, 'export.xml', exportXml(record(9)));
    const file_key = up.key;
    assert.match(file_key, new RegExp(`^${c.userId}/raw/[0-9a-f]{32}-export\\.xml$`));
    assert.equal(up.status, 204);
    c.backend.notifyObjectCreated(file_key);
    await c.backend.idle();
    assert.equal(
      c.backend.state.s3Imports.some((t) => t.key === file_key),
      false,
    );
    assert.deepEqual(c.events(file_key), []);
  });
});

describe('multipart routes: sns mode and the backend before August 2026', () => {
  let s3: S3Server;
  let settings: S3Settings;
  before(async () => {
    s3 = await startS3Server({ bucket: 'exports', ...CREDS });
    settings = { endpoint: s3.endpoint, bucket: 'exports', ...CREDS, notifies: false };
  });
  after(() => s3.close());

  it('sns mode: complete finishes the upload itself (200 uploaded, task_id null); the notification imports it', async () => {
    const c = await withDouble(settings, { completionMode: 'sns' });
    try {
      const { key, uploadId, parts } = await c.upload(exportOfSize(6 * MIB, record(1, '5')));
      const done = await c.call('complete', { key, upload_id: uploadId, parts });
      assert.deepEqual(done, {
        status: 200,
        body: { status: 'uploaded', key, bucket: 'exports', task_id: null },
      });
      assert.ok(await s3.stat(key), 'completed before the answer');
      await c.backend.idle();
      const notification = c.backend.state.snsNotifications.find((n) => n.key === key);
      assert.equal(notification?.response, '1 tasks dispatched');
      const events = c.events(key);
      assert.deepEqual(
        events.map((e) => [e.stage, e.run_id]),
        [
          ['started', notification?.taskId],
          ['completed', notification?.taskId],
        ],
      );
      assert.equal(c.backend.imports(c.userId).series('steps')[0]?.stored, '5.000');
      // A wrong ETag reaches S3 in this mode, and comes back as its error.
      const other = await c.upload(exportOfSize(6 * MIB, record(2)));
      const bad = other.parts.map((p) => ({ ...p, etag: '"00000000000000000000000000000000"' }));
      assert.deepEqual(await c.call('complete', { key: other.key, upload_id: other.uploadId, parts: bad }), {
        status: 400,
        body: { detail: 'Failed to complete multipart upload: InvalidPart' },
      });
    } finally {
      await c.backend.close();
    }
  });

  it('2026-08: no multipart routes (404, absent from openapi), 1 GiB cap, same-name keys, imports without events', async () => {
    const c = await withDouble(settings, { generation: '2026-08' });
    try {
      assert.deepEqual(await c.call('create', { file_size: 6 * MIB }), {
        status: 404,
        body: { detail: 'Not Found' },
      });
      const doc = (await (await fetch(`${c.backend.url}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
        components: { schemas: Record<string, { properties: Record<string, { maximum?: number }> }> };
      };
      assert.deepEqual(
        Object.keys(doc.paths).filter((p) => p.includes('multipart')),
        [],
      );
      assert.equal(doc.components.schemas.PresignedURLRequest?.properties.max_file_size?.maximum, 1024 ** 3);
      const presign = await fetch(`${c.backend.url}/api/v1/users/${c.userId}/import/apple/xml/s3`, {
        method: 'POST',
        headers: { 'x-open-wearables-api-key': API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ filename: 'export.xml', max_file_size: 1024 ** 3 + 1 }),
      });
      assert.deepEqual(await presign.json(), { detail: 'Input should be less than or equal to 1073741824' });
      const up = await presignAndPost(
        c.backend.url,
        API_KEY,
        c.userId,
        'export.xml',
        exportXml(record(3, '3')),
      );
      const file_key = up.key;
      assert.equal(file_key, `${c.userId}/raw/export.xml`);
      assert.equal(up.status, 204);
      c.backend.notifyObjectCreated(file_key);
      await c.backend.idle();
      assert.deepEqual(
        c.backend.state.s3Imports.map((t) => [t.key, t.status, t.trigger]),
        [[file_key, 'completed', 'notification']],
      );
      assert.equal(c.backend.imports(c.userId).series('steps')[0]?.stored, '3.000');
      assert.equal(c.backend.state.syncEvents.get(c.userId), undefined, 'no events on this path');
    } finally {
      await c.backend.close();
    }
  });
});

describe('multipart against radosgw: a real S3 checks the parts and the completion', () => {
  let rgw: Radosgw;
  let c: Client;
  before(async () => {
    rgw = await startRadosgw({ bucket: 'exports' });
    c = await withDouble({
      endpoint: rgw.endpoint,
      bucket: 'exports',
      region: rgw.region,
      accessKeyId: rgw.accessKeyId,
      secretAccessKey: rgw.secretAccessKey,
    });
  });
  after(async () => {
    await c?.backend.close();
    await rgw?.stop();
  });

  it('uploads 3 parts through radosgw, completes (202), imports the object once and emits the events', async () => {
    const body = Array.from({ length: 200 }, (_, i) => record(i, String(i + 1))).join('\n');
    const bytes = exportOfSize(11 * MIB, body);
    const { key, uploadId, parts } = await c.upload(bytes);
    assert.equal(parts.length, 3);
    const done = await c.call('complete', { key, upload_id: uploadId, parts });
    assert.equal(done.status, 202);
    await waitFor(() => c.events(key).some((e) => e.stage !== 'started'), 'the terminal event');
    await c.backend.idle();
    assert.deepEqual(
      c.events(key).map((e) => [e.stage, e.status, e.run_id]),
      [
        ['started', 'in_progress', done.body.task_id],
        ['completed', 'success', done.body.task_id],
      ],
    );
    assert.ok((await rgw.getObject(key)).equals(bytes), 'radosgw holds exactly the uploaded bytes');
    assert.equal(c.backend.counts(c.userId).bySeries.steps, 200);
  });

  it('radosgw refuses a part under 5 MiB that is not the last: the task fails with the 400 (no retry)', async () => {
    const bytes = exportOfSize(6 * MIB, record(1));
    // 3 MiB parts: the first is too small for S3, which the backend's listing check cannot see.
    const { key, uploadId, parts } = await c.upload(bytes, 3 * MIB);
    const done = await c.call('complete', { key, upload_id: uploadId, parts });
    assert.equal(done.status, 202);
    await c.backend.idle();
    const last = c.events(key).at(-1);
    assert.equal(last?.stage, 'failed');
    assert.equal(last?.error, '400: Failed to complete multipart upload: EntityTooSmall');
    const task = c.backend.state.s3Imports.find((t) => t.taskId === done.body.task_id);
    assert.equal(task?.attempts, 1);
    assert.deepEqual(await rgw.listKeys(key), []);
  });

  it('after abort, radosgw has no upload: complete is 404 from the listing, abort stays 200', async () => {
    const { key, uploadId, parts } = await c.upload(exportOfSize(6 * MIB, record(2)));
    assert.equal((await c.call('abort', { key, upload_id: uploadId })).status, 200);
    assert.equal((await c.call('abort', { key, upload_id: uploadId })).status, 200);
    assert.deepEqual(await c.call('complete', { key, upload_id: uploadId, parts }), {
      status: 404,
      // Radosgw answers ListParts of an aborted upload with NoSuchKey (AWS: NoSuchUpload); both are 404.
      body: { detail: 'Failed to validate multipart upload: NoSuchKey' },
    });
  });
});
