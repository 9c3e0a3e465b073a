/**
 * Exports that are not whole — cut short, or still being copied while the command runs — through
 * validate, upload (S3 multipart, a current backend over radosgw), upload --method direct and --method
 * sdk, each in a child process: exit 3, one JSON document, nothing imported (direct and sdk used to
 * send the batches before the cut), peak RSS ≤ 150 MB.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { writeExportFile } from '../../src/generator/index.js';
import type { BackendDouble } from '../../src/sandbox/backend/index.js';
import type { Radosgw } from '../helpers/radosgw.js';
import { type S3Backend, startS3Backend } from '../helpers/s3-backend.js';
import { assertRefused, backendTraffic, type ChildRun, runChild } from './helpers.js';

const MAX_RSS_MIB = 150;
const METHODS = ['s3', 'direct', 'sdk'];

describe('exports that are not whole', () => {
  let s3: S3Backend | undefined;
  let rgw: Radosgw;
  let backend: BackendDouble;
  let dir: string;
  let env: Record<string, string>;
  let userId: string;
  let whole: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-incomplete-'));
    s3 = await startS3Backend();
    ({ rgw, backend } = s3);
    userId = backend.createUser({ email: 'dana@example.com' }).id;
    env = { APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_API_KEY: backend.createApiKey() };
    const file = join(dir, 'export.xml');
    await writeExportFile(file, { days: 4, seed: 13 });
    whole = await readFile(file);
  });
  after(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function cfg(): Promise<Record<string, string>> {
    return { ...env, APPLE_IMPORT_CONFIG_DIR: await mkdtemp(join(dir, 'cfg-')) };
  }

  function assertBounded(t: TestContext, label: string, r: ChildRun): void {
    t.diagnostic(`${label}: peak RSS ${r.peakRssMiB} MiB`);
    assert.ok(r.peakRssMiB > 0 && r.peakRssMiB <= MAX_RSS_MIB, `${label}: peak RSS ${r.peakRssMiB} MiB`);
  }

  /** No batch, no presign, no object, no import; a multipart upload begun is aborted, none completed. */
  async function assertNothingImported(before: ReturnType<typeof backendTraffic>): Promise<void> {
    const after = backendTraffic(backend);
    assert.equal(after.direct, before.direct, 'no direct batch');
    assert.equal(after.presigns, before.presigns, 'no presigned POST');
    const writes = after.writes.slice(before.writes.length);
    assert.ok(
      writes.every((w) => /\/s3\/multipart\/(create|sign|abort)$/.test(w)),
      `only a multipart upload begun and aborted: ${writes.join(', ')}`,
    );
    assert.deepEqual(
      backend.state.multipartUploads.filter((u) => u.completed !== undefined || !u.aborted),
      [],
      'every multipart upload aborted, none completed',
    );
    assert.equal(backend.state.sdkBatches.length, 0, 'no sdk batch');
    await backend.idle();
    assert.equal(backend.state.s3Imports.length, 0, 'no import');
    assert.deepEqual(await rgw.listKeys(`${userId}/`), [], 'nothing stored');
  }

  it('a truncated export (cut inside a record): "truncated" from validate, refused by every method before anything is sent', async (t) => {
    const path = join(dir, 'cut.xml');
    // Past the middle, so a method that sent batches as it read would have sent several.
    await writeFile(path, whole.subarray(0, Math.floor(whole.length * 0.7) + 17));
    const v = await runChild(['validate', path, '--json'], { env: await cfg() });
    assert.equal(v.code, 3, v.stderr);
    const report = JSON.parse(v.stdout) as { verdict: string; reasons: string[]; truncated: boolean };
    assert.equal(report.verdict, 'invalid');
    assert.equal(report.truncated, true);
    assert.match(report.reasons[0] ?? '', /^the export is truncated \(no closing <\/HealthData>\)$/);
    assertBounded(t, 'validate', v);
    for (const method of METHODS) {
      const before = backendTraffic(backend);
      const r = await runChild(['upload', path, '--user', userId, '--method', method, '--json'], {
        env: await cfg(),
      });
      assertRefused(
        r,
        3,
        'INPUT_INVALID',
        /^error: .*cut\.xml cannot be uploaded: .*(truncated|end of input)/,
      );
      assert.doesNotMatch(r.stderr, /what came before it was sent|had been sent/);
      await assertNothingImported(before);
      assertBounded(t, `upload --method ${method}`, r);
    }
  });

  it('an export still being copied while the command runs: exit 3 (changed, or truncated), nothing sent', async (t) => {
    // The copy never reaches the root's end tag while the command runs: whatever moment the command
    // opens and checks the file, it is not whole.
    const body = whole.subarray(0, whole.lastIndexOf('</HealthData>'));
    const chunk = 16 * 1024;
    for (const args of [['validate'], ...METHODS.map((m) => ['upload', '--user', userId, '--method', m])]) {
      const path = join(dir, `copying-${args.at(-1)}.xml`);
      await writeFile(path, body.subarray(0, chunk * 4));
      let copying = true;
      const copier = (async () => {
        for (let at = chunk * 4; copying && at < body.length; at += chunk) {
          await appendFile(path, body.subarray(at, at + chunk));
          await delay(5);
        }
      })();
      const before = backendTraffic(backend);
      const [command, ...rest] = args as [string, ...string[]];
      const r = await runChild([command, path, ...rest, '--json'], { env: await cfg() });
      copying = false;
      await copier;
      assert.equal(r.code, 3, r.stderr);
      if (command === 'validate') {
        const doc = JSON.parse(r.stdout) as { error?: { code: string }; truncated?: boolean };
        assert.ok(
          doc.error?.code === 'INPUT_CHANGED' || doc.truncated === true,
          `changed or truncated: ${r.stdout.slice(0, 300)}`,
        );
      } else {
        const code = (JSON.parse(r.stdout) as { error: { code: string } }).error.code;
        assert.ok(code === 'INPUT_CHANGED' || code === 'INPUT_INVALID', r.stderr);
        assertRefused(
          r,
          3,
          code,
          code === 'INPUT_CHANGED'
            ? /^error: .*copying-\w+\.xml changed while it was being (read|uploaded)/
            : /^error: .*copying-\w+\.xml cannot be uploaded: .*(truncated|end of input)/,
        );
        assert.doesNotMatch(r.stderr, /what came before it was sent|had been sent/);
        await assertNothingImported(before);
      }
      const label = command === 'validate' ? command : `upload --method ${args.at(-1)}`;
      t.diagnostic(
        `${label}: ${r.stderr.split('\n').find((l) => l.startsWith('error: ')) ?? r.stdout.slice(0, 80)}`,
      );
      assertBounded(t, label, r);
      await rm(path, { force: true });
    }
  });
});
