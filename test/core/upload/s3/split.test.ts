import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ExportSource, openExport } from '../../../../src/adapters/export-source.js';
import { scanExport } from '../../../../src/core/reader/read-export.js';
import { paddedSize, repairBytes } from '../../../../src/core/reader/repair.js';
import type { ScanSummary } from '../../../../src/core/reader/types.js';
import { checkedBody } from '../../../../src/core/upload/s3/checked-body.js';
import { partBytes } from '../../../../src/core/upload/s3/part-bytes.js';
import { planUpload, probeHead, repairsOf, streamedPlan } from '../../../../src/core/upload/s3/preflight.js';
import { expirationFor } from '../../../../src/core/upload/s3/send-parts.js';
import { partFilename } from '../../../../src/core/upload/shared/naming.js';
import { exitCodeFor } from '../../../../src/errors.js';
import { writeExportFile } from '../../../../src/generator/index.js';

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function bufferSource(buf: Buffer): AsyncIterable<Buffer> {
  return (async function* () {
    for (let i = 0; i < buf.length; i += 65536) yield buf.subarray(i, i + 65536);
  })();
}

/** Digest of every top-level element except the header ones, in order, for "none lost or duplicated". */
async function elementDigests(
  buf: Buffer,
): Promise<{ names: string[]; wellFormed: boolean; headers: number }> {
  const names: string[] = [];
  let headers = 0;
  const s = await scanExport(bufferSource(buf), {
    onElement: (el) => {
      if (el.name === 'ExportDate' || el.name === 'Me') headers++;
      else names.push(createHash('sha1').update(buf.subarray(el.startOffset, el.endOffset)).digest('hex'));
    },
  });
  return { names, wellFormed: s.wellFormed && s.closed, headers };
}

const FP = 'f'.repeat(64);

/** Reads a checked body that must be refused: its error, and how many bytes it released before. */
async function refusedBody(
  body: AsyncIterable<Buffer>,
): Promise<{ err: Error & { code?: string }; yielded: number }> {
  let yielded = 0;
  try {
    for await (const c of body) yielded += c.length;
  } catch (e) {
    return { err: e as Error & { code?: string }, yielded };
  }
  assert.fail(`the body was not refused (${yielded} bytes released)`);
}

/** An export held in memory; with `file`, a thread that reads the file itself finds the same bytes there. */
function memorySource(name: string, bytes: Buffer, file?: string): ExportSource {
  return {
    kind: 'xml',
    displayName: name,
    size: bytes.length,
    ...(file !== undefined ? { filePath: file } : {}),
    open: () => bufferSource(bytes),
    fingerprint: async () => FP,
  };
}

