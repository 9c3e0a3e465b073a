// `apple-import sandbox` in-process: it prints what a client needs, an S3 upload through it is stored and
// imported with sync events, and Ctrl-C (the run's AbortSignal) stops both servers.
import assert from 'node:assert/strict';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { SandboxInfo } from '../../src/sandbox/run-sandbox.js';
import { presignAndPost } from '../helpers/presigned-post.js';
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

/** `--port 0`: tests run in parallel, and port 8000 may be someone's. */
async function startJson(extra: string[] = []): Promise<{ run: Running; info: SandboxInfo }> {
  const run = startSandboxCli(['sandbox', '--json', '--port', '0', ...extra]);
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

/** The CLI's presigned-POST upload, by hand, with a 1 MiB policy cap. */
async function uploadViaS3(info: SandboxInfo, userId: string, filename: string, body: string) {
  const up = await presignAndPost(info.url, info.api_key, userId, filename, body, {
    maxFileSize: 1024 * 1024,
  });
  return { ...up, url: up.uploadUrl };
}

interface SyncEvent {
  stage: string;
  source: string;
  run_id: string;
  items_processed: number | null;
  error: string | null;
  metadata: { filename?: string; object_key?: string; bucket?: string };
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

  it('prints one JSON document with credentials that work, imports an S3 upload (sns mode), stops on Ctrl-C', async () => {
    const { run, info } = await startJson(['--completion-mode', 'sns']);
    try {
      assert.match(info.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(info.backend, {
        generation: 'current',
        completion_mode: 'sns',
        max_file_size: 5 * 1024 ** 3,
      });
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
        assert.deepEqual(e.metadata, { bucket: info.s3.bucket, object_key: up.key });
      }
      // A current backend's S3 events carry no counts; the data summary has them.
      const summary = (await (await api(info, `/users/${user.id}/summaries/data`)).json()) as {
        total_data_points: number;
      };
      assert.equal(summary.total_data_points, 3);
      await until('the import line on stderr', () =>
        /imported .*-sandbox-test\.xml \(\d+ bytes, 3 items\)/.test(run.stderr()) ? true : undefined,
      );

      // A broken export: the import fails and says why, as the real task would.
      const bad = await uploadViaS3(info, user.id, 'broken.xml', '<HealthData><Record');
      assert.equal(bad.status, 204);
      const failed = await until('the failed event', async () =>
        (await recent(info, user.id)).find((e) => e.stage === 'failed'),
      );
      assert.equal(failed.metadata.object_key, bad.key);
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

  it('prints the URL, credentials and ready-to-paste commands as data on stdout without --json', async () => {
    const run = startSandboxCli(['sandbox', '--port', '0']);
    await until('the banner', () => (/Press Ctrl-C/.test(run.stderr()) ? true : undefined));
    run.abort();
    assert.equal(await run.exit, 130);
    const text = run.stdout();
    assert.doesNotMatch(text, /Press Ctrl-C/, 'messages stay on stderr');
    assert.match(
      text,
      /Sandbox backend http:\/\/127\.0\.0\.1:\d+ {2}\(current backend, client completion; S3: /,
    );
    assert.match(text, /API key +sk-[0-9a-f]{32}/);
    assert.match(text, /developer login +developer@sandbox\.local \/ \S+/);
    assert.equal(text.match(/^ {2}user +[0-9a-f-]{36} {2}\S+@example\.com/gm)?.length, 2);
    assert.match(text, /export APPLE_IMPORT_SERVER=http:\/\/127\.0\.0\.1:\d+ APPLE_IMPORT_API_KEY=sk-/);
    assert.match(
      text,
      /\| apple-import login --server http:\/\/127\.0\.0\.1:\d+ --email \S+ --password-stdin/,
    );
  });

  it('--data-dir keeps objects, credentials, users and logins across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'apple-import-sandbox-data-'));
    dirs.push(dataDir);
    const first = await startJson(['--data-dir', dataDir]);
    const configDir = await mkdtemp(join(tmpdir(), 'apple-import-sandbox-cfg-'));
    dirs.push(configDir);
    let up: Awaited<ReturnType<typeof uploadViaS3>>;
    try {
      assert.equal(first.info.data_dir, dataDir);
      assert.equal(first.info.data_dir_kept, true);
      up = await uploadViaS3(first.info, first.info.users[1]!.id, 'kept.xml', EXPORT);
      assert.equal(up.status, 204);
      const login = await runCli(['login', '--email', first.info.developer.email, '--password-stdin'], {
        env: { APPLE_IMPORT_CONFIG_DIR: configDir, APPLE_IMPORT_SERVER: first.info.url },
        stdin: `${first.info.developer.password}\n`,
      });
      assert.equal(login.code, 0, login.stderr);
    } finally {
      first.run.abort();
    }
    assert.equal(await first.run.exit, 130);
    const objects = await readdir(join(dataDir, 'objects'));
    assert.equal(objects.length, 2, 'the object and its metadata');

    // The same port, so the saved login's server is this one again.
    const again = await startJson(['--data-dir', dataDir, '--port', new URL(first.info.url).port]);
    try {
      for (const field of ['api_key', 'developer', 'users'] as const) {
        assert.deepEqual(again.info[field], first.info[field], `${field} came back`);
      }
      // The saved login (its tokens, signed with the kept secret) works against the restarted sandbox.
      assert.equal(again.info.url, first.info.url);
      const whoami = await runCli(['whoami', '--server', again.info.url], {
        env: { APPLE_IMPORT_CONFIG_DIR: configDir },
      });
      assert.equal(whoami.code, 0, whoami.stderr);
      assert.match(whoami.stdout + whoami.stderr, new RegExp(first.info.developer.email));
      const me = await fetch(`${again.info.url}/api/v1/users/${again.info.users[0]!.id}`, {
        headers: { 'x-open-wearables-api-key': again.info.api_key },
      });
      assert.equal(me.status, 200, 'the kept API key and user');
      // The S3 credentials came back too: the stored object is still readable where it was.
      const stored = await fetch(
        `${again.info.s3.endpoint}/${again.info.s3.bucket}/${encodeURIComponent(up.key)}`,
      );
      assert.equal(await stored.text(), EXPORT);
    } finally {
      again.run.abort();
    }
    assert.equal(await again.run.exit, 130);
  });

  it('--help: port 8000 by default, the info block on stdout, --data-dir keeps data; nothing says it is all in memory', async () => {
    const r = await runCli(['sandbox', '--help']);
    assert.equal(r.code, 0, r.stderr);
    const help = r.stdout.replace(/\s+/g, ' ');
    assert.match(
      help,
      /--data-dir <dir> keep objects, accounts, the API key, users and logins in DIR across restarts/,
    );
    assert.match(help, /--port <port> backend port on 127\.0\.0\.1 \(default 8000 if free/);
    assert.match(help, /Prints the URL, a developer login, an API key and two user ids on stdout/);
    assert.match(help, /Without --data-dir everything is gone when it stops; with it, the same credentials/);
    assert.match(help, /2 if a port given with --port or --s3-port is in use/);
    assert.doesNotMatch(help, /in memory/i);
  });

  it('an explicit --port that is taken is a usage error with a --port hint, not an internal error', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const r = await runCli(['sandbox', '--port', String(port)]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`error: Port ${port} is already in use`));
      assert.match(r.stderr, /hint: .*--port 0 takes any free one/);
      assert.doesNotMatch(r.stderr, /unexpected|report it|at .*\.ts:\d+/i);
    } finally {
      blocker.close();
    }
  });

  it('--backend 2026-08 models the server before multipart: no multipart routes, 1 GiB cap', async () => {
    const { run, info } = await startJson(['--backend', '2026-08']);
    try {
      assert.deepEqual(info.backend, {
        generation: '2026-08',
        completion_mode: null,
        max_file_size: 1024 ** 3,
      });
      const doc = (await (await fetch(`${info.url}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
        components: {
          schemas: { PresignedURLRequest: { properties: { max_file_size: { maximum: number } } } };
        };
      };
      assert.equal(doc.components.schemas.PresignedURLRequest.properties.max_file_size.maximum, 1024 ** 3);
      assert.deepEqual(
        Object.keys(doc.paths).filter((p) => p.includes('multipart')),
        [],
      );
    } finally {
      run.abort();
    }
    assert.equal(await run.exit, 130);
    const mixed = await runCli(['sandbox', '--backend', '2026-08', '--completion-mode', 'sns']);
    assert.equal(mixed.code, 2);
    assert.match(mixed.stderr, /--completion-mode applies to --backend current only/);
    const unknown = await runCli(['sandbox', '--backend', '2025']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--backend must be current or 2026-08, not "2025"/);
  });

  it('rejects a bad port as a usage error', async () => {
    const r = await runCli(['sandbox', '--port', 'http']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port must be a port number/);
  });
});
