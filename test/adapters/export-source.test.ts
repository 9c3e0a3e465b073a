import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type ExportSource, openExport } from '../../src/adapters/export-source.js';
import { AppError } from '../../src/errors.js';
import { writeZipFile } from '../helpers/zip.js';

const XML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record)*)>
]>
<HealthData locale="en_US">
 <ExportDate value="2025-01-05 10:02:17 -0800"/>
 <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Dana’s iPhone" unit="count" startDate="2025-01-01 10:00:00 -0800" endDate="2025-01-01 10:01:00 -0800" value="12"/>
</HealthData>
`;
const CDA =
  '<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Health</title></ClinicalDocument>\n';

async function readAll(src: ExportSource, opts?: { start?: number; end?: number }): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of src.open(opts)) parts.push(c);
  return Buffer.concat(parts).toString('utf8');
}

async function expectInvalid(path: string, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(openExport(path), (err: unknown) => {
    assert.ok(err instanceof AppError, `expected AppError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.exitCode, 3);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('openExport', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-source-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('opens a plain export.xml and serves byte ranges', async () => {
    const p = join(dir, 'export.xml');
    await writeFile(p, XML);
    const src = await openExport(p);
    assert.equal(src.kind, 'xml');
    assert.equal(src.size, Buffer.byteLength(XML));
    assert.equal(await readAll(src), XML);
    assert.equal(await readAll(src, { start: 5, end: 20 }), Buffer.from(XML).subarray(5, 20).toString());
    assert.equal(await readAll(src), XML, 'a second pass reads everything again');
  });

  it('accepts a UTF-8 BOM before the prolog', async () => {
    const p = join(dir, 'bom.xml');
    await writeFile(p, `\uFEFF${XML}`);
    assert.equal((await openExport(p)).kind, 'xml');
  });

  for (const [label, entryName, method] of [
    ['Chinese name, deflated', 'apple_health_export/导出.xml', 'deflate'],
    ['Russian name, stored', 'apple_health_export/экспорт.xml', 'store'],
    ['capitalised Export.xml', 'apple_health_export/Export.xml', 'deflate'],
  ] as const) {
    it(`finds the main XML in a zip by content (${label}), ignoring __MACOSX and export_cda.xml`, async () => {
      const p = join(dir, `${label.replace(/\W+/g, '-')}.zip`);
      await writeZipFile(p, [
        { name: 'apple_health_export/' },
        { name: 'apple_health_export/export_cda.xml', data: CDA },
        { name: '__MACOSX/apple_health_export/._export.xml', data: XML },
        { name: 'apple_health_export/workout-routes/route_2024-02-11_6.47pm.gpx', data: '<gpx/>' },
        { name: entryName, data: XML, method },
      ]);
      const src = await openExport(p);
      assert.equal(src.kind, 'zip');
      assert.equal(src.entryName, entryName);
      assert.equal(src.size, Buffer.byteLength(XML));
      assert.equal(await readAll(src), XML);
      assert.equal(
        await readAll(src, { start: 100, end: 200 }),
        Buffer.from(XML).subarray(100, 200).toString(),
      );
    });
  }

  it('reads a Zip64 entry with a Zip64 end-of-central-directory', async () => {
    const p = join(dir, 'zip64.zip');
    await writeZipFile(
      p,
      [{ name: 'apple_health_export/export.xml', data: XML, method: 'store', zip64: true }],
      {
        zip64Eocd: true,
      },
    );
    const src = await openExport(p);
    assert.equal(src.size, Buffer.byteLength(XML));
    assert.equal(await readAll(src), XML);
  });

  it('writes zips that the system unzip accepts (when installed)', async (t) => {
    try {
      execFileSync('unzip', ['-v'], { stdio: 'ignore' });
    } catch {
      t.skip('unzip not installed');
      return;
    }
    const p = join(dir, 'check.zip');
    await writeZipFile(
      p,
      [
        { name: 'a/导出.xml', data: XML },
        { name: 'b.xml', data: XML, zip64: true },
      ],
      {
        zip64Eocd: true,
      },
    );
    const out = execFileSync('unzip', ['-p', p, 'a/导出.xml']).toString('utf8');
    assert.equal(out, XML);
  });

  it('finds the XML in an unzipped folder and in its apple_health_export/ subfolder', async () => {
    const top = join(dir, 'folder1');
    await mkdir(top);
    await writeFile(join(top, 'export_cda.xml'), CDA);
    await writeFile(join(top, '导出.xml'), XML);
    const a = await openExport(top);
    assert.equal(a.kind, 'dir');
    assert.equal(a.entryName, '导出.xml');
    assert.equal(await readAll(a), XML);

    const outer = join(dir, 'folder2');
    await mkdir(join(outer, 'apple_health_export'), { recursive: true });
    await writeFile(join(outer, 'apple_health_export', 'export.xml'), XML);
    const b = await openExport(outer);
    assert.equal(b.entryName, 'apple_health_export/export.xml');
  });

  it('rejects what is not an export with INPUT_* errors (exit 3)', async () => {
    await expectInvalid(join(dir, 'missing.zip'), 'INPUT_NOT_FOUND', /no such file/);
    const empty = join(dir, 'empty.xml');
    await writeFile(empty, '');
    await expectInvalid(empty, 'INPUT_INVALID', /empty/);
    const pdf = join(dir, 'report.pdf');
    await writeFile(pdf, '%PDF-1.7\n%âãÏÓ\n1 0 obj\n');
    await expectInvalid(pdf, 'INPUT_INVALID', /PDF/);
    const gz = join(dir, 'notes.gz');
    await writeFile(gz, gzipSync('hello'));
    await expectInvalid(gz, 'INPUT_INVALID', /gzip/);
    const other = join(dir, 'other.xml');
    await writeFile(other, '<?xml version="1.0"?><gpx/>');
    await expectInvalid(other, 'INPUT_INVALID', /not an Apple Health export/);
    const noExport = join(dir, 'cda-only.zip');
    await writeZipFile(noExport, [
      { name: 'apple_health_export/export_cda.xml', data: CDA },
      { name: '__MACOSX/apple_health_export/._export.xml', data: XML },
    ]);
    await expectInvalid(noExport, 'INPUT_INVALID', /no Apple Health export XML/);
    const broken = join(dir, 'broken.zip');
    await writeFile(broken, Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(64)]));
    await expectInvalid(broken, 'INPUT_INVALID', /zip/);
    const emptyDir = join(dir, 'empty-dir');
    await mkdir(emptyDir);
    await expectInvalid(emptyDir, 'INPUT_INVALID', /folder holds no/);
  });

  it('stops a zip read when the signal aborts', async () => {
    const p = join(dir, 'abort.zip');
    await writeZipFile(p, [{ name: 'export.xml', data: XML.repeat(2000) }]);
    const src = await openExport(p);
    const ac = new AbortController();
    await assert.rejects(
      (async () => {
        for await (const _ of src.open({ signal: ac.signal })) ac.abort();
      })(),
    );
  });
});
