// `apple-import sandbox` in-process: it prints what a client needs, an S3 upload through it is stored and
// imported with sync events, and Ctrl-C (the run's AbortSignal) stops both servers.
import assert from 'node:assert/strict';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { SandboxInfo } from '../../src/sandbox/run-sandbox.js';
import { type RunningCli, runCli, startCli } from '../helpers/run-cli.js';

interface Running extends RunningCli {
  abort: () => void;
  exit: Promise<number>;
}

/** The shared streaming runCli, with its own Ctrl-C. */
function startSandboxCli(args: string[], env: Record<string, string> = {}): Running {
  const controller = new AbortController();
  const run = startCli(args, { env, signal: controller.signal });
  return { ...run, abort: () => controller.abort(), exit: run.done.then((r) => r.code) };
}

/** Polls until `probe` gives a value; the bound only keeps a broken build from hanging the suite. */
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function startJson(extra: string[] = []): Promise<{ run: Running; info: SandboxInfo }> {
  const run = startSandboxCli(['sandbox', '--json', ...extra]);
  const info = await until('the JSON document', () => {
    try {
      return JSON.parse(run.stdout()) as SandboxInfo;
    } catch {
      return undefined;
    }
  });
  return { run, info };
}

const EXPORT = `<?xml version="1.0" encoding="UTF-8"?>
<HealthData locale="en_US">
 <ExportDate value="2024-02-01 08:00:00 -0800"/>
 <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" startDate="2024-01-31 10:00:00 -0800" endDate="2024-01-31 10:00:00 -0800" value="61"/>
 <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" startDate="2024-01-31 10:05:00 -0800" endDate="2024-01-31 10:05:00 -0800" value="64"/>
 <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Phone" unit="count" startDate="2024-01-31 10:00:00 -0800" endDate="2024-01-31 10:10:00 -0800" value="420"/>
</HealthData>
`;

