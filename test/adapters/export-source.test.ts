import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rename, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { type ExportSource, openExport } from '../../src/adapters/export-source.js';
import { AppError } from '../../src/errors.js';
import { type CraftedEntry, deflatedEntry, whitespaceBomb, writeCraftedZip } from '../helpers/crafted-zip.js';
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

/** `text` as UTF-16 with a BOM, in the given byte order. */
function utf16(text: string, encoding: 'utf-16le' | 'utf-16be'): Buffer {
  const le = Buffer.from(`\uFEFF${text}`, 'utf16le');
  if (encoding === 'utf-16be') le.swap16();
  return le;
}

/** An export of about `records` records, with non-ASCII and astral characters in every one. */
function bigXml(records: number, encodingDecl: string): string {
  const rec = (i: number) =>
    ` <Record type="HKQuantityTypeIdentifierStepCount" sourceName="达娜的 iPhone 🏃 ${i}" unit="count" startDate="2025-01-01 10:00:00 -0800" endDate="2025-01-01 10:01:00 -0800" value="${i % 97}"/>\n`;
  const body = Array.from({ length: records }, (_, i) => rec(i)).join('');
  return `<?xml version="1.0" encoding="${encodingDecl}"?>\n<HealthData locale="zh_CN">\n <ExportDate value="2025-01-05 10:02:17 -0800"/>\n${body}</HealthData>\n`;
}

describe('openExport: UTF-16 exports are read as UTF-8', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-utf16-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const encoding of ['utf-16le', 'utf-16be'] as const) {
    it(`${encoding} with a BOM: exact UTF-8 size up front, every range equal to the UTF-8 document's`, async () => {
      // ~12 MB of UTF-16: several seek checkpoints, and ranges that start past them.
      const text = bigXml(40_000, 'UTF-16');
      const want = Buffer.from(text.replace('encoding="UTF-16"', 'encoding="UTF-8"'), 'utf8');
      const p = join(dir, `export-${encoding}.xml`);
      const stored = utf16(text, encoding);
      await writeFile(p, stored);
      const src = await openExport(p);
      assert.equal(src.kind, 'xml');
      assert.equal(src.encoding, encoding);
      assert.equal(src.storedBytes, stored.length);
      assert.equal(src.size, want.length);
      assert.equal(src.filePath, undefined, 'parallel readers must not read the UTF-16 bytes themselves');
      assert.match(src.notices[0]!, /is UTF-16 .* read and sent as UTF-8/);
      const all = Buffer.from(await readAll(src), 'utf8');
      assert.ok(all.equals(want), 'the whole document');
      for (const [a, b] of [
        [0, 100],
        [37, 38],
        [5_000_000, 5_000_999],
        [want.length - 77, want.length],
        [9_999_999, want.length + 50],
      ] as const) {
        const got = Buffer.concat(await collect(src.open({ start: a, end: b })));
        assert.ok(got.equals(want.subarray(a, b)), `range ${a}-${b}`);
      }
    });
  }

  it('a UTF-16 export inside a zip, and one with a lone surrogate refused when opened', async () => {
    const text = bigXml(200, 'UTF-16');
    const want = Buffer.from(text.replace('encoding="UTF-16"', 'encoding="UTF-8"'), 'utf8');
    const p = join(dir, 'utf16.zip');
    await writeZipFile(p, [{ name: 'apple_health_export/export.xml', data: utf16(text, 'utf-16le') }]);
    const src = await openExport(p);
    assert.equal(src.size, want.length);
    assert.ok(Buffer.from(await readAll(src), 'utf8').equals(want));
    assert.ok(
      Buffer.from(await readAll(src, { start: 1000, end: 3000 }), 'utf8').equals(want.subarray(1000, 3000)),
    );

    const bad = join(dir, 'lone.xml');
    const bytes = utf16(text, 'utf-16le');
    bytes.writeUInt16LE(0xd83d, 4000);
    await writeFile(bad, bytes);
    await expectInvalid(bad, 'INPUT_INVALID', /not valid UTF-16: a lone surrogate \(U\+D83D\) at byte 4000/);
  });
});

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(Buffer.from(c));
  return out;
}