describe('planUpload: split into valid parts during the single scan', () => {
  let dir: string;
  let path: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'split-test-'));
    path = join(dir, 'export.xml');
    await writeExportFile(path, {
      days: 3,
      dtd: 'ios16-unclosed-attlist',
      exportVersion: 12,
      controlChars: 0.2,
    });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('one part when the export fits: streamed, padded, sized from the head alone', async () => {
    const source = await openExport(path);
    const head = await probeHead(source);
    assert.ok(head.doctype, 'the generator writes a DOCTYPE');
    const plan = streamedPlan(source, head, FP, 1 << 30)!;
    assert.equal(plan.streamed, true);
    assert.equal(plan.summary, null);
    assert.equal(plan.parts.length, 1);
    assert.equal(plan.parts[0]!.bytes, source.size - (head.doctype.end - head.doctype.start));
    // The scanned plan (--dry-run) agrees with the head-only plan.
    const scanned = await planUpload(source, { cap: 1 << 30, fingerprint: FP });
    assert.equal(scanned.streamed, true);
    assert.equal(scanned.parts[0]!.bytes, plan.parts[0]!.bytes);
    assert.equal(scanned.parts[0]!.elements, scanned.summary!.topLevelCount);
    const repairs = repairsOf(scanned.summary!);
    assert.ok(repairs.doctypeRemoved);
    assert.ok(repairs.illegalCharsDropped > 0);

    let summary: ScanSummary | undefined;
    const sent = await collect(
      checkedBody(source, plan.repair, {
        onScanned: (s) => {
          summary = s;
        },
      }),
    );
    const repaired = await collect(repairBytes(source.open(), plan.repair));
    assert.equal(sent.length, plan.parts[0]!.bytes);
    assert.ok(sent.subarray(0, repaired.length).equals(repaired));
    assert.ok(sent.subarray(repaired.length).equals(Buffer.alloc(repairs.illegalCharsDropped, '\n')));
    assert.ok(!sent.includes(0x0b));
    assert.equal(summary?.topLevelCount, scanned.summary!.topLevelCount);
    // Too big for one part: no streamed plan.
    assert.equal(streamedPlan(source, head, FP, plan.parts[0]!.bytes - 1), null);
  });

  it('the checked body holds back its end: a truncated export never yields all its bytes', async () => {
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(path);
    const cut = join(dir, 'cut-body.xml');
    await writeFile(cut, buf.subarray(0, buf.length - 40));
    const source = await openExport(cut);
    const head = await probeHead(source);
    const planned = paddedSize(source.size, streamedPlan(source, head, FP, 1 << 30)!.repair);
    let scanned = false;
    const { err, yielded } = await refusedBody(
      checkedBody(source, streamedPlan(source, head, FP, 1 << 30)!.repair, {
        onScanned: () => {
          scanned = true;
        },
      }),
    );
    assert.equal(err.code, 'INPUT_INVALID');
    assert.match(err.message, /cannot be uploaded/);
    assert.ok(yielded < planned, `${yielded} of ${planned} bytes released`);
    assert.equal(scanned, false);
  });

  it('the checked body refuses an export that changed after it was planned (INPUT_CHANGED, exit 3), holding back its end', async () => {
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(path);
    const planFrom = memorySource('changing.xml', buf);
    const plan = streamedPlan(planFrom, await probeHead(planFrom), FP, 1 << 30)!;
    // Grown by whitespace after the root (still well-formed), or, at the same size, a head whose DOCTYPE moved.
    const grown = Buffer.concat([buf, Buffer.from('\n\n\n')]);
    assert.equal(buf.at(-1), 0x0a);
    const moved = Buffer.from(
      buf.toString('latin1').replace('<!DOCTYPE', ' <!DOCTYPE').slice(0, -1),
      'latin1',
    );
    for (const now of [grown, moved]) {
      const source = { ...planFrom, open: () => bufferSource(now) };
      const { err, yielded } = await refusedBody(checkedBody(source, plan.repair, { worker: false }));
      assert.equal(err.code, 'INPUT_CHANGED');
      assert.equal(exitCodeFor(err), 3);
      assert.match(err.message, /changing\.xml changed while it was being uploaded/);
      assert.ok(yielded < now.length - plan.repair.doctype!.end, `${yielded} bytes released`);
    }
  });

  it('the checked body stops at the first unrepairable defect, without reading on', async () => {
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(path);
    // A broken end tag a tenth of the way in.
    const at = buf.indexOf('</Record>', Math.floor(buf.length / 10));
    assert.ok(at > 0);
    const bad = Buffer.concat([buf.subarray(0, at), Buffer.from('</Recrod>'), buf.subarray(at + 9)]);
    // Read in 64 KiB chunks, so the defect lies well past the head the probe reads.
    const source = memorySource('malformed.xml', bad);
    const plan = streamedPlan(source, await probeHead(source), FP, 1 << 30)!;
    const { err, yielded } = await refusedBody(checkedBody(source, plan.repair));
    assert.equal(err.code, 'INPUT_INVALID');
    assert.ok(yielded < bad.length / 2, `${yielded} bytes released before stopping`);
  });

  // The worker is sent the chunks (a zip entry), or reads the plain file itself (filePath).
  for (const [worker, fromFile] of [
    [false, false],
    [true, false],
    [true, true],
  ] as const) {
    const mode = !worker ? 'inline' : fromFile ? 'worker thread reading the file' : 'worker thread';
    it(`checked body (${mode}): same bytes and scan, refusals as inline`, async () => {
      const { readFile } = await import('node:fs/promises');
      const buf = await readFile(path);
      const fake = (name: string, bytes: Buffer): ExportSource => {
        if (!fromFile) return memorySource(name, bytes);
        const file = join(dir, `file-${name}`);
        writeFileSync(file, bytes);
        return memorySource(name, bytes, file);
      };
      const source = fake('ok.xml', buf);
      const plan = streamedPlan(source, await probeHead(source), FP, 1 << 30)!;
      let summary: ScanSummary | undefined;
      const sent = await collect(
        checkedBody(source, plan.repair, {
          worker,
          // A window smaller than the file: the reading thread must wait for the sender, and not hang.
          checkAheadBytes: 64 * 1024,
          onScanned: (s) => {
            summary = s;
          },
        }),
      );
      assert.equal(sent.length, plan.parts[0]!.bytes);
      const expected = await collect(repairBytes(bufferSource(buf), plan.repair, 0, { padDropped: true }));
      assert.ok(sent.equals(expected));
      const full = await scanExport(bufferSource(buf), {}, { hash: false });
      assert.equal(summary?.topLevelCount, full.topLevelCount);
      assert.equal(summary?.illegalCharCount, full.illegalCharCount);

      const at = buf.indexOf('</Record>', Math.floor(buf.length / 10));
      const broken = fake(
        'bad.xml',
        Buffer.concat([buf.subarray(0, at), Buffer.from('</Recrod>'), buf.subarray(at + 9)]),
      );
      const cut = fake('cut.xml', buf.subarray(0, buf.length - 40));
      for (const [src, why] of [
        [broken, /<\/Recrod> does not match <Record>/],
        [cut, /cannot be uploaded/],
      ] as const) {
        const { err, yielded } = await refusedBody(checkedBody(src, plan.repair, { worker }));
        assert.equal(err.code, 'INPUT_INVALID');
        assert.match(err.message, why);
        assert.ok(yielded < src.size - 40, `${src.displayName}: ${yielded} bytes released`);
      }
    });
  }

  for (const worker of [true, false]) {
    it(`a check (${worker ? 'in a thread that has read ahead' : 'inline'}) spares the sender its search, and late illegal bytes are still dropped`, async () => {
      const { readFile } = await import('node:fs/promises');
      // No illegal byte in the first 90%, so the thread's clean mark covers most chunks; then a few.
      const clean = Buffer.from(
        (await readFile(path)).filter((c) => c >= 0x20 || c === 9 || c === 10 || c === 13),
      );
      const at = clean.indexOf('sourceName="', Math.floor(clean.length * 0.9)) + 12;
      const buf = Buffer.concat([clean.subarray(0, at), Buffer.from('\x0b\x01'), clean.subarray(at)]);
      const file = join(dir, 'late-illegal.xml');
      await writeFile(file, buf);
      const source = memorySource('late-illegal.xml', buf, file);
      const plan = streamedPlan(source, await probeHead(source), FP, 1 << 30)!;
      const parts: Buffer[] = [];
      // A slow start: the thread starts and reads the whole (small) file before the second chunk goes out.
      for await (const c of checkedBody(source, plan.repair, { worker })) {
        parts.push(c);
        if (parts.length === 1 && worker) await new Promise((r) => setTimeout(r, 1500));
      }
      const sent = Buffer.concat(parts);
      const expected = await collect(repairBytes(bufferSource(buf), plan.repair, 0, { padDropped: true }));
      assert.equal(sent.length, plan.parts[0]!.bytes);
      assert.ok(sent.equals(expected));
      assert.ok(!sent.includes(0x0b) && !sent.includes(0x01));
      assert.ok(sent.subarray(-2).equals(Buffer.from('\n\n')), 'two dropped bytes, two newlines of padding');
    });
  }

  it('bytes that are not UTF-8 are refused before the end is sent, inline or in a thread', async () => {
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(path);
    // The backend's ElementTree refuses a lone 0xFF; a full scan would have decoded it to U+FFFD.
    const at = buf.indexOf('sourceName="', Math.floor(buf.length * 0.6)) + 12;
    const bad = Buffer.concat([buf.subarray(0, at), Buffer.from([0xff]), buf.subarray(at + 1)]);
    const file = join(dir, 'not-utf8.xml');
    await writeFile(file, bad);
    for (const worker of [false, true]) {
      const source = memorySource('not-utf8.xml', bad, file);
      const plan = streamedPlan(source, await probeHead(source), FP, 1 << 30)!;
      const { err, yielded } = await refusedBody(checkedBody(source, plan.repair, { worker }));
      assert.equal(err.code, 'INPUT_INVALID');
      assert.match(err.message, /not UTF-8: byte 0xff/);
      assert.ok(yielded < bad.length, `worker ${worker}: ${yielded} of ${bad.length} bytes released`);
    }
  });

  it('the head probe refuses a broken prolog or another root before anything is sent', async () => {
    for (const [name, text, why] of [
      ['notroot.xml', '<?xml version="1.0"?>\n<HealthDate><Record/></HealthDate>\n', /no <HealthData> root/],
      [
        'prolog.xml',
        '<?xml version="1.0"?>\n<!DOCTYPE HealthData [ <!ELEMENT a>]>\n<HealthData',
        /cannot be uploaded/,
      ],
    ] as const) {
      const p = join(dir, name);
      await writeFile(p, text);
      const source = memorySource(p, Buffer.from(text));
      await assert.rejects(probeHead(source), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INPUT_INVALID');
        assert.match(err.message, why);
        return true;
      });
    }
  });

  it('N parts under the cap, each well-formed, elements together equal the source', async () => {
    const source: ExportSource = await openExport(path);
    const cap = 200_000;
    const plan = await planUpload(source, { cap, fingerprint: FP });
    assert.equal(plan.streamed, false);
    assert.ok(plan.parts.length >= 5, `parts: ${plan.parts.length}`);
    const whole = await collect(repairBytes(source.open(), plan.repair));
    const expected = await elementDigests(whole);
    const got: string[] = [];
    for (const part of plan.parts) {
      const bytes = await collect(partBytes(source, part.segments, plan.repair));
      assert.equal(bytes.length, part.bytes, `part ${part.index} exact size`);
      assert.ok(bytes.length <= cap);
      assert.ok(!bytes.includes(0x0b));
      const d = await elementDigests(bytes);
      assert.ok(d.wellFormed, `part ${part.index} well-formed`);
      assert.equal(d.headers, 2, 'ExportDate and Me in every part');
      assert.ok(bytes.toString('utf8', 0, 200).startsWith('<?xml'));
      got.push(...d.names);
    }
    assert.deepEqual(got, expected.names);
    assert.equal(
      plan.parts.reduce((n, p) => n + (p.elements ?? 0), 0),
      plan.summary!.topLevelCount,
    );
  });

  it('whitespace between elements never counts against a part (was: "the element at byte N cannot fit")', async () => {
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(path);
    // Runs of whitespace each larger than a part, after the header, between records and before the end.
    const cap = 200_000;
    const gap = Buffer.alloc(cap + 1000, 0x20);
    const first = buf.indexOf('<Record');
    const mid = buf.indexOf('<Record', Math.floor(buf.length / 2));
    const end = buf.lastIndexOf('</HealthData>');
    const spaced = Buffer.concat([
      buf.subarray(0, first),
      gap,
      buf.subarray(first, mid),
      gap,
      gap,
      buf.subarray(mid, end),
      gap,
      buf.subarray(end),
    ]);
    const file = join(dir, 'spaced.xml');
    await writeFile(file, spaced);
    const source = await openExport(file);
    const plan = await planUpload(source, { cap, fingerprint: FP });
    const expected = await elementDigests(await collect(repairBytes(source.open(), plan.repair)));
    const got: string[] = [];
    for (const part of plan.parts) {
      const bytes = await collect(partBytes(source, part.segments, plan.repair));
      assert.equal(bytes.length, part.bytes, `part ${part.index} exact size`);
      assert.ok(bytes.length <= cap, `part ${part.index}: ${bytes.length} bytes`);
      const d = await elementDigests(bytes);
      assert.ok(d.wellFormed, `part ${part.index} well-formed`);
      got.push(...d.names);
    }
    assert.deepEqual(got, expected.names);
  });

  it('refuses a truncated export', async () => {
    const cut = join(dir, 'cut.xml');
    const { readFile } = await import('node:fs/promises');
    const buf = await readFile(path);
    await writeFile(cut, buf.subarray(0, Math.floor(buf.length / 2)));
    await assert.rejects(
      planUpload(await openExport(cut), { cap: 1 << 30, fingerprint: FP }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'INPUT_INVALID');
        return true;
      },
    );
  });

  it('filenames are safe, unique per part, and expirations are clamped', () => {
    const n = partFilename('ab/cd ef0123456789', 'r u n', 3, 12);
    assert.match(n, /^[A-Za-z0-9._-]+\.xml$/);
    assert.equal(n, 'apple-import-abcdef01-run-p03.xml');
    assert.notEqual(partFilename('f', 'r', 1, 2), partFilename('f', 'r', 2, 2));
    assert.equal(expirationFor(1), 61);
    assert.equal(expirationFor(10 * 1024 ** 3), 3600);
  });
});
