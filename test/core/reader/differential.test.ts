/**
 * Differential test: our scanner against `sax` in strict mode, the oracle, over hand-made fixtures
 * and a few thousand seeded mutations of an export body, with random chunk boundaries on our side.
 *
 * Documented exceptions, where sax's verdict differs on purpose (format §2.1, §2.2):
 * - sax passes over the internal DTD subset without reading it; DTD defects are checked against our
 *   defect list in scanner.test.ts, so mutations here touch only the bytes after the DOCTYPE and
 *   `dtd-*` defects do not count as errors in the verdict.
 * - sax passes illegal C0 characters through; ours reports them as (repairable) `illegal-character`,
 *   which likewise does not count as an error in the verdict.
 * - sax keeps one value of a duplicated attribute; ours reports `duplicate attribute`. When only
 *   that separates the verdicts, the duplicate must really be there.
 * - sax accepts a raw "<" inside an attribute value (XML 1.0 forbids it; expat rejects it).
 * - sax skips whitespace after "<" and "</" (`< Record`, `<\n/Workout>`, `</ Record>`), accepts any PI target
 *   (`<?p=i?>`) and ignores unknown `<!…>` markup as an SGML declaration; XML 1.0 allows none of these.
 * - sax does not apply attribute-value normalisation (XML §3.3.3); its values are normalised here
 *   before comparing (mutations insert no character references to whitespace).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sax from 'sax';
import type { ExportElement } from '../../../src/core/reader/types.js';
import { uniform as rng } from '../../../src/generator/prng.js';
import { BODY, exportXml } from './fixtures.js';
import { scan } from './helpers.js';

interface Plain {
  name: string;
  attrs: Record<string, string>;
  children: Plain[];
}

interface Verdict {
  ok: boolean;
  elements: Plain[];
  error: string | null;
}

function plain(e: ExportElement): Plain {
  return { name: e.name, attrs: { ...e.attrs }, children: e.children.map(plain) };
}

function oracle(doc: Buffer): Verdict {
  const p = sax.parser(true, { xmlns: false });
  const elements: Plain[] = [];
  const stack: Plain[] = [];
  let depth = 0;
  let error: string | null = null;
  p.onerror = (e) => {
    error ??= e.message.split('\n')[0]!;
    throw e;
  };
  p.onopentag = (t) => {
    depth++;
    if (depth < 2) return;
    const attrs: Record<string, string> = {};
    for (const [k, v] of Object.entries(t.attributes as Record<string, string>)) {
      attrs[k] = v.replace(/\r\n|[\r\n\t]/g, ' ');
    }
    const el: Plain = { name: t.name, attrs, children: [] };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    stack.push(el);
  };
  p.onclosetag = () => {
    depth--;
    if (depth < 1) return;
    const el = stack.pop()!;
    if (stack.length === 0) elements.push(el);
  };
  try {
    p.write(doc.toString('utf8')).close();
  } catch {
    // first error recorded in onerror
  }
  return { ok: error === null, elements, error };
}

function ours(doc: Buffer, cuts: number[]): Verdict & { messages: string[] } {
  const r = scan(doc, cuts);
  const errors = r.defects.filter((d) => d.kind === 'not-well-formed' || d.kind === 'truncated');
  return {
    ok: errors.length === 0,
    elements: r.elements.map(plain),
    error: errors[0]?.message ?? null,
    messages: errors.map((d) => d.message),
  };
}

/** Well-formedness errors sax strict does not report (see the header). */
const SAX_LENIENT = [
  /^duplicate attribute/,
  /^"<" inside an attribute value/,
  /^stray "<"/,
  /^invalid processing instruction/,
  /^invalid end tag/,
  /^invalid markup starting with "<!"/,
];

