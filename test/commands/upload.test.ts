import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Clock } from '../../src/adapters/clock.js';
import { openExport } from '../../src/adapters/export-source.js';
import { scanExport } from '../../src/core/reader/read-export.js';
import { repairBytes, repairPlanFor } from '../../src/core/reader/repair.js';
import { writeExportFile, writeExportZip } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { fastClock } from '../helpers/fake-clock.js';
import { type FakeS3, s3Error, s3SettingsFor, startFakeS3 } from '../helpers/fake-s3.js';
import { errorDocument } from '../helpers/json-schemas.js';
import { type Radosgw, startRadosgw } from '../helpers/radosgw.js';
import { runCli } from '../helpers/run-cli.js';

const run = promisify(execFile);
const GEN = { days: 3, dtd: 'ios16-unclosed-attlist', exportVersion: 12, controlChars: 0.2 } as const;

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

/** What a single-part upload stores: the repaired stream, padded to a size known up front (repair.ts). */
async function repairedOf(path: string): Promise<Buffer> {
  const source = await openExport(path);
  const summary = await scanExport(source.open(), {});
  return collect(repairBytes(source.open(), repairPlanFor(summary), 0, { padDropped: true }));
}

/** Top-level element names via Python's ElementTree (expat), the backend's parser (contract §5.1). */
async function pythonElements(xml: Buffer, dir: string, name: string): Promise<string[]> {
  const file = join(dir, name);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, xml);
  const script =
    'import sys,xml.etree.ElementTree as ET\nout=[]\nd=0\nfor ev,el in ET.iterparse(sys.argv[1],events=("start","end")):\n' +
    '    if ev=="start":\n        d+=1\n        continue\n    d-=1\n    if d==1: out.append(el.tag)\n' +
    'print("\\n".join(out))';
  const { stdout } = await run('python3', ['-c', script, file]);
  return stdout.split('\n').filter(Boolean);
}

