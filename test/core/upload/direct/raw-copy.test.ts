import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SaxesParser } from 'saxes';
import type { ExportSource } from '../../../../src/adapters/export-source.js';
import { ExportScanner } from '../../../../src/core/reader/scanner.js';
import type { ExportElement } from '../../../../src/core/reader/types.js';
import { NO_FILTERS } from '../../../../src/core/selection/filters.js';
import { BatchQueue } from '../../../../src/core/upload/direct/batch-queue.js';
import { BodyPool } from '../../../../src/core/upload/direct/batcher.js';
import { type NormalizationReport, shape } from '../../../../src/core/upload/direct/normalize.js';
import { BatchProducer } from '../../../../src/core/upload/direct/producer.js';
import { TagHasher } from '../../../../src/core/upload/direct/raw-tag.js';
import { serializeElement } from '../../../../src/core/upload/direct/serialize.js';

const HR = 'HKQuantityTypeIdentifierHeartRate';
const DEVICE =
  '&lt;&lt;HKDevice: 0x283f4a2b0&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.0&gt;';

/** Attributes after `type`, so every Record below is of an imported type. */
function rec(n: number, attrs: string, close = '/>'): string {
  return ` <Record type="${HR}" ${attrs} startDate="2024-01-01 00:00:${String(n % 60).padStart(2, '0')} +0100" value="${n}"${close}\n`;
}

/** Records Apple writes, which the fast path must copy. */
const CANONICAL = [
  rec(1, `sourceName="Dana’s Apple Watch 🕛" sourceVersion="10.0" device="${DEVICE}" unit="count/min"`),
  rec(2, 'sourceName="A &amp; B &quot;x&quot; &lt;y&gt;"'),
  rec(3, `sourceName="Dana's iPhone" note="it's"`),
  rec(4, 'sourceName="tab&#9;lf&#10;cr&#13;"'),
  rec(5, 'sourceName="é ü ß 中文 𝄞"'),
  rec(6, 'sourceName="W" ñame="x"'),
  rec(7, 'sourceName="a=b"'),
  // Children (MetadataEntry) are not sent: the tag is copied and closed with '/>'.
  rec(
    8,
    'sourceName="W"',
    '>\n  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record>',
  ),
  rec(9, 'sourceName="W"', '>\n\t<MetadataEntry key="k" value="v"/>\n </Record>'),
];

/** Records whose bytes differ from what serializeElement writes: they must be serialized. */
const NOT_CANONICAL = [
  rec(20, `sourceName='Dana"s'`),
  rec(21, 'sourceName="Dana&apos;s"'),
  rec(22, 'sourceName="a &#38; b"'),
  rec(23, 'sourceName="&#x3C;x&#x3e;"'),
  rec(24, 'sourceName="a>b"'),
  rec(25, 'sourceName="a\tb"'),
  rec(26, 'sourceName="line\nbreak"'),
  rec(27, 'sourceName="W"\n   unit="count"'),
  rec(28, 'sourceName="W"  unit="count"'),
  rec(29, 'sourceName = "W"'),
  rec(30, 'sourceName="W" ', '/>'),
  rec(31, 'sourceName="bad\u000bchar"'),
  rec(32, 'sourceName="nonchar\uffffhere \ufffe"'),
  rec(33, 'sourceName="W"', '>\r\n  <MetadataEntry key="k" value="v"/>\r\n </Record>'),
  rec(34, 'sourceName="W"', '><MetadataEntry key="k" value="v"/></Record>'),
  // A '>' then a newline inside a value: the line after it does not start with '<'.
  rec(35, 'sourceName="x>\n" unit="u"', '>\n  <MetadataEntry key="k" value="v"/>\n </Record>'),
  rec(36, 'sourceName="&#233;"'),
];

const HEAD =
  '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n <ExportDate value="2024-09-18 10:02:17 -0700"/>\n';
const TAIL = '</HealthData>\n';

/** A byte string with one byte outside UTF-8 (0xFF) inside a value. */
function withBadUtf8(): Buffer {
  const r = Buffer.from(rec(40, 'sourceName="bad X byte"'));
  r[r.indexOf('X')] = 0xff;
  return r;
}

