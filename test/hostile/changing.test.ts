/**
 * An export that changes while it is uploaded (still being copied, or replaced by a newer export):
 * INPUT_CHANGED, exit 3, from the source's own checks (its size, modification time and inode when a
 * read starts and before its last chunk), for the S3 upload in one part or several, and for direct.
 *
 * The change lands while the backend holds a request (presign or batch) for 300 ms, so it happens
 * after the CLI planned the upload and before it reads the bytes it sends next. The CLI runs in a child
 * process, whose peak RSS is held to 150 MB.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, open, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import type { Radosgw } from '../helpers/radosgw.js';
import { type S3Backend, s3SettingsOf, startS3Backend } from '../helpers/s3-backend.js';
import { assertJsonStdout, type ChildRun, runChild } from './helpers.js';

/** The modification time every copy of the export is given before the CLI opens it, in seconds. */
const STAMP = 1_700_000_000;

describe('an export that changes while it is uploaded', () => {
  let s3: S3Backend | undefined;
  let rgw: Radosgw;
  let backend: BackendDouble;
  let dir: string;
  let original: Buffer;
  let apiKey: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-changing-'));
    const file = join(dir, 'export.xml');
    await writeExportFile(file, { days: 4, seed: 9 });
    original = await readFile(file);
    // The presigned POST path (a server before August 2026); the multipart case has a current double.
    s3 = await startS3Backend({}, { generation: '2026-08' });
    ({ rgw, backend } = s3);
    apiKey = backend.createApiKey();
  });
  after(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /**
   * Runs the CLI on a fresh copy of the export; when the `nth` request matching `path` reaches the
   * backend (held there 300 ms), `change` acts on the file.
   */
  async function uploadWhileChanging(
    args: string[],
    path: RegExp,
    nth: number,
    change: (file: string) => Promise<void>,
    on: { backend: BackendDouble; apiKey: string; bytes: Buffer } = { backend, apiKey, bytes: original },
  ) {
    const { backend, apiKey } = on;
    const file = join(dir, `export-${Math.random().toString(16).slice(2)}.xml`);
    await writeFile(file, on.bytes);
    // A whole second: a change that puts the time back (the rewrite in place below) restores it exactly.
    await utimes(file, STAMP, STAMP);
    const user = backend.createUser({ email: `${Math.random().toString(16).slice(2)}@example.com` }).id;
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    backend.faults.delay(300, { method: 'POST', path });
    const seen = () => backend.state.requests.filter((r) => r.method === 'POST' && path.test(r.path)).length;
    const base = seen();
    let changed = false;
    const watcher = (async () => {
      while (!changed) {
        if (seen() >= base + nth) {
          await change(file);
          changed = true;
        }
        await delay(5);
      }
    })();
    const r = await runChild(['upload', file, '--user', user, ...args, '--json'], {
      env: { APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_API_KEY: apiKey, APPLE_IMPORT_CONFIG_DIR: cfg },
    });
    changed = true;
    await watcher;
    backend.faults.clear();
    return { r, user, file };
  }

  function assertChanged(r: ChildRun, why: RegExp): void {
    assert.equal(r.code, 3, r.stderr);
    const first = r.stderr.split('\n').find((l) => l.startsWith('error: ')) ?? '';
    assert.match(first, /^error: .*export-[0-9a-f]+\.xml changed while it was being (read|uploaded)/);
    assert.match(r.stderr, why);
    assert.doesNotMatch(r.stderr, /longer than planned|unexpected error/);
    assertJsonStdout(r.stdout, 'INPUT_CHANGED');
    assert.ok(r.peakRssMiB > 0 && r.peakRssMiB <= 150, `peak RSS ${r.peakRssMiB} MiB`);
  }

  const presign = /\/import\/apple\/xml\/s3$/;

  it('S3, one part: a file that grows or is replaced before its bytes are sent; S3 keeps nothing', async () => {
    const cases: [string, (f: string) => Promise<void>, RegExp][] = [
      ['grows', (f) => appendFile(f, ' <Record type="x"/>\n'), /its size went from \d+ to \d+ bytes/],
      [
        'replaced',
        async (f) => {
          await writeFile(`${f}.new`, original);
          await rename(`${f}.new`, f);
        },
        /replaced by another file/,
      ],
    ];
    for (const [label, change, why] of cases) {
      const { r, user } = await uploadWhileChanging([], presign, 1, change);
      assertChanged(r, why);
      assert.deepEqual(await rgw.listKeys(`${user}/`), [], `${label}: nothing stored`);
    }
  });

  it('S3, several parts: a file that grows between parts is INPUT_CHANGED (was: exit 1, "the part was longer than planned")', async () => {
    const { r, user, file } = await uploadWhileChanging(
      ['--max-part-size', String(Math.ceil(original.length / 3))],
      presign,
      2,
      (f) => appendFile(f, '\n'.repeat(5000)),
    );
    assertChanged(r, /its size went from \d+ to \d+ bytes/);
    assert.ok((await stat(file)).size > original.length);
    // The first part was stored before the change; the part being sent when it came is not.
    const keys = await rgw.listKeys(`${user}/`);
    assert.ok(keys.length <= 1, keys.join(', '));
  });

  it('S3 multipart (current backend): a file that grows while the parts go up is INPUT_CHANGED; the upload is aborted, nothing imported', async () => {
    const current = await startBackendDouble({ partSize: 5 * 1024 * 1024, s3: s3SettingsOf(rgw) });
    try {
      const big = join(dir, 'big.xml');
      await writeExportFile(big, { days: 24, seed: 4 });
      const bytes = await readFile(big);
      assert.ok(bytes.length > 10 * 1024 * 1024, `export too small: ${bytes.length}`);
      const { r, user } = await uploadWhileChanging(
        [],
        /\/s3\/multipart\/sign$/,
        1,
        (f) => appendFile(f, '\n'.repeat(5000)),
        { backend: current, apiKey: current.createApiKey(), bytes },
      );
      assertChanged(r, /its size went from \d+ to \d+ bytes/);
      assert.equal(current.state.multipartUploads.at(-1)?.aborted, true);
      assert.equal(current.state.multipartUploads.at(-1)?.completed, undefined);
      await current.idle();
      assert.equal(current.state.s3Imports.length, 0);
      assert.deepEqual(await rgw.listKeys(`${user}/`), []);
    } finally {
      await current.close();
    }
  });

  it('direct: a file that grows while batches are sent ends with INPUT_CHANGED, exit 3', async () => {
    const { r } = await uploadWhileChanging(
      ['--method', 'direct', '--batch-records', '500'],
      /\/import\/apple\/xml\/direct$/,
      1,
      (f) => appendFile(f, ' <Record type="x"/>\n'),
    );
    assertChanged(r, /its size went from \d+ to \d+ bytes/);
  });

  it('direct and sdk: an export rewritten in place after the check (same size and time) is INPUT_CHANGED saying what had been sent (sdk said "what came before it was sent")', async (t) => {
    const big = join(dir, 'rewritten.xml');
    await writeExportFile(big, { days: 12, seed: 6 });
    const bytes = await readFile(big);
    const end = bytes.lastIndexOf('</HealthData>');
    const routes: [string, RegExp][] = [
      ['direct', /\/import\/apple\/xml\/direct$/],
      ['sdk', /\/sdk\/users\/[^/]+\/sync$/],
    ];
    for (const [method, route] of routes) {
      const { r } = await uploadWhileChanging(
        ['--method', method, '--batch-records', '2000'],
        route,
        1,
        async (f) => {
          // The end tag no longer matches the root, and nothing the source watches shows it.
          const fh = await open(f, 'r+');
          await fh.write(Buffer.from('</HealthDatx>'), 0, 13, end);
          await fh.close();
          await utimes(f, STAMP, STAMP);
        },
        { backend, apiKey, bytes },
      );
      assertChanged(
        r,
        /\n?error: .* changed while it was being uploaded: it was whole when checked, and is now not well-formed at line \d+:\d+ \(.+\); [\d,]+ (batch|batches) with [\d,]+ records? had been sent before it\.\n/,
      );
      assert.doesNotMatch(r.stderr, /what came before it was sent/, `${method}: ${r.stderr}`);
      t.diagnostic(`${method}: ${r.stderr.split('\n').find((l) => l.startsWith('error: '))}`);
    }
  });
});