describe('upload via S3 against real radosgw', () => {
  let rgw: Radosgw;
  let backend: BackendDouble;
  let dir: string;
  let xml: string;
  let apiKey: string;
  let userId: string;

  const env = (configDir: string) => ({
    APPLE_IMPORT_CONFIG_DIR: configDir,
    APPLE_IMPORT_SERVER: backend.url,
    APPLE_IMPORT_API_KEY: apiKey,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upload-test-'));
    xml = join(dir, 'export.xml');
    await writeExportFile(xml, GEN);
    rgw = await startRadosgw({ bucket: 'uploads' });
    backend = await startBackendDouble({
      // The presigned POST path: a server before August 2026 (a current one advertises multipart instead).
      generation: '2026-08',
      s3: {
        endpoint: rgw.endpoint,
        bucket: rgw.bucket,
        region: rgw.region,
        accessKeyId: rgw.accessKeyId,
        secretAccessKey: rgw.secretAccessKey,
      },
    });
    apiKey = backend.createApiKey();
    userId = backend.createUser({ email: 'dana@example.com' }).id;
  });
  after(async () => {
    await backend?.close();
    await rgw?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads a broken-DTD export with \\x0b: stored object is the repaired stream and parses with expat', async () => {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const r = await runCli(['upload', xml, '--user', userId, '--json'], { env: env(cfg) });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.status, 'uploaded');
    assert.equal(doc.parts.length, 1);
    assert.ok(doc.repairs.illegalCharsDropped > 0);
    const key = doc.parts[0].fileKey as string;
    assert.match(key, new RegExp(`^${userId}/raw/apple-import-[0-9a-f]{8}-[0-9a-f]+-p01\\.xml$`));
    const stored = await rgw.getObject(key);
    const expected = await repairedOf(xml);
    assert.equal(stored.length, doc.bytes);
    assert.ok(stored.equals(expected), 'byte-identical to the repaired stream');
    // Padded: as many trailing newlines as control characters dropped, so the size is the file's size
    // less the DOCTYPE, known before the first byte was sent.
    const summary = await scanExport((await openExport(xml)).open(), {});
    assert.equal(doc.bytes, summary.bytes - (summary.doctype!.end - summary.doctype!.start));
    const pad = doc.repairs.illegalCharsDropped as number;
    assert.equal(pad, summary.illegalCharCount - summary.illegalCharsInDoctype);
    assert.ok(stored.subarray(-pad - 14).equals(Buffer.from(`</HealthData>\n${'\n'.repeat(pad)}`)));
    const tags = await pythonElements(stored, dir, 'single.xml');
    // Every top-level element of the export arrived, as Python's parser (expat) reads the stored object.
    assert.equal(tags.length, summary.topLevelCount);
    assert.ok(tags.includes('Record'));
    // The presign asked for the exact size, never the 50 MiB default.
    const presign = backend.state.presigns.at(-1)!;
    assert.equal(presign.maxFileSize, Math.max(1024, doc.bytes));
    assert.ok(!r.stderr.includes(apiKey) && !r.stdout.includes(apiKey));

    // Same export, same user: already uploaded, nothing sent.
    const before = backend.state.presigns.length;
    const again = await runCli(['upload', xml, '--user', userId], { env: env(cfg) });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /already uploaded/);
    assert.ok(again.stdout.includes(key));
    assert.equal(backend.state.presigns.length, before);
    // --force sends it again.
    const forced = await runCli(['upload', xml, '--user', userId, '--force', '--json'], { env: env(cfg) });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(JSON.parse(forced.stdout).status, 'uploaded');
    assert.equal(backend.state.presigns.length, before + 1);
  });

  it('a zip input stores the inflated, repaired XML', async () => {
    const zip = join(dir, 'export.zip');
    await writeExportZip(zip, { ...GEN, seed: 7 });
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const r = await runCli(['upload', zip, '--user', userId, '--json'], { env: env(cfg) });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    const stored = await rgw.getObject(doc.parts[0].fileKey);
    assert.ok(stored.equals(await repairedOf(zip)));
    assert.ok(stored.subarray(0, 100).toString().startsWith('<?xml'));
  });

  it('a truncated or malformed export is refused before anything is sent: exit 3, S3 keeps nothing', async () => {
    const full = await readFile(xml);
    const user = backend.createUser({ email: 'cut@example.com' }).id;
    // Past the first 1 MiB read, so the head probe passes and the send starts.
    const at = full.indexOf('</Record>', Math.floor(full.length * 0.8));
    assert.ok(at > 1024 * 1024, `export too small for this test: ${full.length}`);
    const cases: [string, Buffer, RegExp][] = [
      ['truncated.xml', full.subarray(0, full.length - 30), /cannot be uploaded: .*(truncated|end of input)/],
      [
        'malformed.xml',
        Buffer.concat([full.subarray(0, at), Buffer.from('</Recrod>'), full.subarray(at + 9)]),
        /cannot be uploaded: <\/Recrod> does not match <Record>/,
      ],
    ];
    for (const [name, bytes, why] of cases) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      const cfg = await mkdtemp(join(dir, 'cfg-'));
      const presigns = backend.state.presigns.length;
      const r = await runCli(['upload', path, '--user', user, '--json'], { env: env(cfg) });
      assert.equal(r.code, 3, `${name}: ${r.stderr}`);
      assert.match(r.stderr, why);
      assert.equal(errorDocument(r.stdout).code, 'INPUT_INVALID', name);
      // The whole export is checked first (the filtered document is measured after): no presign.
      assert.equal(backend.state.presigns.length, presigns, name);
      assert.deepEqual(await rgw.listKeys(`${user}/`), [], name);
    }
  });

  it('over --max-part-size: N valid parts whose elements together equal the source', async () => {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const r = await runCli(['upload', xml, '--user', userId, '--max-part-size', '250000', '--json'], {
      env: env(cfg),
    });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.ok(doc.parts.length >= 3, `parts: ${doc.parts.length}`);
    const all: string[] = [];
    for (const p of doc.parts) {
      const obj = await rgw.getObject(p.fileKey);
      assert.equal(obj.length, p.bytes);
      assert.ok(obj.length <= 250_000);
      const tags = await pythonElements(obj, dir, `part${p.index}.xml`);
      assert.deepEqual(tags.slice(0, 2), ['ExportDate', 'Me']);
      all.push(...(p.index === 1 ? tags : tags.slice(2)));
    }
    const whole = await pythonElements(await repairedOf(xml), dir, 'whole.xml');
    assert.deepEqual(all, whole);
  });

  it('a policy violation is a clear failure with exit 1 (wrong signing secret → AccessDenied)', async () => {
    const bad = await startBackendDouble({
      // The presigned POST path: a server before August 2026 (a current one advertises multipart instead).
      generation: '2026-08',
      s3: {
        endpoint: rgw.endpoint,
        bucket: rgw.bucket,
        region: rgw.region,
        accessKeyId: rgw.accessKeyId,
        secretAccessKey: rgw.secretAccessKey,
        formSecretAccessKey: 'not-the-secret',
      },
    });
    try {
      const key = bad.createApiKey();
      const user = bad.createUser({ email: 'x@example.com' }).id;
      const cfg = await mkdtemp(join(dir, 'cfg-'));
      const r = await runCli(['upload', xml, '--user', user], {
        env: { APPLE_IMPORT_CONFIG_DIR: cfg, APPLE_IMPORT_SERVER: bad.url, APPLE_IMPORT_API_KEY: key },
        clock: fastClock(),
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /AccessDenied/);
      assert.equal(bad.state.presigns.length, 1, 'fails fast, no retry');
    } finally {
      await bad.close();
    }
  });

  it('the cap the server advertises plans the parts; a presign 400 "less than or equal to N" re-plans them', async () => {
    const capped = await startBackendDouble({
      // The presigned POST path: a server before August 2026 (a current one advertises multipart instead).
      generation: '2026-08',
      maxFileSize: 300_000,
      s3: {
        endpoint: rgw.endpoint,
        bucket: rgw.bucket,
        region: rgw.region,
        accessKeyId: rgw.accessKeyId,
        secretAccessKey: rgw.secretAccessKey,
      },
    });
    try {
      const key = capped.createApiKey();
      const user = capped.createUser({ email: 'y@example.com' }).id;
      const upload = async () => {
        const cfg = await mkdtemp(join(dir, 'cfg-'));
        return runCli(['upload', xml, '--user', user, '--json'], {
          env: { APPLE_IMPORT_CONFIG_DIR: cfg, APPLE_IMPORT_SERVER: capped.url, APPLE_IMPORT_API_KEY: key },
        });
      };
      // /openapi.json says 300000 (the maximum of max_file_size): planned for it from the start.
      const r = await upload();
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.maxPartSize, 300_000);
      assert.equal(doc.replannedForServerCap, undefined);
      assert.ok(doc.parts.length > 1);
      assert.ok(doc.parts.every((p: { bytes: number }) => p.bytes <= 300_000));
      assert.doesNotMatch(r.stderr, /planning the parts again/);
      // Without the document, the first presign's refusal states the cap.
      capped.faults.next(1, { status: 404, body: { detail: 'Not Found' } }, { path: /^\/openapi\.json$/ });
      const blind = await upload();
      assert.equal(blind.code, 0, blind.stderr);
      assert.equal(JSON.parse(blind.stdout).replannedForServerCap, 300_000);
      assert.match(blind.stderr, /planning the parts again/);
    } finally {
      await capped.close();
    }
  });

  it('--dry-run prints the plan and sends nothing; s3 refuses filters', async () => {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const before = backend.state.presigns.length;
    const r = await runCli(['upload', xml, '--user', userId, '--dry-run', '--max-part-size', '400000'], {
      env: env(cfg),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /part 1\/\d+ {2}apple-import-[0-9a-f]{8}-[0-9a-f]+-p01\.xml/);
    assert.equal(backend.state.presigns.length, before);
    const f = await runCli(['upload', xml, '--user', userId, '--since', '2024-01-01'], { env: env(cfg) });
    assert.equal(f.code, 2);
    assert.match(f.stderr, /only apply to --method direct/);
  });

  it('without credentials: exit 4; unknown user: exit 2, also when the file is missing; missing file: exit 3', async () => {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    const r = await runCli(['upload', xml, '--user', userId], {
      env: { APPLE_IMPORT_CONFIG_DIR: cfg, APPLE_IMPORT_SERVER: backend.url },
    });
    assert.equal(r.code, 4);
    assert.match(r.stderr, /apple-import login/);
    const u = await runCli(['upload', xml, '--user', '00000000-0000-4000-8000-000000000000'], {
      env: env(cfg),
    });
    assert.equal(u.code, 2, u.stderr);
    assert.match(u.stderr, /does not exist/);
    // The user check and the look at the file run side by side; the user's verdict still comes first.
    const missing = join(dir, 'missing.xml');
    const both = await runCli(['upload', missing, '--user', '00000000-0000-4000-8000-000000000000'], {
      env: env(cfg),
    });
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /does not exist/);
    assert.doesNotMatch(both.stderr, /no such file/);
    const f = await runCli(['upload', missing, '--user', userId], { env: env(cfg) });
    assert.equal(f.code, 3, f.stderr);
    assert.match(f.stderr, /no such file or folder/);
  });
});

