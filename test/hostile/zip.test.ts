/**
 * Hostile zips through validate, upload (S3, to a real radosgw) and upload --method direct, each in a
 * child process: zip bombs are refused before they inflate, a zip of 100k entries is read in bounded
 * memory, two export candidates are never a silent choice.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeExportFile } from '../../src/generator/index.js';
import type { BackendDouble } from '../../src/sandbox/backend/index.js';
import { whitespaceBomb, writeCraftedZip } from '../helpers/crafted-zip.js';
import type { Radosgw } from '../helpers/radosgw.js';
import { type S3Backend, startS3Backend } from '../helpers/s3-backend.js';
import { writeZipFile } from '../helpers/zip.js';
import { assertNothingSent, assertRefused, backendTraffic, runChild } from './helpers.js';

const MAX_RSS_MIB = 150;

describe('hostile zips', () => {
  let s3: S3Backend | undefined;
  let rgw: Radosgw;
  let backend: BackendDouble;
  let dir: string;
  let env: Record<string, string>;
  let userId: string;
  let xml: Buffer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-zip-'));
    // The presigned POST path, whose body is checked while it is sent (a server before August 2026).
    s3 = await startS3Backend({}, { generation: '2026-08' });
    ({ rgw, backend } = s3);
    userId = backend.createUser({ email: 'dana@example.com' }).id;
    env = { APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_API_KEY: backend.createApiKey() };
    const file = join(dir, 'export.xml');
    await writeExportFile(file, { days: 2, seed: 11 });
    xml = await readFile(file);
  });
  after(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The three ways an export is read: validate, the S3 upload, the direct upload; all with --json. */
  const commands = (path: string) => [
    ['validate', path, '--json'],
    ['upload', path, '--user', userId, '--json'],
    ['upload', path, '--user', userId, '--method', 'direct', '--json'],
  ];

  async function cfg(): Promise<Record<string, string>> {
    return { ...env, APPLE_IMPORT_CONFIG_DIR: await mkdtemp(join(dir, 'cfg-')) };
  }

  it('a 10 GiB zip64 of whitespace (10 MB on disk) is refused before it inflates: exit 3, INPUT_ZIP_BOMB', async (t) => {
    const bomb = join(dir, 'bomb.zip');
    await writeCraftedZip(bomb, [whitespaceBomb('apple_health_export/export.xml', 10 * 1024)]);
    for (const args of commands(bomb)) {
      const before = backendTraffic(backend);
      const r = await runChild(args, { env: await cfg() });
      assertRefused(
        r,
        3,
        'INPUT_ZIP_BOMB',
        /^error: .*bomb\.zip:apple_health_export\/export\.xml would inflate from 10\.\d MiB to 10\.0 GiB \(\d+×; Apple Health exports compress 20–30×, the limit is 200×\): refused as a likely zip bomb, before inflating it\.$/,
      );
      t.diagnostic(
        `${args
          .slice(0, 1)
          .concat(args.includes('direct') ? ['direct'] : [])
          .join(' ')}: peak RSS ${r.peakRssMiB} MiB`,
      );
      assert.ok(
        r.peakRssMiB > 0 && r.peakRssMiB <= MAX_RSS_MIB,
        `${args.join(' ')}: peak RSS ${r.peakRssMiB} MiB`,
      );
      assertNothingSent(backend, before);
    }
  });

  let liar: string;
  const liarLine =
    /^error: .*liar\.zip:apple_health_export\/export\.xml: the entry inflates past the 67108864 bytes its zip directory declares; stopped there$/;
  let directLiarRss = 0;

  it('an entry that inflates past its declared size stops there: exit 3, not an unexpected error', async (t) => {
    // Declares 64 MiB, which passes the ratio check; the stream would inflate to 10 GiB.
    liar = join(dir, 'liar.zip');
    await writeCraftedZip(liar, [
      whitespaceBomb('apple_health_export/export.xml', 10 * 1024, { declaredSize: 64 * 1024 * 1024 }),
    ]);
    for (const args of commands(liar)) {
      const before = backendTraffic(backend);
      const r = await runChild(args, { env: await cfg() });
      assertRefused(r, 3, 'INPUT_INVALID', liarLine);
      const direct = args.includes('direct');
      t.diagnostic(`${args[0]}${direct ? ' direct' : ''}: peak RSS ${r.peakRssMiB} MiB`);
      if (direct) directLiarRss = r.peakRssMiB;
      else assert.ok(r.peakRssMiB <= MAX_RSS_MIB, `${args.join(' ')}: peak RSS ${r.peakRssMiB} MiB`);
      // Every upload checks the whole entry before it sends anything: no presign, no batch.
      const after = backendTraffic(backend);
      assert.equal(after.presigns, before.presigns);
      assert.equal(after.direct, before.direct);
      assert.deepEqual(await rgw.listKeys(`${userId}/`), []);
    }
  });

  it('upload --method direct reads that entry (64 MiB of whitespace in one text node) within 150 MB', () => {
    assert.ok(directLiarRss > 0);
    assert.ok(directLiarRss <= MAX_RSS_MIB, `peak RSS ${directLiarRss} MiB`);
  });

  it('a zip of 100,001 entries: validate, upload and upload --method direct in bounded memory', async (t) => {
    const many = join(dir, 'many.zip');
    const routes = Array.from({ length: 100_000 }, (_, i) => ({
      name: `apple_health_export/workout-routes/route_2024-02-11_${i}.gpx`,
      data: '<gpx/>',
      method: 'store' as const,
    }));
    await writeZipFile(many, [{ name: 'apple_health_export/export.xml', data: xml }, ...routes]);
    const validate = await runChild(['validate', many, '--json'], { env: await cfg() });
    assert.equal(validate.code, 0, validate.stderr);
    assert.equal(JSON.parse(validate.stdout).input.entryName, 'apple_health_export/export.xml');
    assert.ok(validate.peakRssMiB <= MAX_RSS_MIB, `validate: peak RSS ${validate.peakRssMiB} MiB`);
    const upload = await runChild(['upload', many, '--user', userId, '--json'], { env: await cfg() });
    assert.equal(upload.code, 0, upload.stderr);
    const doc = JSON.parse(upload.stdout);
    assert.equal(doc.status, 'uploaded');
    t.diagnostic(`validate: peak RSS ${validate.peakRssMiB} MiB; upload: ${upload.peakRssMiB} MiB`);
    assert.ok(upload.peakRssMiB <= MAX_RSS_MIB, `upload: peak RSS ${upload.peakRssMiB} MiB`);
    const stored = await rgw.getObject(doc.parts[0].fileKey);
    assert.ok(stored.subarray(0, 5).equals(Buffer.from('<?xml')));
    const direct = await runChild(['upload', many, '--user', userId, '--method', 'direct', '--json'], {
      env: await cfg(),
    });
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(JSON.parse(direct.stdout).status, 'uploaded');
    t.diagnostic(`upload --method direct: peak RSS ${direct.peakRssMiB} MiB`);
    assert.ok(direct.peakRssMiB <= MAX_RSS_MIB, `upload --method direct: peak RSS ${direct.peakRssMiB} MiB`);
  });

  it('two export candidates: the canonical name is used; several without it are refused with the list', async () => {
    const older = Buffer.from(
      xml
        .toString('utf8')
        .replace(/<ExportDate value="[^"]+"/, '<ExportDate value="2020-01-01 00:00:00 +0000"'),
    );
    const two = join(dir, 'two.zip');
    await writeZipFile(two, [
      { name: 'apple_health_export/Export.xml', data: older.subarray(0, 2000) },
      { name: 'apple_health_export/export.xml', data: xml },
    ]);
    // Which one and why is said on stderr by every command, never a silent pick.
    const chosen =
      /\n\S*two\.zip holds 2 Apple Health exports; using apple_health_export\/export\.xml, the name the Health app writes \(also there: apple_health_export\/Export\.xml \(2000 bytes\); pass .*two\.zip:<entry> to use another\)\.\n/;
    for (const args of commands(two)) {
      const r = await runChild(args, { env: await cfg() });
      assert.equal(r.code, 0, r.stderr);
      assert.match(`\n${r.stderr}`, chosen, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(
        r.peakRssMiB > 0 && r.peakRssMiB <= MAX_RSS_MIB,
        `${args.join(' ')}: peak RSS ${r.peakRssMiB} MiB`,
      );
      const doc = JSON.parse(r.stdout);
      if (args[0] === 'validate') {
        assert.equal(doc.input.entryName, 'apple_health_export/export.xml');
        assert.equal(doc.input.size, xml.length, 'the canonical one, not the smaller one');
      } else {
        assert.equal(doc.status, 'uploaded');
        assert.equal(doc.sourceBytes, xml.length, 'the canonical one was sent, not the smaller one');
      }
    }

    const ambiguous = join(dir, 'ambiguous.zip');
    await writeZipFile(ambiguous, [
      { name: 'apple_health_export/Export.xml', data: older },
      { name: 'apple_health_export/导出.xml', data: xml },
    ]);
    for (const args of commands(ambiguous)) {
      const before = backendTraffic(backend);
      const refused = await runChild(args, { env: await cfg() });
      assertRefused(
        refused,
        3,
        'INPUT_AMBIGUOUS',
        /^error: .*ambiguous\.zip holds 2 Apple Health exports and none is apple_health_export\/export\.xml: apple_health_export\/Export\.xml \(\d\.\d MiB\), apple_health_export\/导出\.xml \(\d\.\d MiB\)$/,
      );
      assert.match(
        refused.stderr,
        /\nhint: Pass the one you mean: .*ambiguous\.zip:apple_health_export\/Export\.xml\n/,
      );
      assertNothingSent(backend, before);
      assert.ok(
        refused.peakRssMiB > 0 && refused.peakRssMiB <= MAX_RSS_MIB,
        `${args.join(' ')}: peak RSS ${refused.peakRssMiB} MiB`,
      );
    }
    // The entry named as the hint says is read.
    const named = await runChild(['validate', `${ambiguous}:apple_health_export/导出.xml`, '--json'], {
      env: await cfg(),
    });
    assert.equal(named.code, 0, named.stderr);
    assert.equal(JSON.parse(named.stdout).input.entryName, 'apple_health_export/导出.xml');
  });
});
