/**
 * Complete exports that are hostile inside — entity bombs, an external entity, 10^6-deep nesting, a
 * 100 MB attribute, 200 MB and 600 MB text nodes, invalid UTF-8, a root in a foreign namespace —
 * through validate, upload (S3 multipart, a current backend over radosgw), upload --method direct and
 * --method sdk, each in a child process: the real reason (never "truncated": each file ends with its
 * root's end tag), exit 3, one JSON document, nothing sent to the backend, peak RSS ≤ 150 MB.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import type { Radosgw } from '../helpers/radosgw.js';
import { type S3Backend, s3SettingsOf, startS3Backend } from '../helpers/s3-backend.js';
import { assertNothingSent, assertRefused, backendTraffic, runChild } from './helpers.js';
import { type HostileXml, writeHostileXml } from './xml-fixtures.js';

const MAX_RSS_MIB = 150;

describe('complete exports that are hostile inside', () => {
  let s3: S3Backend | undefined;
  let rgw: Radosgw;
  let backend: BackendDouble;
  let dir: string;
  let env: Record<string, string>;
  let userId: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-malformed-'));
    // A current backend: the S3 upload is multipart.
    s3 = await startS3Backend();
    ({ rgw, backend } = s3);
    userId = backend.createUser({ email: 'dana@example.com' }).id;
    env = { APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_API_KEY: backend.createApiKey() };
  });
  after(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function cfg(): Promise<Record<string, string>> {
    return { ...env, APPLE_IMPORT_CONFIG_DIR: await mkdtemp(join(dir, 'cfg-')) };
  }

  function assertBounded(t: TestContext, label: string, rss: number): void {
    t.diagnostic(`${label}: peak RSS ${rss} MiB`);
    assert.ok(rss > 0 && rss <= MAX_RSS_MIB, `${label}: peak RSS ${rss} MiB`);
  }

  /**
   * The S3 upload checks the export while its parts go up (a multipart upload is begun for an export
   * larger than one part): what it may have begun it aborts, and it completes nothing.
   */
  function assertNothingImported(before: ReturnType<typeof backendTraffic>): void {
    const after = backendTraffic(backend);
    const writes = after.writes.slice(before.writes.length);
    assert.ok(
      writes.every((w) => /\/s3\/multipart\/(create|sign|abort)$/.test(w)),
      `only a multipart upload begun and aborted: ${writes.join(', ')}`,
    );
    assert.equal(
      writes.some((w) => w.endsWith('/create')),
      writes.some((w) => w.endsWith('/abort')),
    );
    assert.deepEqual(
      backend.state.multipartUploads.filter((u) => u.completed !== undefined || !u.aborted),
      [],
      'every multipart upload aborted, none completed',
    );
  }

  /**
   * validate --json reports `reason` first and exits 3; every upload method refuses with `code` and
   * a first line matching `reason` before it sends anything.
   */
  async function refusedEverywhere(
    t: TestContext,
    name: string,
    spec: HostileXml,
    code: string,
    reason: RegExp,
    methods: string[] = ['s3', 'direct', 'sdk'],
  ): Promise<void> {
    const path = join(dir, `${name}.xml`);
    await writeHostileXml(path, spec);
    try {
      const v = await runChild(['validate', path, '--json'], { env: await cfg() });
      assert.equal(v.code, 3, v.stderr);
      const report = JSON.parse(v.stdout) as {
        verdict: string;
        reasons: string[];
        warnings: string[];
        truncated: boolean;
      };
      assert.equal(report.verdict, 'invalid');
      assert.match(report.reasons[0] ?? '', reason, report.reasons.join('\n'));
      assert.equal(report.truncated, false, 'the file ends with its root’s end tag');
      assert.doesNotMatch([...report.reasons, ...report.warnings, v.stderr].join('\n'), /truncated/i);
      assertBounded(t, `${name}: validate`, v.peakRssMiB);

      for (const method of methods) {
        const before = backendTraffic(backend);
        const r = await runChild(['upload', path, '--user', userId, '--method', method, '--json'], {
          env: await cfg(),
        });
        assertRefused(r, 3, code, new RegExp(`^error: .*${name}\\.xml.*${reason.source.replace(/^\^/, '')}`));
        assert.doesNotMatch(r.stderr, /truncated|what came before it was sent/i, r.stderr);
        if (method === 's3') assertNothingImported(before);
        else assertNothingSent(backend, before);
        assertBounded(t, `${name}: upload --method ${method}`, r.peakRssMiB);
      }
      await backend.idle();
      assert.equal(backend.state.s3Imports.length, 0, 'no import');
      assert.deepEqual(await rgw.listKeys(`${userId}/`), [], 'nothing stored');
    } finally {
      await rm(path, { force: true });
    }
  }

  it('billion laughs (nested internal entities): an undeclared entity, never expanded', async (t) => {
    await refusedEverywhere(
      t,
      'laughs',
      { kind: 'billion-laughs' },
      'INPUT_INVALID',
      /undeclared entity "&lol9;"/,
    );
  });

  it('XXE (an external entity): an undeclared entity, the file is never read', async (t) => {
    await refusedEverywhere(t, 'xxe', { kind: 'xxe' }, 'INPUT_INVALID', /undeclared entity "&xxe;"/);
  });

  it('10^6-deep nesting: nested too deep', async (t) => {
    await refusedEverywhere(
      t,
      'deep',
      { kind: 'deep', levels: 1_000_000 },
      'INPUT_INVALID',
      /nested deeper than/,
    );
  });

  it('a 100 MB attribute: an element past the size limit', async (t) => {
    await refusedEverywhere(
      t,
      'attribute',
      { kind: 'attribute', bytes: 100e6 },
      'INPUT_INVALID',
      /element larger than/,
    );
  });

  it('a 200 MB text node: an element past the size limit', async (t) => {
    await refusedEverywhere(
      t,
      'text200',
      { kind: 'text', bytes: 200e6 },
      'INPUT_INVALID',
      /element larger than/,
    );
  });

  it('a 600 MB text node, direct: refused in bounded memory (was 696 MB)', async (t) => {
    await refusedEverywhere(
      t,
      'text600',
      { kind: 'text', bytes: 600e6 },
      'INPUT_INVALID',
      /element larger than/,
      ['direct'],
    );
  });

  it('invalid UTF-8 in a complete file: the byte, not "truncated"', async (t) => {
    await refusedEverywhere(t, 'utf8', { kind: 'invalid-utf8' }, 'INPUT_INVALID', /not UTF-8: byte 0xc3/);
  });

  it('a root in a foreign default namespace: refused by every method (S3 used to upload it)', async (t) => {
    await refusedEverywhere(
      t,
      'namespace',
      { kind: 'foreign-namespace' },
      'INPUT_INVALID',
      /in the namespace "urn:example:other"/,
    );
  });

  it('a root in a foreign default namespace through a presigned-POST server (before August 2026): refused, nothing stored', async (t) => {
    const post = await startBackendDouble({ generation: '2026-08', s3: s3SettingsOf(rgw) });
    const path = join(dir, 'namespace-post.xml');
    try {
      await writeHostileXml(path, { kind: 'foreign-namespace' });
      const user = post.createUser({ email: 'ns@example.com' }).id;
      const r = await runChild(['upload', path, '--user', user, '--json'], {
        env: { ...(await cfg()), APPLE_IMPORT_SERVER: post.url, APPLE_IMPORT_API_KEY: post.createApiKey() },
      });
      assertRefused(
        r,
        3,
        'INPUT_INVALID',
        /^error: .*namespace-post\.xml.*in the namespace "urn:example:other"/,
      );
      assertBounded(t, 'namespace: upload (presigned POST)', r.peakRssMiB);
      await post.idle();
      assert.equal(post.state.s3Imports.length, 0, 'no import');
      assert.equal(post.state.presigns.length, 0, 'refused before a URL was asked for');
      assert.deepEqual(await rgw.listKeys(`${user}/`), [], 'nothing stored');
    } finally {
      await post.close();
      await rm(path, { force: true });
    }
  });

  it('whitespace between elements never counts against a part: a split export uploads (was: "the element at byte N (430 bytes) cannot fit")', async (t) => {
    // The 10 GiB export against a 1 GiB part, in small: runs of whitespace each longer than a
    // part (presigned POSTs, a server before August 2026), after the header, between records, before the end.
    const post = await startBackendDouble({ generation: '2026-08', s3: s3SettingsOf(rgw) });
    try {
      const plain = join(dir, 'plain.xml');
      await writeExportFile(plain, { days: 2, seed: 3 });
      const buf = await readFile(plain);
      const cap = 200_000;
      const gap = Buffer.alloc(cap + 1000, 0x20);
      const first = buf.indexOf('<Record');
      const mid = buf.indexOf('<Record', Math.floor(buf.length / 2));
      const end = buf.lastIndexOf('</HealthData>');
      const path = join(dir, 'spaced.xml');
      await writeFile(
        path,
        Buffer.concat([
          buf.subarray(0, first),
          gap,
          buf.subarray(first, mid),
          gap,
          gap,
          buf.subarray(mid, end),
          gap,
          buf.subarray(end),
        ]),
      );
      const user = post.createUser({ email: 'spaced@example.com' }).id;
      const r = await runChild(['upload', path, '--user', user, '--max-part-size', String(cap), '--json'], {
        env: { ...(await cfg()), APPLE_IMPORT_SERVER: post.url, APPLE_IMPORT_API_KEY: post.createApiKey() },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /cannot fit/);
      assertBounded(t, 'spaced: upload', r.peakRssMiB);
      const doc = JSON.parse(r.stdout) as { parts: { fileKey: string }[] };
      assert.ok(doc.parts.length > 1, `${doc.parts.length} part(s)`);
      for (const part of doc.parts) {
        const stored = await rgw.getObject(part.fileKey);
        assert.ok(stored.length <= cap, `${part.fileKey}: ${stored.length} bytes`);
      }
      await rm(path, { force: true });
    } finally {
      await post.close();
    }
  });
});
