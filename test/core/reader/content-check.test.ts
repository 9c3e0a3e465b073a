/**
 * The compiled fast path of the check-only scan (src/core/reader/content-check.ts): what it accepts
 * and where it stops, and, over mutated documents cut anywhere, that a check with it reaches exactly
 * the result and defects of a check without it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContentCheck, contentCheckAvailable } from '../../../src/core/reader/content-check.js';
import type { ScannerLimits } from '../../../src/core/reader/limits.js';
import { createScanner } from '../../../src/core/reader/scanner.js';
import type { Defect } from '../../../src/core/reader/types.js';
import { uniform as rng } from '../../../src/generator/prng.js';
import { exportXml } from './fixtures.js';
import { scan } from './helpers.js';
import { nestedBody as body, mutate } from './mutations.js';

const NO_LIMIT = 1 << 30;

/** Where the fast path stops in `text` read whole, and how many top-level elements it passed. */
function stop(text: string, maxDepth = 64, maxItem = NO_LIMIT): [number, number] {
  const fast = ContentCheck.create();
  assert.ok(fast);
  const buf = Buffer.from(text);
  const at = fast.scan(buf, 0, buf.length, maxDepth, maxItem);
  return [at, fast.elements()];
}

const RECORD =
  '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="Dana’s iPhone" unit="count" ' +
  'startDate=\'2024-02-11 07:11:31 -0800\' value="12"/>';
/** RECORD's length in bytes. */
const R = Buffer.byteLength(RECORD);

describe('the check’s compiled fast path', () => {
  it('is built and loads (npm run build:wasm), so the check really uses it', () => {
    assert.equal(contentCheckAvailable(), true);
  });

  it('passes over whole elements, nested ones, comments and text, and counts the top-level ones', () => {
    const body =
      `\n ${RECORD}\n <Workout a="1">\n  <MetadataEntry key="k" value="&lt;&gt;&amp;&quot;&apos;&#10;&#x1F600;"/>\n` +
      '  <!-- note - with dashes -->\n  text &amp; more\n </Workout >\n <Me/>\n';
    assert.deepEqual(stop(body), [Buffer.byteLength(body), 3]);
  });

  it('stops before the root’s end tag, where the scanner closes the root', () => {
    const body = ` ${RECORD}\n</HealthData>\n`;
    assert.deepEqual(stop(body), [Buffer.from(body).indexOf('</HealthData>'), 1]);
  });

  it('stops at an element cut by the end of the input, and at a reference that may be cut', () => {
    assert.deepEqual(stop(` ${RECORD}\n <Record type="x`), [R + 3, 1]);
    assert.deepEqual(stop(` ${RECORD} a &am`), [R + 4, 1]);
    assert.deepEqual(stop(` ${RECORD} <Workout><Me/>`), [R + 2, 1]);
  });

  it('leaves to the scanner every error and everything it does not know, at the element holding it', () => {
    const cases = [
      '<A b="1" b="2"/>', // duplicate attribute
      '<A b="1"c="2"/>', // no space between attributes
      '<A b=1/>', // unquoted
      '<A b="<"/>', // '<' in a value
      '<A b="&foo;"/>', // undeclared entity
      '<A b="&#0;"/>', // not a legal character
      '<A b="&#x110000;"/>',
      '<A b="&#1F;"/>', // hex digits in a decimal reference
      '<A b="&#X41;"/>', // capital X
      '<A b="&#00000000065;"/>', // ';' more than 12 bytes on
      '<A b="&amp"/>',
      '<A>&lt</A>',
      '<A></B>',
      '<A></AB>',
      '<A><B></A></B>',
      '<Ä/>', // non-ASCII name: left to the scanner, which reads it
      '<A bä="1"/>',
      '<A\u0001/>',
      '<A><!-- a -- b --></A>',
      '<A><![CDATA[x]]></A>',
      '<A><?pi x?></A>',
      '<A/ >',
      '<1A/>',
      '< A/>',
    ];
    for (const c of cases) {
      const text = ` ${RECORD}\n ${c}\n ${RECORD}`;
      assert.deepEqual(stop(text), [R + 3, 1], c);
    }
  });

  it('stops where the scanner’s depth and size limits would be at stake', () => {
    assert.deepEqual(stop('<A><B><C/></B></A>', 3), [18, 1]);
    assert.deepEqual(stop('<A><B><C></C></B></A>', 3), [0, 0]);
    assert.deepEqual(stop(`${RECORD}${RECORD}`, 64, R), [2 * R, 2]);
    assert.deepEqual(stop(`${RECORD}${RECORD}`, 64, R - 1), [0, 0]);
  });
});