describe('openExport: several export XMLs, damaged and crafted zips', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-choice-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const other = XML.replace('2025-01-05', '2024-12-05');

  it('prefers apple_health_export/export.xml over Export.xml and says so; an entry can be named', async () => {
    const p = join(dir, 'two.zip');
    await writeZipFile(p, [
      { name: 'apple_health_export/Export.xml', data: other },
      { name: 'apple_health_export/export.xml', data: XML.repeat(1) },
    ]);
    const src = await openExport(p);
    assert.equal(src.entryName, 'apple_health_export/export.xml');
    assert.equal(await readAll(src), XML);
    assert.equal(src.notices.length, 1);
    assert.match(
      src.notices[0]!,
      /holds 2 Apple Health exports; using apple_health_export\/export\.xml, the name the Health app writes \(also there: apple_health_export\/Export\.xml \(\d+ bytes\)/,
    );
    const named = await openExport(`${p}:apple_health_export/Export.xml`);
    assert.equal(named.entryName, 'apple_health_export/Export.xml');
    assert.equal(await readAll(named), other);
    assert.deepEqual(named.notices, []);
    await expectInvalid(
      `${p}:apple_health_export/nope.xml`,
      'INPUT_NOT_FOUND',
      /holds no entry apple_health_export\/nope\.xml/,
    );
  });

  it('refuses with the list when no candidate is canonical (INPUT_AMBIGUOUS)', async () => {
    const p = join(dir, 'localized.zip');
    await writeZipFile(p, [
      { name: 'apple_health_export/Export.xml', data: other },
      { name: 'apple_health_export/导出.xml', data: XML },
      { name: 'apple_health_export/export_cda.xml', data: CDA },
    ]);
    await assert.rejects(openExport(p), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.code, 'INPUT_AMBIGUOUS');
      assert.equal(err.exitCode, 3);
      assert.match(
        err.message,
        /holds 2 Apple Health exports and none is apple_health_export\/export\.xml: apple_health_export\/Export\.xml \(\d+ bytes\), apple_health_export\/导出\.xml/,
      );
      assert.match(err.hint!, /localized\.zip:apple_health_export\/Export\.xml/);
      return true;
    });
    // A folder follows the same rule.
    const folder = join(dir, 'folder');
    await mkdir(folder);
    await writeFile(join(folder, 'Export.xml'), other);
    await writeFile(join(folder, 'export.xml'), XML);
    const src = await openExport(folder);
    assert.equal(src.entryName, 'export.xml');
    assert.match(src.notices[0]!, /using export\.xml/);
  });

  it('an entry that inflates past its declared size, a wrong CRC, damaged deflate data: INPUT_INVALID', async () => {
    const data = Buffer.from(XML.repeat(50));
    const cases: [string, CraftedEntry, RegExp][] = [
      [
        'past.zip',
        deflatedEntry('export.xml', data, { uncompressedSize: 2000 }),
        /inflates past the 2000 bytes its zip directory declares/,
      ],
      [
        'short.zip',
        deflatedEntry('export.xml', data, { uncompressedSize: data.length + 10 }),
        /inflates to fewer bytes/,
      ],
      ['crc.zip', deflatedEntry('export.xml', data, { crc: 12345 }), /CRC-32 does not match/],
    ];
    const z = deflateRawSync(data);
    z.fill(0xff, 100, 140);
    cases.push([
      'deflate.zip',
      { ...deflatedEntry('export.xml', data), data: [z] },
      /compressed data is damaged|inflates/,
    ]);
    for (const [name, entry, why] of cases) {
      const p = join(dir, name);
      await writeCraftedZip(p, [entry]);
      // Refused when the head is sniffed, or when the entry is read.
      await assert.rejects((async () => readAll(await openExport(p)))(), (err: unknown) => {
        assert.ok(err instanceof AppError, `${name}: ${String(err)}`);
        assert.equal(err.code, 'INPUT_INVALID', name);
        assert.match(err.message, why, name);
        return true;
      });
    }
  });

  it('refuses a zip bomb before inflating it (INPUT_ZIP_BOMB); a small, highly compressible entry is read', async () => {
    const p = join(dir, 'bomb.zip');
    await writeCraftedZip(p, [whitespaceBomb('apple_health_export/export.xml', 10 * 1024)]);
    await expectInvalid(
      p,
      'INPUT_ZIP_BOMB',
      /export\.xml would inflate from 10\.\d MiB to 10\.0 GiB \(\d+×.*refused as a likely zip bomb/,
    );
    const small = join(dir, 'small-bomb.zip');
    await writeCraftedZip(small, [whitespaceBomb('apple_health_export/export.xml', 3)]);
    const src = await openExport(small);
    let n = 0;
    // Its CRC is not computed: everything up to the last chunk arrives, then the check refuses it.
    await assert.rejects(
      (async () => {
        for await (const c of src.open()) n += c.length;
      })(),
      /CRC-32/,
    );
    assert.ok(n >= 2 * 1024 * 1024, `${n}`);
  });
});