function splitEvery(buf: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let k = 0;
  for (let at = 0; at < buf.length; k++) {
    const n = sizes[k % sizes.length]!;
    // Copies, as a file read would hand over fresh buffers (and odd alignments for the word loads).
    out.push(Buffer.from(buf.subarray(at, at + n)));
    at += n;
  }
  return out;
}

interface Plan {
  bodies: Buffer[];
  body: Buffer;
  report: NormalizationReport;
  batches: number;
}

/** A document in memory, read in chunks of the given sizes, as the direct method reads a zip entry. */
function memorySource(doc: Buffer, chunks: number[]): ExportSource {
  return {
    kind: 'xml',
    displayName: 'memory.xml',
    size: doc.length,
    async *open(opts = {}) {
      const start = opts.start ?? 0;
      const end = opts.end ?? doc.length;
      yield* splitEvery(doc.subarray(start, end), chunks);
    },
    fingerprint: async () => 'memory',
  };
}

/**
 * A source that reads into the consumer's pool as a plain file is read (export-file.ts): a buffer the
 * consumer gave back too early is read into again while a batch still copies from it.
 */
function pooledSource(doc: Buffer, chunk: number): ExportSource {
  return {
    ...memorySource(doc, [chunk]),
    async *open(opts = {}) {
      const end = opts.end ?? doc.length;
      for (let at = opts.start ?? 0; at < end; at += chunk) {
        const n = Math.min(chunk, end - at);
        if (!opts.pool) {
          yield doc.subarray(at, at + n);
          continue;
        }
        const buf = opts.pool.take();
        doc.copy(buf, 0, at, at + n);
        yield opts.pool.lend(buf, n);
      }
    },
  };
}

/** Reads, normalizes and batches a document with the direct method's reader; `copy` turns the fast path on. */
async function plan(
  doc: Buffer,
  chunks: number[],
  copy: boolean,
  maxBytes = 1 << 20,
  source = memorySource(doc, chunks),
): Promise<Plan> {
  const signal = new AbortController().signal;
  const queue = new BatchQueue(signal);
  const producer = new BatchProducer({
    source,
    filters: NO_FILTERS,
    limits: { maxBytes, maxRecords: 50_000 },
    queue,
    hashes: null,
    bodies: new BodyPool(maxBytes),
    signal,
    copyFromSource: copy,
    onEvent: () => {},
  });
  const bodies: Buffer[] = [];
  const reading = producer.run(() => false);
  for (let item = await queue.take(); item; item = await queue.take())
    bodies.push(Buffer.from(item.batch.body));
  await reading;
  return { bodies, body: Buffer.concat(bodies), report: producer.report(), batches: bodies.length };
}

/** Top-level Records as the scanner decodes them. */
function scanRecords(doc: Buffer): ExportElement[] {
  const out: ExportElement[] = [];
  const scanner = new ExportScanner({ onElement: (el) => el.name === 'Record' && out.push(el) });
  scanner.write(doc);
  scanner.end();
  return out;
}

/** Records of the sent documents, each parsed by saxes (strict and independent of our reader). */
function parseSent(bodies: Buffer[]): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const body of bodies) {
    const parser = new SaxesParser();
    parser.on('error', (e) => {
      throw e;
    });
    let depth = 0;
    parser.on('opentag', (t) => {
      if (++depth === 2 && t.name === 'Record') out.push({ ...(t.attributes as Record<string, string>) });
    });
    parser.on('closetag', () => {
      depth--;
    });
    parser.write(body.toString('utf8')).close();
  }
  return out;
}

const ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