describe('upload fault handling (fake S3 + backend double faults)', () => {
  let s3: FakeS3;
  let backend: BackendDouble;
  let dir: string;
  let xml: string;
  let apiKey: string;
  let userId: string;
  let repaired: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upload-fault-'));
    xml = join(dir, 'export.xml');
    await writeExportFile(xml, { ...GEN, days: 2 });
    repaired = await repairedOf(xml);
    s3 = await startFakeS3();
    backend = await startBackendDouble({
      // The presigned POST path: a server before August 2026 (a current one advertises multipart instead).
      generation: '2026-08',
      s3: s3SettingsFor(s3),
    });
    apiKey = backend.createApiKey();
    userId = backend.createUser({ email: 'f@example.com' }).id;
  });
  after(async () => {
    await backend?.close();
    await s3?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function upload(
    extra: string[] = [],
    opts: { clock?: Clock; signal?: AbortSignal; cfg?: string } = {},
  ) {
    const cfg = opts.cfg ?? (await mkdtemp(join(dir, 'cfg-')));
    const r = await runCli(['upload', xml, '--user', userId, '--json', '--stall-timeout', '0.5', ...extra], {
      env: { APPLE_IMPORT_CONFIG_DIR: cfg, APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_API_KEY: apiKey },
      clock: opts.clock ?? fastClock(),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return { ...r, cfg };
  }

  function assertStoredOnce(doc: { parts: { fileKey: string }[] }) {
    assert.equal(doc.parts.length, 1);
    const keys = [...s3.stored.keys()].filter((k) => k === doc.parts[0]!.fileKey);
    assert.equal(keys.length, 1);
    assert.ok(s3.stored.get(doc.parts[0]!.fileKey)!.equals(repaired));
  }

  const cases: { name: string; setup: () => void; attempts: number }[] = [
    {
      name: 'connection dropped mid-body',
      setup: () => s3.script({ kind: 'drop', afterBytes: 200_000 }),
      attempts: 2,
    },
    {
      name: '503 then success',
      setup: () => s3.script({ kind: 'status', status: 503, body: s3Error('ServiceUnavailable') }),
      attempts: 2,
    },
    {
      name: 'stalled S3 (timeout) then success',
      setup: () => s3.script({ kind: 'stall', read: false }),
      attempts: 2,
    },
    {
      name: 'policy expired between presign and upload',
      setup: () =>
        s3.script({ kind: 'status', status: 403, body: s3Error('AccessDenied', 'Policy expired') }),
      attempts: 2,
    },
    {
      name: 'presign 500 then success',
      setup: () => backend.faults.next(1, { status: 500, body: 'Internal Server Error' }, { path: /\/s3$/ }),
      attempts: 2,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: retried with a fresh presign, stored once`, async () => {
      const presigns = backend.state.presigns.length;
      c.setup();
      const r = await upload();
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.parts[0].attempts, c.attempts);
      assert.match(r.stderr, /retrying in/);
      assertStoredOnce(doc);
      // Every attempt that reached S3 had its own presign.
      assert.ok(backend.state.presigns.length - presigns >= 1);
    });
  }

  it('429 with Retry-After is honoured', async () => {
    s3.script({ kind: 'status', status: 429, body: s3Error('SlowDown'), headers: { 'retry-after': '7' } });
    const clock = fastClock();
    const r = await upload([], { clock });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(clock.sleeps.includes(7000), `sleeps: ${clock.sleeps}`);
  });

  it('EntityTooLarge fails fast with an explanation, exit 1', async () => {
    const before = s3.requests.length;
    s3.script({ kind: 'status', status: 400, body: s3Error('EntityTooLarge') });
    const r = await upload();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /EntityTooLarge/);
    assert.match(r.stderr, /larger than the presigned policy allows/);
    assert.equal(s3.requests.length - before, 1);
    assert.deepEqual(errorDocument(r.stdout), {
      code: 'S3_UPLOAD_FAILED',
      exitCode: 1,
      message: 'Uploading part 1 failed: S3 rejected the upload (400): EntityTooLarge',
      hint: 'the file is larger than the presigned policy allows',
    });
  });

  it('gives up after bounded attempts with a clear error, never hangs', async () => {
    const down = { kind: 'status', status: 503, body: s3Error('ServiceUnavailable') } as const;
    s3.script(down, down, down, down, down);
    const clock = fastClock();
    const r = await upload([], { clock });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /after 5 attempts/);
    assert.equal(clock.sleeps.length, 4);
  });

  it('Ctrl-C aborts the in-flight request: exit 130, ledger consistent, completed parts listed', async () => {
    // Parts 1 succeeds, part 2 stalls until we abort.
    s3.script({ kind: 'ok' }, { kind: 'stall', read: true });
    const ac = new AbortController();
    const watcher = setInterval(() => {
      if (
        s3.requests.filter((q) => q.outcome === 'stall').length > 0 &&
        s3.requests.at(-1)?.outcome === 'stall'
      )
        ac.abort();
    }, 20);
    const r = await upload(['--max-part-size', '300000', '--stall-timeout', '30'], { signal: ac.signal });
    clearInterval(watcher);
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /Completed before stopping: 1 of \d+ part/);
    // The first Ctrl-C says what happens next; the last lines say what was done and how to go on.
    assert.match(
      r.stderr,
      /^warning: Stopping: the part being sent is abandoned; the parts stored so far are kept/m,
    );
    assert.match(
      r.stderr,
      /\nInterrupted: 1 of \d+ parts stored\.\nResume with: apple-import upload \S+ --user \S+ .*--max-part-size 300000 --stall-timeout 30\n$/,
    );
    const ledgerDir = join(r.cfg, 'ledger');
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(ledgerDir)).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 1);
    const entry = JSON.parse(await readFile(join(ledgerDir, files[0]!), 'utf8'));
    assert.equal(entry.parts.length, 1);
    assert.equal(entry.completedAt, null);

    // The same command again resumes: only the missing parts are sent, under the same keys.
    const again = await upload(['--max-part-size', '300000'], { cfg: r.cfg });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /Resuming: 1 of/);
    const doc = JSON.parse(again.stdout);
    assert.equal(doc.parts[0].resumed, true);
    assert.equal(doc.parts[0].fileKey, entry.parts[0].fileKey);
    assert.ok(doc.parts.slice(1).every((p: { resumed: boolean }) => !p.resumed));
  });
});