function compare(doc: Buffer, cuts: number[], label: string): void {
  const a = ours(doc, cuts);
  const b = oracle(doc);
  const ctx = `${label}\nours: ${a.error}\nsax: ${b.error}\ndoc: ${JSON.stringify(doc.toString().slice(doc.indexOf('<HealthData')))}`;
  if (!a.ok && b.ok && SAX_LENIENT.some((re) => re.test(a.messages[0]!))) return;
  assert.equal(a.ok, b.ok, `verdict differs: ${ctx}`);
  if (a.ok) {
    assert.deepEqual(a.elements, b.elements, ctx);
    return;
  }
  // Both stop at the first error; they may disagree on whether the element holding it completed.
  // When ours stopped at an error sax tolerates, sax reads on to a later error: only the prefix must agree.
  const [short, long] = a.elements.length <= b.elements.length ? [a, b] : [b, a];
  const lenientFirst = SAX_LENIENT.some((re) => re.test(a.messages[0]!));
  assert.ok(
    long.elements.length - short.elements.length <= 1 || (lenientFirst && short === a),
    `element counts differ (ours ${a.elements.length}, sax ${b.elements.length}): ${ctx}`,
  );
  assert.deepEqual(short.elements, long.elements.slice(0, short.elements.length), ctx);
}

const EXTRA =
  ' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Dana’s Apple Watch" value="HKCategoryValueSleepAnalysisAsleepDeep"/>\n' +
  ' <Record type="HKQuantityTypeIdentifierBodyMass" sourceName=\'Health Mate\' unit="kg" value="63.85">\n' +
  '  <MetadataEntry key="Health Mate App Version" value="6.14.2"/>\n </Record>\n';
const BASE_BODY = BODY.replace('</HealthData>', `${EXTRA}</HealthData>`);