describe('direct batches: copying canonical Records from the source', () => {
  const all = Buffer.concat([
    Buffer.from(HEAD + CANONICAL.join('') + NOT_CANONICAL.join('')),
    withBadUtf8(),
    Buffer.from(TAIL),
  ]);

  it('copies exactly the canonical Records, byte-identical to serializing them', async () => {
    const slow = await plan(all, [1 << 20], false);
    const fast = await plan(all, [1 << 20], true);
    assert.equal(fast.body.toString('latin1'), slow.body.toString('latin1'));
    assert.equal(slow.report.copied, 0);
    assert.equal(fast.report.copied, CANONICAL.length);
    assert.equal(total(fast.report.kept), CANONICAL.length + NOT_CANONICAL.length + 1);
  });

  it('sends what the source says: each Record parses back to its decoded attributes', async () => {
    const fast = await plan(all, [1 << 20], true);
    const sent = parseSent(fast.bodies);
    const want = scanRecords(all).map((el) =>
      Object.fromEntries(Object.entries(el.attrs).map(([k, v]) => [k, v.replace(ILLEGAL, '')])),
    );
    assert.deepEqual(sent, want);
    assert.equal(sent[0]?.sourceName, 'Dana’s Apple Watch 🕛');
    assert.equal(sent[1]?.sourceName, 'A & B "x" <y>');
    assert.equal(sent[3]?.sourceName, 'tab\tlf\ncr\r');
    assert.equal(sent.find((a) => a.value === '25')?.sourceName, 'a b');
    assert.equal(sent.find((a) => a.value === '31')?.sourceName, 'badchar');
    assert.equal(sent.find((a) => a.value === '40')?.sourceName, 'bad \ufffd byte');
  });

  it('gives the same bytes however the source is split into chunks', async () => {
    const slow = await plan(all, [1 << 20], false);
    for (const sizes of [[1], [3], [7, 1, 64], [333, 17], [4096]]) {
      const fast = await plan(all, sizes, true);
      assert.equal(fast.body.toString('latin1'), slow.body.toString('latin1'), `chunks of ${sizes}`);
      assert.ok(fast.report.copied > 0, `chunks of ${sizes}: some Records copied`);
    }
  });

  const DATE = '2024-01-01 00:00:00 +0000';
  it('does not cut a tag at a newline inside a value, even when the byte count would agree', async () => {
    // Spaces after the name make the bytes before the newline as long as the canonical tag, so only
    // finding where the tag really ends keeps it from being copied short.
    for (const value of ['a>\nb', 'a\nb']) {
      const canonicalUnits =
        `<Record type="${HR}" sourceName="${value.replace('\n', ' ')}" startDate="${DATE}" value="1"`.length;
      const cut = (pad: number) =>
        `<Record${' '.repeat(pad)} type="${HR}" sourceName="${value.slice(0, value.indexOf('\n') - 1)}`;
      let pad = 1;
      while (cut(pad).length < canonicalUnits) pad++;
      assert.equal(cut(pad).length, canonicalUnits);
      const tricky = ` <Record${' '.repeat(pad)} type="${HR}" sourceName="${value}" startDate="${DATE}" value="1">\n  <MetadataEntry key="k" value="v"/>\n </Record>\n`;
      const doc = Buffer.from(HEAD + tricky + TAIL);
      const slow = await plan(doc, [1 << 20], false);
      const fast = await plan(doc, [1 << 20], true);
      assert.equal(fast.report.copied, 0);
      assert.equal(fast.body.toString('latin1'), slow.body.toString('latin1'));
      assert.equal(parseSent(fast.bodies)[0]?.sourceName, value.replace('\n', ' '));
    }
  });

  it('keeps batch limits and counts when copying', async () => {
    const many = Buffer.from(
      HEAD +
        Array.from({ length: 300 }, (_, i) => rec(i, `sourceName="W" device="${DEVICE}"`)).join('') +
        TAIL,
    );
    const slow = await plan(many, [8192], false, 8192);
    const fast = await plan(many, [8192], true, 8192);
    assert.equal(fast.batches, slow.batches);
    assert.ok(fast.batches > 5);
    assert.equal(fast.body.toString('latin1'), slow.body.toString('latin1'));
    assert.equal(fast.report.copied, 300);
    assert.equal(parseSent(fast.bodies).length, 300);
  });

  it('copies the same bytes from pooled reads, whose buffers are read into again between batches', async () => {
    const many = Buffer.from(
      HEAD +
        Array.from({ length: 300 }, (_, i) => rec(i, `sourceName="W" device="${DEVICE}"`)).join('') +
        TAIL,
    );
    const slow = await plan(many, [8192], false, 8192);
    for (const chunk of [500, 3000, 20_000]) {
      const fast = await plan(many, [], true, 8192, pooledSource(many, chunk));
      assert.ok(fast.batches > 5);
      assert.equal(fast.report.copied, 300);
      assert.equal(fast.body.toString('latin1'), slow.body.toString('latin1'), `chunks of ${chunk}`);
    }
  });

  it('finds duplicates between copied and serialized Records, in either order', async () => {
    const copied = rec(50, `sourceName="Dana's Watch"`);
    const serialized = rec(50, 'sourceName="Dana&apos;s Watch"');
    for (const body of [copied + serialized, serialized + copied, copied + copied]) {
      const fast = await plan(Buffer.from(HEAD + body + TAIL), [1 << 20], true);
      assert.equal(total(fast.report.kept), 1);
      assert.equal(total(fast.report.dropped.duplicate), 1);
    }
    // Differing in one byte is not a duplicate.
    const other = await plan(
      Buffer.from(HEAD + copied + copied.replace('Watch', 'Watcj') + TAIL),
      [1 << 20],
      true,
    );
    assert.equal(total(other.report.kept), 2);
  });

  it('treats a Correlation member and its top-level copy as one sample', async () => {
    const member = `  <Record type="HKQuantityTypeIdentifierBloodPressureSystolic" sourceName="W" startDate="2024-01-01 08:00:00 +0100" value="120"/>\n`;
    const corr = ` <Correlation type="HKCorrelationTypeIdentifierBloodPressure" startDate="2024-01-01 08:00:00 +0100">\n${member} </Correlation>\n`;
    const fast = await plan(Buffer.from(HEAD + member.slice(1) + corr + TAIL), [1 << 20], true);
    assert.equal(fast.report.copied, 1);
    assert.equal(total(fast.report.kept), 1);
    assert.equal(total(fast.report.dropped['correlation-copy']), 1);
  });
});

