/**
 * UTF-16 exports with a BOM (issue 14), which the backend's parser reads: validate, the S3 upload and
 * the direct upload see the same document as for its UTF-8 twin, and S3 stores UTF-8 whose XML
 * declaration says so — byte for byte what the UTF-8 twin stores.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { writeExportFile } from '../../src/generator/index.js';
import type { BackendDouble } from '../../src/sandbox/backend/index.js';
import type { Radosgw } from '../helpers/radosgw.js';
import { runCli } from '../helpers/run-cli.js';
import { type S3Backend, startS3Backend } from '../helpers/s3-backend.js';
import { writeZipFile } from '../helpers/zip.js';

const run = promisify(execFile);

function toUtf16(utf8: Buffer, encoding: 'utf-16le' | 'utf-16be'): Buffer {
  const text = `\uFEFF${utf8.toString('utf8').replace('encoding="UTF-8"', 'encoding="UTF-16"')}`;
  const le = Buffer.from(text, 'utf16le');
  if (encoding === 'utf-16be') le.swap16();
  return le;
}

/** Everything validate reports about the content, without where it came from or how long it took. */
function content(report: Record<string, unknown>): unknown {
  const { input: _input, elapsedMs: _e, throughput: _t, reader: _r, timing: _ti, ...rest } = report;
  return JSON.parse(JSON.stringify(rest, (k, v) => (/Ms$|MiBps$|seconds$/i.test(k) ? undefined : v)));
}

describe('UTF-16 exports are read and sent as UTF-8', () => {
  let s3: S3Backend | undefined;
  let rgw: Radosgw;
  let backend: BackendDouble;
  let dir: string;
  let utf8Path: string;
  let utf8: Buffer;
  let env: (cfg: string) => Record<string, string>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-utf16-'));
    utf8Path = join(dir, 'export.xml');
    // The generator's source names include emoji: surrogate pairs in UTF-16.
    await writeExportFile(utf8Path, { days: 3, seed: 21 });
    utf8 = await readFile(utf8Path);
    assert.match(utf8.toString('utf8'), /\p{Extended_Pictographic}/u);
    // The presigned POST path, whose body is checked while it is sent (a server before August 2026).
    s3 = await startS3Backend({}, { generation: '2026-08' });
    ({ rgw, backend } = s3);
    const key = backend.createApiKey();
    env = (cfg) => ({
      APPLE_IMPORT_SERVER: backend.url,
      APPLE_IMPORT_API_KEY: key,
      APPLE_IMPORT_CONFIG_DIR: cfg,
    });
  });
  after(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const encoding of ['utf-16le', 'utf-16be'] as const) {
    it(`${encoding} with a BOM: validate, upload and upload --method direct agree with its UTF-8 twin`, async () => {
      const path = join(dir, `export-${encoding}.xml`);
      await writeFile(path, toUtf16(utf8, encoding));
      const cfg = () => mkdtemp(join(dir, 'cfg-'));

      const want = await runCli(['validate', utf8Path, '--json'], { env: env(await cfg()) });
      const got = await runCli(['validate', path, '--json'], { env: env(await cfg()) });
      assert.equal(want.code, 0, want.stderr);
      assert.equal(got.code, 0, got.stderr);
      const report = JSON.parse(got.stdout);
      assert.equal(report.input.size, utf8.length, 'the UTF-8 size, known before the scan');
      assert.deepEqual(content(report), content(JSON.parse(want.stdout)));

      const user = backend.createUser({ email: `${encoding}@example.com` }).id;
      const twin = backend.createUser({ email: `${encoding}-twin@example.com` }).id;
      const sent = await runCli(['upload', path, '--user', user, '--json'], { env: env(await cfg()) });
      const sentTwin = await runCli(['upload', utf8Path, '--user', twin, '--json'], {
        env: env(await cfg()),
      });
      assert.equal(sent.code, 0, sent.stderr);
      assert.equal(sentTwin.code, 0, sentTwin.stderr);
      const doc = JSON.parse(sent.stdout);
      const stored = await rgw.getObject(doc.parts[0].fileKey);
      const storedTwin = await rgw.getObject(JSON.parse(sentTwin.stdout).parts[0].fileKey);
      assert.equal(doc.bytes, stored.length, 'the size announced before the upload is the size sent');
      assert.ok(stored.equals(storedTwin), 'byte for byte what its UTF-8 twin stores');
      assert.ok(
        stored.subarray(0, 40).toString('latin1').startsWith('<?xml version="1.0" encoding="UTF-8"?>'),
      );
      // The backend's parser (expat) reads what was stored.
      const file = join(dir, `stored-${encoding}.xml`);
      await writeFile(file, stored);
      const { stdout } = await run('python3', [
        '-c',
        'import sys,xml.etree.ElementTree as ET\nprint(sum(1 for _,e in ET.iterparse(sys.argv[1]) if e.tag=="Record"))',
        file,
      ]);
      assert.ok(Number(stdout) > 1000, `expat read ${stdout.trim()} records`);

      const direct = await runCli(['upload', path, '--user', user, '--method', 'direct', '--json'], {
        env: env(await cfg()),
      });
      const directTwin = await runCli(['upload', utf8Path, '--user', twin, '--method', 'direct', '--json'], {
        env: env(await cfg()),
      });
      assert.equal(direct.code, 0, direct.stderr);
      assert.equal(directTwin.code, 0, directTwin.stderr);
      assert.equal(JSON.parse(direct.stdout).records, JSON.parse(directTwin.stdout).records);
    });
  }

  it('a UTF-16 export.xml inside a zip validates like its UTF-8 twin', async () => {
    const zip = join(dir, 'utf16.zip');
    await writeZipFile(zip, [{ name: 'apple_health_export/export.xml', data: toUtf16(utf8, 'utf-16le') }]);
    const got = await runCli(['validate', zip, '--json'], { env: env(await mkdtemp(join(dir, 'cfg-'))) });
    const want = await runCli(['validate', utf8Path, '--json'], {
      env: env(await mkdtemp(join(dir, 'cfg-'))),
    });
    assert.equal(got.code, 0, got.stderr);
    assert.deepEqual(content(JSON.parse(got.stdout)), content(JSON.parse(want.stdout)));
  });
});
