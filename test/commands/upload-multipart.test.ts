// `upload` on a current backend (issue 13): one multipart upload, completed, against a real radosgw through
// the backend double, which presigns the part URLs (through a counting proxy, so the test sees the PUTs).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { writeExportFile, writeExportZip } from '../../src/generator/index.js';
import {
  type BackendDouble,
  type BackendDoubleOptions,
  startBackendDouble,
} from '../../src/sandbox/backend/index.js';
import { type CountingProxy, startCountingProxy } from '../helpers/counting-proxy.js';
import { fastClock } from '../helpers/fake-clock.js';
import { COMPACT_RECORD, withLastLine } from '../helpers/last-line.js';
import { type Radosgw, startRadosgw } from '../helpers/radosgw.js';
import { repairedOf } from '../helpers/repaired.js';
import { runCli } from '../helpers/run-cli.js';
import { s3SettingsOf } from '../helpers/s3-backend.js';

const MIB = 1024 * 1024;
const DEFECTS = { dtd: 'ios16-unclosed-attlist', exportVersion: 12, controlChars: 0.2 } as const;

/**
 * An upload of `xml` interrupted (Ctrl-C) once the ledger in `cfg` records a stored part, while the next
 * part stalls at the proxy (so the interruption always comes part-way): exit 130.
 */
async function interruptedUpload(
  proxy: CountingProxy,
  xml: string,
  userId: string,
  cfg: string,
  env: Record<string, string>,
) {
  proxy.stallPuts(1, 1);
  const ac = new AbortController();
  const watcher = abortAfterFirstPart(cfg, ac);
  const r = await runCli(['upload', xml, '--user', userId, '--concurrency', '1'], { env, signal: ac.signal });
  await watcher;
  // Ctrl-C may come before the stalled part was even sent: the next run must not meet its stall.
  proxy.clearFaults();
  assert.equal(r.code, 130, r.stderr);
  return r;
}

async function abortAfterFirstPart(cfg: string, ac: AbortController): Promise<void> {
  const ledgerDir = join(cfg, 'ledger');
  while (!ac.signal.aborted) {
    const files = await readdir(ledgerDir).catch(() => [] as string[]);
    for (const f of files.filter((n) => n.endsWith('.json'))) {
      const entry = JSON.parse(await readFile(join(ledgerDir, f), 'utf8').catch(() => '{}'));
      if ((entry.parts?.length ?? 0) >= 1) ac.abort();
    }
    await delay(5);
  }
}