describe('TagHasher', () => {
  it('hashes the same bytes to the same key at every alignment and across buffer ends', () => {
    const tag = Buffer.from(`<Record type="${HR}" sourceName="Dana’s 🕛" device="${DEVICE}" value="72"`);
    const h = new TagHasher();
    const keys = new Set<string>();
    for (let pad = 0; pad < 9; pad++) {
      const buf = Buffer.alloc(pad + tag.length);
      tag.copy(buf, pad);
      h.hash(buf, pad, buf.length);
      keys.add(`${h.hi}:${h.lo}`);
      // Inside a bigger pooled buffer, at an odd byteOffset.
      const pooled = Buffer.from(`xx${'y'.repeat(pad)}${tag.toString('utf8')}`).subarray(2);
      h.hash(pooled, pad, pooled.length);
      keys.add(`${h.hi}:${h.lo}`);
    }
    assert.equal(keys.size, 1);
  });

  it('checks while hashing: the key of a canonical tag is its plain hash', () => {
    const el = scanRecords(Buffer.from(HEAD + CANONICAL[0] + TAIL))[0]!;
    const text = Buffer.from(serializeElement(shape(el)));
    const h = new TagHasher();
    let units = 1 + el.name.length;
    for (const [k, v] of Object.entries(el.attrs)) units += k.length + v.length + 4;
    assert.ok(h.canonical(text, 1, text.length - 3, units));
    const key = `${h.hi}:${h.lo}`;
    h.hash(text, 1, text.length - 3);
    assert.equal(`${h.hi}:${h.lo}`, key);
    assert.equal(h.canonical(text, 1, text.length - 3, units + 1), false, 'a wrong count fails');
  });

  it('separates tags that differ in one bit anywhere', () => {
    const tag = Buffer.from(
      `<Record type="${HR}" sourceName="W" startDate="2024-01-01 00:00:00 +0100" value="60"`,
    );
    const h = new TagHasher();
    const seen = new Set<string>();
    for (let i = 0; i < tag.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const t = Buffer.from(tag);
        t[i]! ^= 1 << bit;
        h.hash(t, 0, t.length);
        seen.add(`${h.hi}:${h.lo}`);
      }
    }
    h.hash(tag, 0, tag.length);
    seen.add(`${h.hi}:${h.lo}`);
    assert.equal(seen.size, tag.length * 8 + 1);
  });
});

function total(map: Record<string, number> | undefined): number {
  return Object.values(map ?? {}).reduce((a, b) => a + b, 0);
}