/** A check-only scan reporting top-level elements by name and span (as upload's part planning does). */
function spans(doc: Buffer, cuts: number[], fastPath: boolean, limits: Partial<ScannerLimits> = {}) {
  const out: [string, number, number][] = [];
  const defects: Defect[] = [];
  const s = createScanner(
    { onTopLevel: (name, start, end) => out.push([name, start, end]), onDefect: (d) => defects.push(d) },
    limits,
    undefined,
    { checkOnly: true, fastPath },
  );
  let from = 0;
  for (const c of [...cuts].sort((a, b) => a - b).concat(doc.length)) {
    if (c > from) s.write(doc.subarray(from, c));
    from = Math.max(from, c);
  }
  s.end();
  return { out, defects, result: s.result() };
}

function sameWithAndWithout(doc: Buffer, cuts: number[], limits: Partial<ScannerLimits>): void {
  const slow = scan(doc, cuts, { checkOnly: true, fastPath: false }, false, limits);
  const fast = scan(doc, cuts, { checkOnly: true }, false, limits);
  assert.deepEqual(fast.defects, slow.defects);
  assert.deepEqual(fast.result, slow.result);
  const slowSpans = spans(doc, cuts, false, limits);
  const fastSpans = spans(doc, cuts, true, limits);
  assert.deepEqual(fastSpans, slowSpans);
  assert.deepEqual(slowSpans.result, slow.result);
}

describe('a check with the fast path', () => {
  it('reaches the result and defects of one without it, over 4000 mutations cut anywhere', () => {
    const r = rng(4242);
    const head = exportXml('valid', '');
    const failures: string[] = [];
    for (let i = 0; i < 4000; i++) {
      const text = mutate(body(r), r);
      const doc = Buffer.from(head + text);
      const cuts = Array.from({ length: Math.floor(r() * 8) }, () => Math.floor(r() * (doc.length + 1)));
      // Small limits now and then, so that the fast path's stops for them are exercised too.
      const limits: Partial<ScannerLimits> =
        r() < 0.2 ? { maxDepth: 2 + Math.floor(r() * 4), maxElementBytes: 20 + Math.floor(r() * 400) } : {};
      try {
        sameWithAndWithout(doc, cuts, limits);
      } catch (e) {
        if (failures.length < 3) failures.push(`mutation #${i}: ${(e as Error).message.slice(0, 1500)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('reports every top-level element’s name and span, past the 512 it records per call', () => {
    let text = '<HealthData>\n';
    for (let k = 0; k < 3000; k++)
      text += k % 7 === 0 ? ` <Workout n="${k}"><A/></Workout>\n` : ` <Record n="${k}"/>\n`;
    // An error at the end: its line and column show that nothing the fast path did moved the count.
    const doc = Buffer.from(exportXml('valid', `${text} <Record a="1" a="2"/>\n</HealthData>\n`));
    const fast = spans(doc, [], true);
    assert.equal(fast.out.length, 3000);
    assert.equal(fast.defects.length, 1);
    assert.deepEqual(fast, spans(doc, [], false));
    assert.deepEqual(fast.out[7], [
      'Workout',
      doc.indexOf('<Workout n="7"'),
      doc.indexOf(' <Record n="8"') - 1,
    ]);
  });

  it('reaches the same on a byte that is not UTF-8, wherever it sits', () => {
    const doc = Buffer.from(exportXml('valid', body(rng(7))));
    const start = doc.indexOf('<HealthData');
    for (let at = start; at < doc.length; at += 37) {
      const bad = Buffer.concat([doc.subarray(0, at), Buffer.from([0xff]), doc.subarray(at)]);
      sameWithAndWithout(bad, [at - 5, at + 3], {});
    }
  });
});