describe('upload by multipart (current backend) against real radosgw', () => {
  let rgw: Radosgw;
  let proxy: CountingProxy;
  let dir: string;
  let zip: string;
  let xml: string;
  const doubles: BackendDouble[] = [];

  async function double(opts: BackendDoubleOptions = {}) {
    const backend = await startBackendDouble({
      partSize: 5 * MIB,
      directDelayMs: 1,
      retryDelayMs: () => 1,
      s3: s3SettingsOf(rgw, proxy.endpoint),
      ...opts,
    });
    doubles.push(backend);
    const apiKey = backend.createApiKey();
    const userId = backend.createUser({ email: `u${doubles.length}@example.com` }).id;
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const env = {
      APPLE_IMPORT_CONFIG_DIR: cfg,
      APPLE_IMPORT_SERVER: backend.url,
      APPLE_IMPORT_API_KEY: apiKey,
    };
    return { backend, userId, cfg, env };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upload-multipart-'));
    zip = join(dir, 'export.zip');
    xml = join(dir, 'export.xml');
    await writeExportZip(zip, { days: 70, seed: 3, ...DEFECTS });
    await writeExportFile(xml, { days: 18, seed: 5, ...DEFECTS });
    rgw = await startRadosgw({ bucket: 'uploads' });
    proxy = await startCountingProxy(rgw.endpoint);
  });
  after(async () => {
    for (const d of doubles) await d.close();
    await proxy?.close();
    await rgw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a defective zipped export of over 40 MB: 5 MiB parts, 4 in flight, the object is the repaired stream, imported once; --wait exits 0', async () => {
    const { backend, userId, env } = await double();
    const expected = await repairedOf(zip);
    assert.ok(expected.length > 40_000_000, `export too small: ${expected.length}`);
    proxy.reset();
    proxy.gatePuts(4);
    const r = await runCli(['upload', zip, '--user', userId, '--concurrency', '4', '--wait', '--json'], {
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.status, 'uploaded');
    assert.equal(doc.transport, 'multipart');
    assert.match(doc.backend, /^multipart/);
    assert.equal(doc.multipart.partSize, 5 * MIB);
    assert.equal(doc.multipart.completionMode, 'client');
    assert.equal(doc.multipart.concurrency, 4);
    assert.equal(doc.parts.length, Math.ceil(expected.length / (5 * MIB)));
    assert.equal(doc.bytes, expected.length);
    assert.ok(doc.repairs.doctypeRemoved && doc.repairs.illegalCharsDropped > 0);
    assert.equal(proxy.count('PUT'), doc.parts.length, 'one PUT per part');
    assert.equal(proxy.maxInFlight(), 4, 'four parts in flight at once');
    // The object S3 completed is exactly the repaired stream.
    const stored = await rgw.getObject(doc.multipart.key);
    assert.ok(stored.equals(expected), 'byte-identical to the repaired stream');
    // Imported once, with the counts the backend's importer gets from those bytes.
    await backend.idle();
    const tasks = backend.state.s3Imports.filter((t) => t.key === doc.multipart.key);
    assert.equal(tasks.length, 1);
    assert.equal(tasks[0]!.taskId, doc.multipart.taskId);
    const reference = backend.createUser({ email: 'reference@example.com' }).id;
    await backend.importXml(reference, 'reference.xml', Buffer.from(expected));
    assert.deepEqual(backend.counts(userId), backend.counts(reference));
    assert.equal(doc.imported.stage, 'completed');
    assert.equal(doc.imported.status, 'success');
    // Never a presigned POST on a client-mode server.
    assert.equal(backend.state.presigns.length, 0);
  });

  it('a truncated export is refused before the upload starts: no object, no import, exit 3', async () => {
    const { backend, userId, env, cfg } = await double();
    const full = await readFile(xml);
    const cut = join(dir, 'truncated.xml');
    await writeFile(cut, full.subarray(0, full.length - 40));
    const r = await runCli(['upload', cut, '--user', userId, '--json'], { env });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /cannot be uploaded: .*(truncated|end of input)/);
    // The whole export is checked before `create` (the filter's first pass needs it whole).
    assert.equal(backend.state.multipartUploads.length, 0, 'no multipart upload was started');
    assert.deepEqual(await rgw.listKeys(`${userId}/`), []);
    await backend.idle();
    assert.equal(backend.state.s3Imports.length, 0);
    assert.deepEqual(await readdir(join(cfg, 'ledger')).catch(() => []), []);
    assert.equal(backend.state.presigns.length, 0);
  });

  it('a change the filter finds late: the unfiltered upload is aborted and the filtered document sent instead', async () => {
    const { backend, userId, env } = await double();
    const compact = await withLastLine(xml, join(dir, 'late-compact.xml'), COMPACT_RECORD);
    const r = await runCli(['upload', compact, '--user', userId, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /apple-import repairs: 1 element with compact dates rewritten/);
    // One plan, then what goes instead of it.
    assert.equal(r.stderr.match(/^backend: /gm)?.length, 1, r.stderr);
    assert.match(r.stderr, /^Sending the repaired document instead, one multipart object of /m);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.transport, 'multipart');
    const [unfiltered, filtered] = backend.state.multipartUploads;
    assert.equal(backend.state.multipartUploads.length, 2);
    assert.equal(unfiltered!.aborted, true, 'the unfiltered upload was aborted');
    assert.equal(filtered!.uploadId, doc.multipart.uploadId);
    await backend.idle();
    assert.deepEqual(await rgw.listKeys(`${userId}/`), [doc.multipart.key], 'only the filtered object');
    const object = await rgw.getObject(doc.multipart.key);
    assert.equal(object.length, doc.bytes);
    const text = object.toString('latin1');
    assert.match(text, /startDate="2026-01-01 12:00:00 \+0100" endDate="2026-01-01 12:01:00 \+0100"/);
    assert.doesNotMatch(text, /="20260101/);
    // Up to the added line, the object is the repaired export.
    const repaired = await repairedOf(xml);
    const before = repaired.toString('latin1').lastIndexOf('</HealthData>');
    assert.ok(object.subarray(0, before).equals(repaired.subarray(0, before)));
  });

  it('damage the check finds past the head: the upload already started is aborted, nothing completed, exit 3', async () => {
    const { backend, userId, env, cfg } = await double();
    const broken = await withLastLine(
      xml,
      join(dir, 'late-broken.xml'),
      ' <Record type="HKQuantityTypeIdentifierStepCount" <oops/>',
    );
    proxy.reset();
    const r = await runCli(['upload', broken, '--user', userId, '--json'], { env });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /cannot be uploaded: /);
    assert.equal(JSON.parse(r.stdout).error.code, 'INPUT_INVALID');
    assert.equal(backend.state.multipartUploads.length, 1);
    assert.equal(backend.state.multipartUploads[0]!.aborted, true);
    await backend.idle();
    assert.deepEqual(await rgw.listKeys(`${userId}/`), []);
    assert.equal(backend.state.s3Imports.length, 0);
    assert.deepEqual(await readdir(join(cfg, 'ledger')).catch(() => []), []);
  });

  it('an interrupted upload resumes: only the missing parts are sent, then it completes', async () => {
    const { backend, userId, env, cfg } = await double();
    proxy.reset();
    const ledgerDir = join(cfg, 'ledger');
    const first = await interruptedUpload(proxy, xml, userId, cfg, env);
    assert.match(first.stderr, /multipart upload is kept/);
    const files = (await readdir(ledgerDir)).filter((f) => f.endsWith('.json'));
    const entry = JSON.parse(await readFile(join(ledgerDir, files[0]!), 'utf8'));
    const had = entry.parts.length as number;
    assert.ok(had >= 1 && had < entry.partCount, `parts stored: ${had} of ${entry.partCount}`);
    const putsBefore = proxy.count('PUT');

    const again = await runCli(['upload', xml, '--user', userId, '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`Resuming: ${had} of ${entry.partCount}`));
    const doc = JSON.parse(again.stdout);
    assert.equal(doc.multipart.uploadId, entry.upload.uploadId);
    assert.equal(proxy.count('PUT') - putsBefore, entry.partCount - had, 'only the missing parts');
    assert.equal(doc.parts.filter((p: { resumed: boolean }) => p.resumed).length, had);
    // Client mode: the queued task completes the object.
    await backend.idle();
    assert.ok((await rgw.getObject(doc.multipart.key)).equals(await repairedOf(xml)));
    assert.equal(backend.state.multipartUploads.length, 1, 'the same upload, not a new one');
  });

  it('an upload S3 no longer knows starts afresh with a clear line', async () => {
    const { backend, userId, env, cfg } = await double();
    const apiKey = env.APPLE_IMPORT_API_KEY;
    await interruptedUpload(proxy, xml, userId, cfg, env);
    const opened = backend.state.multipartUploads[0]!;
    // Someone (the server's stale-upload cleanup) aborts it meanwhile.
    const res = await fetch(`${backend.url}/api/v1/users/${userId}/import/apple/xml/s3/multipart/abort`, {
      method: 'POST',
      headers: { 'x-open-wearables-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ key: opened.key, upload_id: opened.uploadId }),
    });
    assert.equal(res.status, 200);
    const again = await runCli(['upload', xml, '--user', userId, '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /no longer knows multipart upload .*starting it afresh/);
    const doc = JSON.parse(again.stdout);
    assert.notEqual(doc.multipart.uploadId, opened.uploadId);
    await backend.idle();
    assert.ok((await rgw.getObject(doc.multipart.key)).equals(await repairedOf(xml)));
  });

  it('--force starts a new upload and aborts the unfinished one on the server', async () => {
    const { backend, userId, env, cfg } = await double();
    await interruptedUpload(proxy, xml, userId, cfg, env);
    const opened = backend.state.multipartUploads[0]!;
    const again = await runCli(['upload', xml, '--user', userId, '--force', '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /Resuming/);
    const doc = JSON.parse(again.stdout);
    assert.notEqual(doc.multipart.uploadId, opened.uploadId);
    assert.equal(opened.aborted, true, 'the earlier upload was aborted');
    await backend.idle();
    assert.ok((await rgw.getObject(doc.multipart.key)).equals(await repairedOf(xml)));
  });

  it('an export under 5 MiB on a client-mode server goes to /direct whole, said in one line', async () => {
    const { backend, userId, env } = await double();
    const small = join(dir, 'small.xml');
    await writeExportFile(small, { days: 4, seed: 11, ...DEFECTS });
    const expected = await repairedOf(small);
    assert.ok(expected.length > 2 * MIB && expected.length < 5 * MIB, `size ${expected.length}`);
    const r = await runCli(['upload', small, '--user', userId, '--wait', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /under S3's 5 MiB part minimum: it goes to the direct route as one repaired file/);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.transport, 'direct');
    assert.equal(doc.imported.stage, 'completed');
    assert.equal(backend.state.directUploads.length, 1);
    assert.ok(backend.state.directUploads[0]!.bytes.equals(expected));
    assert.equal(backend.state.presigns.length, 0, 'never a presigned POST');
    assert.equal(backend.state.multipartUploads.length, 0);
    // The same export again: already uploaded.
    const again = await runCli(['upload', small, '--user', userId], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already uploaded/);
    assert.equal(backend.state.directUploads.length, 1);
  });

  it('a server whose openapi cannot be read falls back to the presigned POST, with a warning naming why', async () => {
    const { backend, userId, env } = await double({ generation: '2026-08' });
    backend.faults.next(1, { status: 500, body: 'Internal Server Error' }, { path: /^\/openapi\.json$/ });
    const r = await runCli(['upload', xml, '--user', userId, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /Cannot tell what .* offers \(GET \/openapi\.json answered 500\); using the presigned POST/,
    );
    assert.equal(JSON.parse(r.stdout).transport, 'post');
    assert.equal(backend.state.presigns.length, 1);
  });

  it('a server without the multipart routes still gets the presigned POST: one POST to S3, no multipart', async () => {
    const { backend, userId, env } = await double({ generation: '2026-08' });
    proxy.reset();
    const r = await runCli(['upload', xml, '--user', userId, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.transport, 'post');
    assert.match(doc.backend, /^presigned POST only/);
    assert.equal(doc.multipart, undefined);
    assert.equal(backend.state.presigns.length, 1);
    assert.equal(backend.state.multipartUploads.length, 0);
    assert.equal(proxy.count('POST'), 1, 'the one presigned POST went to S3');
    assert.equal(proxy.count('PUT'), 0, 'no part was PUT');
    assert.ok((await rgw.getObject(doc.parts[0].fileKey)).equals(await repairedOf(xml)));
  });

  it('a presigned POST is never sent to a client-mode server: multipart, --force, a cached openapi, /direct', async () => {
    const { backend, userId, env } = await double();
    proxy.reset();
    const small = join(dir, 'small-never-post.xml');
    await writeExportFile(small, { days: 4, seed: 13, ...DEFECTS });
    const first = await runCli(['upload', xml, '--user', userId, '--json'], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).transport, 'multipart');
    // Its openapi unreadable now: what it advertised before still says multipart (--full: the records
    // the server has go again, so the document stays over 5 MiB).
    backend.faults.next(1, { status: 500, body: 'Internal Server Error' }, { path: /^\/openapi\.json$/ });
    const cached = await runCli(['upload', xml, '--user', userId, '--force', '--full', '--json'], { env });
    assert.equal(cached.code, 0, cached.stderr);
    assert.match(cached.stderr, /could not be read; using what it advertised/);
    assert.equal(JSON.parse(cached.stdout).transport, 'multipart');
    const direct = await runCli(['upload', small, '--user', userId, '--json'], { env });
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(JSON.parse(direct.stdout).transport, 'direct');
    // Fails on any presign asked for (even one refused) and on any POST that reached S3.
    const asked = backend.state.requests.filter(
      (q) => q.method === 'POST' && /\/import\/apple\/xml\/s3$/.test(q.path),
    );
    assert.deepEqual(asked, [], 'no presigned POST was asked for');
    assert.equal(backend.state.presigns.length, 0);
    assert.equal(proxy.count('POST'), 0, 'nothing was POSTed to S3');
    assert.equal(backend.state.multipartUploads.length, 2);
  });

  it('SlowDown and a stalled part are sent again with freshly signed URLs; a 503 on complete is retried', async () => {
    const { backend, userId, env } = await double();
    proxy.failPuts(
      1,
      503,
      '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
    );
    proxy.stallPuts(1);
    backend.failNextCompletionQueue(1);
    const r = await runCli(
      ['upload', xml, '--user', userId, '--concurrency', '2', '--stall-timeout', '0.5', '--json'],
      { env, clock: fastClock() },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /SlowDown.*retrying in/);
    assert.match(r.stderr, /accepted no data and sent no answer.*retrying in/);
    assert.match(r.stderr, /completing the upload: .*Unable to queue upload processing.*retrying in/);
    const doc = JSON.parse(r.stdout);
    const upload = backend.state.multipartUploads.at(-1)!;
    // Every part once, plus a fresh URL for each of the two sends again (one part may take both, when
    // its retry is the next PUT to reach the proxy).
    assert.equal(upload.signed.length, doc.parts.length + 2, r.stderr);
    const again = doc.parts.reduce((n: number, p: { attempts: number }) => n + p.attempts - 1, 0);
    assert.equal(again, 2);
    await backend.idle();
    assert.ok((await rgw.getObject(doc.multipart.key)).equals(await repairedOf(xml)));
  });

  it('refusals are clear, exit 1, and abort the upload: parts mismatch at complete, a key of another user', async () => {
    const cases: [RegExp, number, string, RegExp][] = [
      [
        /\/multipart\/complete$/,
        400,
        'Completed parts do not match the parts stored for this multipart upload',
        /refused to complete the multipart upload \(400\): Completed parts do not match/,
      ],
      [
        /\/multipart\/sign$/,
        403,
        'Object key does not belong to this user',
        /\(403\): Object key does not belong to this user/,
      ],
    ];
    for (const [path, status, detail, line] of cases) {
      const { backend, userId, env } = await double();
      backend.faults.next(1, { status, body: { detail } }, { path });
      const r = await runCli(['upload', xml, '--user', userId, '--json'], { env, clock: fastClock() });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, line);
      assert.match(r.stderr, /aborted on the server/);
      assert.equal(backend.state.multipartUploads.at(-1)?.aborted, true);
      const doc = JSON.parse(r.stdout) as { error: { code: string } };
      assert.ok(['API_ERROR', 'S3_UPLOAD_FAILED'].includes(doc.error.code), r.stdout);
    }
  });

  it("--wait: an import that fails exits 1 with the backend's message; sns mode is followed by object key", async () => {
    const failing = await double({ maxImportBytes: 1024 });
    const r = await runCli(['upload', xml, '--user', failing.userId, '--wait'], { env: failing.env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /import: failed/);
    assert.match(r.stderr, /The backend's import failed: Apple Health XML import failed/);
    const sns = await double({ completionMode: 'sns' });
    const s = await runCli(['upload', xml, '--user', sns.userId, '--wait', '--json'], { env: sns.env });
    assert.equal(s.code, 0, s.stderr);
    const doc = JSON.parse(s.stdout);
    assert.equal(doc.multipart.completionMode, 'sns');
    assert.equal(doc.multipart.taskId, null);
    assert.equal(doc.imported.stage, 'completed');
    // Learnt: whoami now says how this server completes.
    const who = await runCli(['whoami'], { env: sns.env });
    assert.match(who.stdout, /backend: {4}multipart \(sns completion\), cap 5 GiB/);
  });

  it('whoami and --dry-run say what the backend offers', async () => {
    const current = await double();
    const who = await runCli(['whoami'], { env: current.env });
    assert.equal(who.code, 0, who.stderr);
    assert.match(who.stdout, /backend: {4}multipart, cap 5 GiB/);
    const dry = await runCli(['upload', xml, '--user', current.userId, '--dry-run'], { env: current.env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /backend: multipart, cap 5 GiB/);
    assert.match(dry.stdout, /by one multipart upload/);
    assert.equal(current.backend.state.multipartUploads.length, 0);
    const old = await double({ generation: '2026-08' });
    const whoOld = await runCli(['whoami', '--json'], { env: old.env });
    assert.equal(JSON.parse(whoOld.stdout).backend, 'presigned POST only (before Aug 2026), cap 1 GiB');
  });
});