describe('openExport: an export that changes while it is read is INPUT_CHANGED', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'export-changed-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const big = bigXml(20_000, 'UTF-8');

  /** Reads until the first chunk, lets `change` act, then reads on; returns the bytes seen and the error. */
  async function readWhile(
    src: ExportSource,
    change: () => Promise<void>,
  ): Promise<{ seen: number; err: unknown }> {
    let seen = 0;
    try {
      for await (const c of src.open()) {
        if (seen === 0) await change();
        seen += c.length;
      }
    } catch (err) {
      return { seen, err };
    }
    return { seen, err: undefined };
  }

  function assertChanged(r: { seen: number; err: unknown }, size: number, why: RegExp): void {
    assert.ok(r.err instanceof AppError, `expected INPUT_CHANGED, got ${String(r.err)}`);
    assert.equal(r.err.code, 'INPUT_CHANGED');
    assert.equal(r.err.exitCode, 3);
    assert.match(r.err.message, why);
    assert.ok(r.seen < size, `the last chunk was held back (${r.seen} of ${size})`);
  }

  it('a plain file that grows, is rewritten in place, replaced, or cut short', async () => {
    const cases: [string, (p: string) => Promise<void>, RegExp][] = [
      ['grows', (p) => appendFile(p, ' <Record/>\n'), /size went from \d+ to \d+ bytes/],
      ['touched', (p) => utimes(p, new Date(), new Date(Date.now() + 5000)), /modified/],
      [
        'replaced',
        async (p) => {
          await writeFile(`${p}.new`, big);
          await rename(`${p}.new`, p);
        },
        /replaced by another file/,
      ],
      ['cut short', (p) => truncate(p, 1000), /size went from \d+ to 1000 bytes|ended at byte/],
      ['deleted', (p) => rm(p), /deleted or moved/],
    ];
    for (const [label, change, why] of cases) {
      const p = join(dir, `${label.replace(' ', '-')}.xml`);
      await writeFile(p, big);
      const src = await openExport(p);
      assertChanged(await readWhile(src, () => change(p)), src.size, why);
    }
  });

  it('a changed file is INPUT_CHANGED when a read starts, and for the fingerprint', async () => {
    const p = join(dir, 'later.xml');
    await writeFile(p, big);
    const src = await openExport(p);
    await appendFile(p, '\n');
    await assert.rejects(readAll(src), (e: unknown) => e instanceof AppError && e.code === 'INPUT_CHANGED');
    await assert.rejects(
      src.checkUnchanged(),
      (e: unknown) => e instanceof AppError && e.code === 'INPUT_CHANGED',
    );
    const fp = join(dir, 'fp.xml');
    await writeFile(fp, bigXml(60_000, 'UTF-8'));
    const fsrc = await openExport(fp);
    await truncate(fp, 5_000_000);
    await assert.rejects(
      fsrc.fingerprint(),
      (e: unknown) => e instanceof AppError && e.code === 'INPUT_CHANGED',
    );
  });

  it('a zip that is rewritten while its entry is inflated; a UTF-16 file that grows', async () => {
    const p = join(dir, 'changing.zip');
    await writeZipFile(p, [{ name: 'apple_health_export/export.xml', data: big, method: 'store' }]);
    const src = await openExport(p);
    assertChanged(
      await readWhile(src, () => appendFile(p, 'junk')),
      src.size,
      /changing\.zip:apple_health_export\/export\.xml changed while it was being read: its size went/,
    );
    const u = join(dir, 'utf16.xml');
    await writeFile(u, utf16(big, 'utf-16le'));
    const usrc = await openExport(u);
    assertChanged(await readWhile(usrc, () => appendFile(u, utf16(' ', 'utf-16le'))), usrc.size, /size went/);
  });
});