const MUTATIONS: ((s: string, r: () => number) => string)[] = [
  (s, r) => s.slice(0, Math.floor(r() * s.length)),
  (s, r) => insert(s, r, pick(r, ['"', "'"])),
  (s, r) => insert(s, r, '<'),
  (s, r) => insert(s, r, '&'),
  (s, r) => insert(s, r, pick(r, [' ', '\t', '\n', '\r\n', '  \n '])),
  (s, r) => insert(s, r, pick(r, ['/', '>', '=', '</Record>', '<Record/>', '&amp;', '&#x2019;', ']]>'])),
  (s, r) => {
    const at = Math.floor(r() * s.length);
    return s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 3));
  },
  (s, r) => {
    const ends = [...s.matchAll(/<\/(\w+)>/g)];
    const m = ends[Math.floor(r() * ends.length)];
    if (m === undefined) return s;
    return `${s.slice(0, m.index!)}</${m[1]}x>${s.slice(m.index! + m[0].length)}`;
  },
  (s, r) => {
    const attrs = [...s.matchAll(/ (\w+)="[^"]*"/g)];
    const m = attrs[Math.floor(r() * attrs.length)];
    if (m === undefined) return s;
    const at = m.index! + m[0].length;
    return s.slice(0, at) + m[0] + s.slice(at);
  },
  (s, r) => {
    const eqs = [...s.matchAll(/="/g)];
    const m = eqs[Math.floor(r() * eqs.length)];
    if (m === undefined) return s;
    return s.slice(0, m.index!) + pick(r, ['=', ' = "', "='", '= "']) + s.slice(m.index! + 2);
  },
  (s) => s.replace(/\n/g, '\r\n'),
];

function insert(s: string, r: () => number, what: string): string {
  const at = Math.floor(r() * s.length);
  return s.slice(0, at) + what + s.slice(at);
}

function pick<T>(r: () => number, xs: T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function randomCuts(r: () => number, n: number): number[] {
  const k = Math.floor(r() * 6);
  return Array.from({ length: k }, () => Math.floor(r() * (n + 1)));
}

describe('differential against sax (strict)', () => {
  it('agrees on the hand-made fixtures', () => {
    const docs = [
      exportXml('valid', BASE_BODY),
      exportXml('unclosed-attlist', BASE_BODY),
      exportXml('missing-gt', BASE_BODY),
      exportXml('extra-gt', BASE_BODY),
      `\ufeff${exportXml('valid', BASE_BODY)}`,
      exportXml('valid', BASE_BODY).replace(/\n/g, '\r\n'),
      '<HealthData locale="en_US"><A b="1"><C/></A><!-- c --><?p?></HealthData>',
      '<HealthData><A/>',
      '<HealthData><A></A></HealthData><!-- trailing -->\n',
    ];
    docs.forEach((d, i) => {
      compare(Buffer.from(d), [], `fixture ${i}`);
    });
  });

  it('agrees on 3000 seeded mutations with random chunk boundaries', () => {
    const r = rng(20240211);
    const head = exportXml('valid', '');
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      let body = BASE_BODY;
      const n = 1 + Math.floor(r() * 2);
      const applied: number[] = [];
      for (let j = 0; j < n; j++) {
        const m = Math.floor(r() * MUTATIONS.length);
        applied.push(m);
        body = MUTATIONS[m]!(body, r);
      }
      const doc = Buffer.from(head + body);
      try {
        compare(doc, randomCuts(r, doc.length), `mutation #${i} (${applied.join(',')})`);
      } catch (e) {
        if (failures.length < 5) failures.push((e as Error).message);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('agrees on long runs that hit and miss the remembered attribute layouts and values', () => {
    // The scanner confirms an attribute against the one written at the same place in the previous element
    // of that name, and a value against the last one there: runs of near-identical elements with values that
    // are prefixes of each other, reordered, repeated, missing or single-quoted attributes exercise every
    // way that shortcut could wrongly succeed. The check-only scan keeps layouts of its own.
    const r = rng(7);
    const failures: string[] = [];
    for (let doc = 0; doc < 300; doc++) {
      const d = layoutDoc(r, LAYOUT_VALUES);
      const cuts = randomCuts(r, d.length);
      try {
        compare(d, cuts, `layout doc #${doc}`);
        sameAsFullScan(d, cuts);
      } catch (e) {
        if (failures.length < 3) failures.push(`layout doc #${doc}: ${(e as Error).message.slice(0, 2000)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('a check-only scan judges references and "<" in remembered layouts as a full scan does', () => {
    // Values the check passes over without decoding (&lt; &gt; &amp; in place) next to ones it must refer
    // to the full reference check, at every place in a run, with chunk cuts anywhere (inside a reference too).
    const r = rng(11);
    const values = [
      ...LAYOUT_VALUES,
      'a&quot;b',
      '&#x41;&#66;',
      '&bogus;',
      'a&lt',
      '&am;p',
      '&ampx;',
      'x&',
      'a<b',
      '&lt;<',
      '&#0;',
      'a&lt;b&gt;c&amp;d&apos;',
    ];
    const failures: string[] = [];
    for (let doc = 0; doc < 400; doc++) {
      const d = layoutDoc(r, values);
      try {
        sameAsFullScan(d, randomCuts(r, d.length));
      } catch (e) {
        if (failures.length < 3) failures.push(`doc #${doc}: ${(e as Error).message.slice(0, 2000)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('a check-only scan finds duplicates among attributes past the remembered layout as a full scan does', () => {
    // An element name remembers 64 attribute names; the 65th on is checked for duplicates without a slot.
    const many = Array.from({ length: 70 }, (_, i) => ` a${i}="${i}"`).join('');
    for (const dup of [' a3="x"', ' a66="x"', ' a69="x"']) {
      for (const tail of ['', dup]) {
        const doc = Buffer.from(
          exportXml(
            'valid',
            `<HealthData locale="en_US">\n <Record${many}/>\n <Record${many}${tail}/>\n</HealthData>\n`,
          ),
        );
        const full = scan(doc, 97);
        assert.equal(full.result.wellFormed, tail === '', `full scan, tail ${tail}`);
        sameAsFullScan(doc, [97, 500, 1200]);
      }
    }
  });

  it('reads the same whatever way markup straddles the pieces it is fed in', () => {
    // A piece's first bytes finish the markup carried from the last one on a short bridge; markup longer
    // than the bridge (long values, many attributes) falls back to joining the whole piece.
    const r = rng(21);
    for (let doc = 0; doc < 12; doc++) {
      let body = '';
      for (let e = 0; e < 300; e++) {
        const long = r() < 0.1 ? 'x'.repeat(Math.floor(r() * 20_000)) : '';
        const bad = doc % 4 === 3 && e === 250 ? ' a="1" a="2"' : '';
        body += ` <Record type="T${e % 3}" v="${long}${e}" unit="u"${bad}>\n  <MetadataEntry key="k" value="${'y'.repeat(Math.floor(r() * 300))}"/>\n </Record>\n`;
      }
      const d = Buffer.from(exportXml('valid', `<HealthData locale="en_US">\n${body}</HealthData>\n`));
      const whole = scan(d, d.length);
      const cuts: number[] = [];
      for (let at = 0; at < d.length; at += 16_500 + Math.floor(r() * 60_000)) cuts.push(at);
      const pieces = scan(d, cuts);
      assert.deepEqual(pieces.defects, whole.defects, `doc ${doc}`);
      assert.deepEqual(pieces.result, whole.result, `doc ${doc}`);
      assert.deepEqual(
        pieces.elements.map((e) => [e.startOffset, e.endOffset, e.line, e.attrs.v?.length]),
        whole.elements.map((e) => [e.startOffset, e.endOffset, e.line, e.attrs.v?.length]),
      );
      sameAsFullScan(d, cuts);
    }
  });

  it('a check-only scan reaches the verdict, defects and positions of a full scan on the mutations', () => {
    const r = rng(99);
    const head = exportXml('valid', '');
    const failures: string[] = [];
    for (let i = 0; i < 1500; i++) {
      let body = BASE_BODY;
      for (let j = 0, n = 1 + Math.floor(r() * 2); j < n; j++)
        body = MUTATIONS[Math.floor(r() * MUTATIONS.length)]!(body, r);
      const doc = Buffer.from(head + body);
      try {
        sameAsFullScan(doc, randomCuts(r, doc.length));
      } catch (e) {
        if (failures.length < 3) failures.push(`mutation #${i}: ${(e as Error).message.slice(0, 1500)}`);
      }
    }
    assert.deepEqual(failures, []);
  });
});

const LAYOUT_VALUES = [
  'a',
  'ab',
  'abc',
  'abc ',
  'ab"c',
  "ab'c",
  'a&amp;b',
  'a&lt;b&gt;',
  'Dana’s Watch',
  'Dana’s',
  '😀x',
  'a\tb',
  '',
  'HKQuantityTypeIdentifierStepCount',
  'HKQuantityTypeIdentifierStepCounts',
  '2024-01-01 10:00:00 +0100',
];

/** 40 Records and Workouts whose attributes follow, reorder, skip and repeat one layout, valued from `values`. */
function layoutDoc(r: () => number, values: string[]): Buffer {
  const names = ['type', 'sourceName', 'unit', 'value', 'startDate', 'k'];
  let body = '';
  let order = [...names];
  for (let e = 0; e < 40; e++) {
    if (r() < 0.1) order = [...names].sort(() => r() - 0.5);
    const attrs: string[] = [];
    for (const n of order) {
      if (r() < 0.08) continue;
      const raw = pick(r, values);
      const single = raw.includes('"') || r() < 0.05;
      if (single && raw.includes("'")) continue;
      const q = single ? "'" : '"';
      const eq = r() < 0.05 ? ' = ' : '=';
      attrs.push(`${r() < 0.05 ? '\n  ' : ' '}${n}${eq}${q}${raw}${q}`);
      if (r() < 0.01) attrs.push(` ${n}="dup"`);
    }
    const el = r() < 0.5 ? 'Record' : 'Workout';
    body += ` <${el}${attrs.join('')}${r() < 0.8 ? '/>' : `><MetadataEntry${attrs.slice(0, 2).join('')}/></${el}>`}\n`;
  }
  return Buffer.from(exportXml('valid', `<HealthData locale="en_US">\n${body}</HealthData>\n`));
}

/** A check-only scan's verdict, defects, counts and top-level positions must be the full scan's. */
function sameAsFullScan(doc: Buffer, cuts: number[]): void {
  const full = scan(doc, cuts);
  const check = scan(doc, cuts, { checkOnly: true });
  assert.deepEqual(check.defects, full.defects);
  assert.deepEqual(check.result, full.result);
  // Without an onElement handler, the check passes over elements on its compiled fast path.
  const fast = scan(doc, cuts, { checkOnly: true }, false);
  assert.deepEqual(fast.defects, full.defects);
  assert.deepEqual(fast.result, full.result);
  assert.deepEqual(
    check.elements.map((e) => [e.name, e.line, e.column, e.startOffset, e.endOffset]),
    full.elements.map((e) => [e.name, e.line, e.column, e.startOffset, e.endOffset]),
  );
}