async function api(info: SandboxInfo, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${info.url}/api/v1${path}`, {
    ...init,
    headers: { 'x-open-wearables-api-key': info.api_key, ...(init.headers ?? {}) },
  });
}

/** What the CLI's s3 method does, by hand: presign, then the form with every field unchanged and the file last. */
async function uploadViaS3(info: SandboxInfo, userId: string, filename: string, body: string) {
  const presign = await api(info, `/users/${userId}/import/apple/xml/s3`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ filename, max_file_size: 1024 * 1024 }),
  });
  assert.equal(presign.status, 200);
  const { upload_url, form_fields, file_key } = (await presign.json()) as {
    upload_url: string;
    form_fields: Record<string, string>;
    file_key: string;
  };
  const form = new FormData();
  for (const [k, v] of Object.entries(form_fields)) form.append(k, v);
  form.append('file', new Blob([body], { type: 'application/xml' }), filename);
  const res = await fetch(upload_url, { method: 'POST', body: form });
  return { status: res.status, text: await res.text(), key: file_key, url: upload_url };
}

interface SyncEvent {
  stage: string;
  source: string;
  items_processed: number | null;
  error: string | null;
  metadata: { filename?: string };
}

async function recent(info: SandboxInfo, userId: string): Promise<SyncEvent[]> {
  const res = await api(info, `/users/${userId}/sync/recent`);
  assert.equal(res.status, 200);
  return (await res.json()) as SyncEvent[];
}

describe('apple-import sandbox', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('prints one JSON document with credentials that work, imports an S3 upload, stops on Ctrl-C', async () => {
    const { run, info } = await startJson();
    try {
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(info.api_key, /^sk-[0-9a-f]{32}$/);
      assert.equal(info.users.length, 2);
      assert.match(info.commands.env, new RegExp(`APPLE_IMPORT_SERVER=${info.url} APPLE_IMPORT_API_KEY=`));
      assert.match(info.commands.login, /apple-import login --server .* --email .* --password-stdin/);
      assert.equal(info.data_dir_kept, false);

      // The printed developer login and API key are accepted by the CLI itself.
      const configDir = await mkdtemp(join(tmpdir(), 'apple-import-sandbox-'));
      dirs.push(configDir);
      const env = { APPLE_IMPORT_CONFIG_DIR: configDir, APPLE_IMPORT_SERVER: info.url };
      const login = await runCli(['login', '--email', info.developer.email, '--password-stdin'], {
        env,
        stdin: `${info.developer.password}\n`,
      });
      assert.equal(login.code, 0, login.stderr);
      const users = await runCli(['users', '--json'], {
        env: { ...env, APPLE_IMPORT_API_KEY: info.api_key },
      });
      assert.equal(users.code, 0, users.stderr);
      const ids = (JSON.parse(users.stdout) as { id: string }[]).map((u) => u.id).sort();
      assert.deepEqual(ids, info.users.map((u) => u.id).sort());

      const user = info.users[0]!;
      const up = await uploadViaS3(info, user.id, 'sandbox-test.xml', EXPORT);
      assert.equal(up.status, 204, up.text);
      assert.ok(up.url.startsWith(info.s3.endpoint), 'presign points at the sandbox S3 endpoint');
      const stored = await fetch(`${info.s3.endpoint}/${info.s3.bucket}/${encodeURIComponent(up.key)}`);
      assert.equal(await stored.text(), EXPORT);

      const events = await until('the completed event', async () => {
        const list = await recent(info, user.id);
        return list.some((e) => e.stage === 'completed') ? list : undefined;
      });
      const stages = events.map((e) => e.stage).reverse();
      assert.deepEqual(stages, ['started', 'completed']);
      for (const e of events) {
        assert.equal(e.source, 'xml_import');
        assert.equal(e.metadata.filename, 'sandbox-test.xml');
      }
      assert.equal(events[0]?.items_processed, 3);
      assert.match(run.stderr(), /imported .*sandbox-test\.xml \(\d+ bytes, 3 items\)/);

      // A broken export: the import fails and says why, as the real task would.
      const bad = await uploadViaS3(info, user.id, 'broken.xml', '<HealthData><Record');
      assert.equal(bad.status, 204);
      const failed = await until('the failed event', async () =>
        (await recent(info, user.id)).find((e) => e.stage === 'failed'),
      );
      assert.equal(failed.metadata.filename, 'broken.xml');
      assert.match(failed.error ?? '', /line \d+, column \d+/);

      // A policy violation at the sandbox's S3 is refused like S3 would.
      const tooBig = await uploadViaS3(info, user.id, 'big.xml', 'x'.repeat(1024 * 1024 + 1));
      assert.equal(tooBig.status, 400);
      assert.match(tooBig.text, /<Code>EntityTooLarge<\/Code>/);
    } finally {
      run.abort();
    }
    assert.equal(await run.exit, 130);
    assert.match(run.stderr(), /Stopping the sandbox/);
    await assert.rejects(fetch(`${info.url}/api/v1/users`), 'backend is closed');
    await assert.rejects(access(info.data_dir), 'temp data dir removed');
  });

  it('prints the URL, credentials and ready-to-paste commands on stderr without --json', async () => {
    const run = startSandboxCli(['sandbox']);
    const text = await until('the banner', () =>
      /Press Ctrl-C/.test(run.stderr()) ? run.stderr() : undefined,
    );
    run.abort();
    assert.equal(await run.exit, 130);
    assert.equal(run.stdout(), '');
    assert.match(text, /Sandbox backend http:\/\/127\.0\.0\.1:\d+/);
    assert.match(text, /API key +sk-[0-9a-f]{32}/);
    assert.match(text, /developer login +developer@sandbox\.local \/ \S+/);
    assert.equal(text.match(/^ {2}user +[0-9a-f-]{36} {2}\S+@example\.com/gm)?.length, 2);
    assert.match(text, /export APPLE_IMPORT_SERVER=http:\/\/127\.0\.0\.1:\d+ APPLE_IMPORT_API_KEY=sk-/);
    assert.match(
      text,
      /\| apple-import login --server http:\/\/127\.0\.0\.1:\d+ --email \S+ --password-stdin/,
    );
  });

  it('keeps objects in --data-dir after it stops', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'apple-import-sandbox-data-'));
    dirs.push(dataDir);
    const { run, info } = await startJson(['--data-dir', dataDir]);
    try {
      assert.equal(info.data_dir, dataDir);
      assert.equal(info.data_dir_kept, true);
      const up = await uploadViaS3(info, info.users[1]!.id, 'kept.xml', EXPORT);
      assert.equal(up.status, 204);
      await until('the import', async () =>
        (await recent(info, info.users[1]!.id)).some((e) => e.stage === 'completed') ? true : undefined,
      );
    } finally {
      run.abort();
    }
    assert.equal(await run.exit, 130);
    const objects = await readdir(join(dataDir, 'objects'));
    assert.equal(objects.length, 2, 'the object and its metadata');
  });

  it('rejects a bad port as a usage error', async () => {
    const r = await runCli(['sandbox', '--port', 'http']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port must be a port number/);
  });
});
