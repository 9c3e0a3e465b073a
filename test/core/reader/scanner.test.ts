import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExportScanner } from '../../../src/core/reader/scanner.js';
import type { TopLevelElement } from '../../../src/core/reader/types.js';
import { BODY, exportXml, XML_DECL } from './fixtures.js';
import { kinds, scan } from './helpers.js';

describe('scanner: a valid export', () => {
  const { elements, defects, result } = scan(exportXml());

  it('reports the prolog facts', () => {
    assert.deepEqual(defects, []);
    assert.equal(result.wellFormed, true);
    assert.equal(result.exportVersion, 13);
    assert.equal(result.locale, 'en_US');
    assert.equal(result.rootSeen, true);
    assert.equal(result.closed, true);
    assert.deepEqual(result.xmlDeclaration, { version: '1.0', encoding: 'UTF-8', standalone: null });
    assert.equal(result.topLevelCount, 7);
  });

  it('yields each top-level element with decoded attributes and children', () => {
    assert.deepEqual(
      elements.map((e) => e.name),
      ['ExportDate', 'Me', 'Record', 'Record', 'Correlation', 'Workout', 'ActivitySummary'],
    );
    const hr = elements[2]!;
    assert.equal(hr.attrs.sourceName, 'Dana’s Apple Watch');
    assert.equal(hr.attrs.device, '<<HKDevice: 0x2835c1e50>, name:Apple Watch, hardware:Watch6,2>');
    assert.deepEqual(hr.children, [
      {
        name: 'MetadataEntry',
        attrs: { key: 'HKMetadataKeyHeartRateMotionContext', value: '1' },
        children: [],
        line: hr.line + 1,
        column: 3,
      },
    ]);
    assert.equal(elements[3]!.attrs.sourceName, '🕛🕐🕑🕒');
    assert.equal(
      elements[4]!.children[0]!.attrs.value,
      'withings-app://timeline/measure?userid=4711&date=1707748247’😀',
    );
    const workout = elements[5]!;
    assert.deepEqual(
      workout.children.map((c) => c.name),
      ['MetadataEntry', 'WorkoutActivity'],
    );
    assert.equal(workout.children[1]!.children[0]!.attrs.average, '231');
  });

  it('gives byte offsets that cut the source into exact element text', () => {
    const src = Buffer.from(exportXml());
    for (const e of elements) {
      const text = src.subarray(e.startOffset, e.endOffset).toString();
      assert.ok(text.startsWith(`<${e.name}`), text);
      assert.ok(text.endsWith('/>') || text.endsWith(`</${e.name}>`), text);
    }
    const header = src.subarray(0, result.rootContentStart!).toString();
    assert.ok(header.endsWith('<HealthData locale="en_US">'));
    assert.equal(src.subarray(result.rootContentEnd!).toString(), '</HealthData>\n');
  });

  it('gives 1-based line and byte column', () => {
    const lines = exportXml().split('\n');
    const hr = elements[2]!;
    assert.ok(lines[hr.line - 1]!.startsWith(' <Record type="HKQuantityTypeIdentifierHeartRate"'));
    assert.equal(hr.column, 2);
  });

  it('yields identical results whatever the chunking', () => {
    const src = Buffer.from(exportXml());
    const expected = JSON.stringify([elements, result]);
    for (const size of [1, 2, 3, 7, 64, 1000]) {
      const r = scan(src, size);
      assert.equal(JSON.stringify([r.elements, r.result]), expected, `chunk size ${size}`);
    }
    for (let cut = 0; cut < src.length; cut += 3) {
      const r = scan(src, [cut]);
      assert.equal(JSON.stringify([r.elements, r.result]), expected, `split at ${cut}`);
    }
  });
});

describe('scanner: DTD defects (format §2.1 table)', () => {
  const cases = [
    { variant: 'valid', expected: [] },
    { variant: 'unclosed-attlist', expected: ['dtd-unclosed-attlist', 'dtd-extra-gt'] },
    { variant: 'missing-gt', expected: ['dtd-missing-gt'] },
    { variant: 'extra-gt', expected: ['dtd-extra-gt'] },
  ] as const;
  for (const { variant, expected } of cases) {
    it(`${variant}: ${expected.join(', ') || 'no defect'}, elements still read`, () => {
      const { elements, defects, result } = scan(exportXml(variant));
      assert.deepEqual(kinds(defects), expected);
      assert.equal(elements.length, 7);
      assert.equal(result.wellFormed, expected.length === 0);
      assert.equal(result.repairable, true);
      assert.ok(defects.every((d) => d.repairable));
      assert.equal(result.exportVersion, 13);
    });
  }

  it('unclosed ATTLIST is located at the next declaration, as expat reports it', () => {
    const src = exportXml('unclosed-attlist');
    const d = scan(src).defects[0]!;
    assert.equal(src.split('\n')[d.line - 1], '<!ELEMENT RightEye EMPTY>');
    assert.equal(d.column, 1);
    assert.equal(src.slice(d.offset, d.offset + 9), '<!ELEMENT');
  });

  it('DTD removed: no DOCTYPE, no defect', () => {
    const { result, defects, elements } = scan(XML_DECL + BODY);
    assert.deepEqual(defects, []);
    assert.equal(result.doctype, null);
    assert.equal(elements.length, 7);
  });

  it('billion laughs: entities reported, never expanded; a use is a well-formedness error', () => {
    let doc = `${XML_DECL}<!DOCTYPE HealthData [\n<!ENTITY lol "lol">\n`;
    for (let i = 1; i < 10; i++) {
      doc += `<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">\n`;
    }
    const declared = `${doc}]>\n<HealthData locale="en_US">\n <Record type="a"/>\n</HealthData>\n`;
    const r1 = scan(declared);
    assert.deepEqual(new Set(kinds(r1.defects)), new Set(['dtd-entity-declared']));
    assert.equal(r1.result.defectCounts['dtd-entity-declared'], 10);
    assert.equal(r1.result.wellFormed, true);
    const used = `${doc}]>\n<HealthData locale="en_US">\n <Record type="&lol9;"/>\n</HealthData>\n`;
    const r2 = scan(used);
    assert.equal(r2.elements.length, 0);
    assert.equal(r2.result.wellFormed, false);
    assert.equal(r2.result.repairable, false);
    assert.match(r2.defects.at(-1)!.message, /undeclared entity "&lol9;"/);
  });

  it('external DTD and external entities are reported, not fetched', () => {
    const ext = `${XML_DECL}<!DOCTYPE HealthData SYSTEM "http://127.0.0.1:1/x.dtd">\n<HealthData locale="x"/>\n`;
    const r = scan(ext);
    assert.deepEqual(kinds(r.defects), ['dtd-external-reference']);
    assert.equal(r.result.doctype!.externalId, 'SYSTEM "http://127.0.0.1:1/x.dtd"');
    const ent = `${XML_DECL}<!DOCTYPE HealthData [\n<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n<HealthData locale="&xxe;"/>\n`;
    const r2 = scan(ent);
    assert.deepEqual(kinds(r2.defects), ['dtd-entity-declared', 'dtd-external-reference', 'not-well-formed']);
    assert.equal(r2.result.locale, null);
  });

  it('other subset garbage is dtd-malformed', () => {
    const doc = `<!DOCTYPE HealthData [\n<!ELEMNT x EMPTY>\n junk\n]>\n<HealthData/>`;
    assert.deepEqual(kinds(scan(doc).defects), ['dtd-malformed', 'dtd-malformed']);
  });
});

describe('scanner: characters and encodings', () => {
  it('counts every illegal control character and locates the first few', () => {
    const body = BODY.replace('Dana’s Apple Watch', 'Dana\x0b’s\x01 Apple Watch');
    const doc = exportXml('valid', body.replace('</HealthData>', `${'\x0b'.repeat(20)}</HealthData>`));
    const { result, defects, elements } = scan(doc, 5);
    assert.equal(result.illegalCharCount, 22);
    assert.equal(defects.length, 10);
    assert.equal(result.defectCounts['illegal-character'], 22);
    const first = defects[0]!;
    assert.equal(
      Buffer.from(doc)
        .subarray(first.offset, first.offset + 1)
        .toString(),
      '\x0b',
    );
    assert.equal(doc.split('\n')[first.line - 1]!.includes('Dana\x0b'), true);
    assert.equal(result.wellFormed, false);
    assert.equal(result.repairable, true);
    assert.equal(elements.length, 7);
  });

  it('accepts a UTF-8 BOM and reports it', () => {
    const { result, defects } = scan(`\ufeff${exportXml()}`, 1);
    assert.equal(result.bom, true);
    assert.deepEqual(defects, []);
  });

  it('CRLF: values normalised, lines counted once per CRLF', () => {
    const doc = exportXml().replace(/\n/g, '\r\n').replace('value="64"', 'value="6\r\n4\t"');
    const { elements, defects } = scan(doc, 7);
    assert.deepEqual(defects, []);
    assert.equal(elements[2]!.attrs.value, '6 4 ');
    assert.equal(
      elements[2]!.line,
      exportXml()
        .split('\n')
        .findIndex((l) => l.includes('HeartRate"')) + 1,
    );
  });

  it('character references: &#x2019; and &#128512; decode; illegal ones are errors', () => {
    const ok = scan('<HealthData><R a="&#x2019;&#128512;&#65;&lt;&quot;&apos;&gt;&amp;"/></HealthData>', 1);
    assert.equal(ok.elements[0]!.attrs.a, '’😀A<"\'>&');
    for (const bad of ['&#0;', '&#x1;', '&#xD800;', '&nbsp;', '& ', '&#x;', '&#12a;']) {
      const r = scan(`<HealthData><R a="${bad}"/></HealthData>`);
      assert.equal(r.result.wellFormed, false, bad);
      assert.equal(r.elements.length, 0, bad);
    }
    const text = scan('<HealthData>&amp;&#10;<R/>&bogus;</HealthData>', 1);
    assert.equal(text.elements.length, 1);
    assert.match(text.defects[0]!.message, /bogus/);
  });
});

describe('scanner: structure errors and limits', () => {
  it('truncation: EOF before </HealthData>', () => {
    const src = exportXml();
    const cut = src.indexOf('<Workout');
    const { result, defects, elements } = scan(src.slice(0, cut + 20));
    assert.deepEqual(kinds(defects), ['truncated']);
    assert.equal(result.closed, false);
    assert.equal(elements.length, 5);
    // Reported where the unfinished markup starts.
    assert.equal(defects[0]!.offset, Buffer.byteLength(src.slice(0, cut)));
  });

  it('truncation inside the DTD and before the root', () => {
    assert.deepEqual(kinds(scan(exportXml().slice(0, 200)).defects), ['truncated']);
    assert.deepEqual(kinds(scan(XML_DECL).defects), ['truncated']);
  });

  it('empty input and binary garbage are not well-formed', () => {
    assert.deepEqual(kinds(scan('').defects), ['not-well-formed']);
    const garbage = Buffer.alloc(4096);
    let x = 7;
    for (let i = 0; i < garbage.length; i++) garbage[i] = x = (x * 1103515245 + 12345) & 0xff;
    const r = scan(garbage);
    assert.equal(r.result.wellFormed, false);
    assert.equal(r.result.repairable, false);
    assert.ok(kinds(r.defects).includes('not-well-formed'));
  });

  it('mismatched tags, duplicate attributes, bad quoting, stray < are reported with a position', () => {
    const cases = [
      ['<HealthData><A></B></HealthData>', /does not match/],
      ['<HealthData><A x="1" x="2"/></HealthData>', /duplicate attribute/],
      ['<HealthData><A x=1/></HealthData>', /unquoted/],
      ['<HealthData><A x="1"y="2"/></HealthData>', /whitespace/],
      ['<HealthData>< A/></HealthData>', /stray "<"/],
      ['<HealthData><A x="<"/></HealthData>', /inside an attribute value/],
      ['<HealthData/><HealthData/>', /after the root/],
      ['x<HealthData/>', /before the root/],
    ] as const;
    for (const [doc, re] of cases) {
      const { defects } = scan(doc);
      assert.equal(defects.length, 1, doc);
      assert.match(defects[0]!.message, re);
      assert.equal(defects[0]!.kind, 'not-well-formed');
    }
  });

  it('a duplicate attribute is caught even where earlier elements taught the scanner their layout', () => {
    // [body, duplicated name, elements read before the error]
    const cases: [string, string, number][] = [
      ['<A a="1" b="2"/><A a="1" a="2"/>', 'a', 1],
      ['<A a="1" b="2"/><A b="1" b="2"/>', 'b', 1],
      ['<A a="1" b="2" c="3"/><A a="1" b="2" a="3"/>', 'a', 1],
      ['<A a="1" b="2"/><A a="1" b="2" b="3"/>', 'b', 1],
      // A shorter element leaves the layout as [y, y]: both attributes then take the shortcut.
      ['<A x="1" y="2"/><A y="1"/><A y="1" y="2"/>', 'y', 2],
    ];
    for (const [body, name, read] of cases) {
      const { defects, elements } = scan(`<HealthData>${body}</HealthData>`);
      assert.deepEqual(
        defects.map((d) => d.message),
        [`duplicate attribute "${name}" in <A>`],
        body,
      );
      assert.equal(elements.length, read, body);
    }
  });

  it('reads an element larger than a chunk intact, however the input is cut', () => {
    const big = 'x'.repeat(200_000);
    const doc = `<HealthData><A v="${big}"><B w="${big}y"/></A><C/></HealthData>`;
    for (const chunk of [1000, 16_384, 65_536, 100_000, 1 << 20]) {
      const { elements, defects } = scan(doc, chunk);
      assert.deepEqual(defects, [], `chunk ${chunk}`);
      assert.deepEqual(
        elements.map((e) => [e.name, e.attrs.v?.length, e.children[0]?.attrs.w?.length]),
        [
          ['A', 200_000, 200_001],
          ['C', undefined, undefined],
        ],
        `chunk ${chunk}`,
      );
    }
  });

  it('keeps nothing of a chunk after write(), so a reader may reuse its buffer', () => {
    const big = 'y'.repeat(150_000);
    const doc = Buffer.from(
      `${exportXml('valid', '')}<HealthData locale="en_US">\n <Record type="a" value="1"/>\n <A v="${big}"><B w="’"/></A>\n <Record type="a" value="2"/>\n</HealthData>\n`,
    );
    const expected = scan(doc, 1 << 20);
    for (const size of [7, 1000, 65_536, 70_000]) {
      const elements: TopLevelElement[] = [];
      const scanner = new ExportScanner({ onElement: (e) => elements.push(e) });
      const shared = Buffer.alloc(size);
      for (let at = 0; at < doc.length; at += size) {
        const n = doc.copy(shared, 0, at, Math.min(at + size, doc.length));
        scanner.write(shared.subarray(0, n));
        shared.fill(0x58); // what the next read would overwrite it with, in the worst case
      }
      scanner.end();
      assert.deepEqual(elements, expected.elements, `buffer of ${size}`);
      assert.deepEqual(scanner.result(), expected.result, `buffer of ${size}`);
    }
  });

  it('10k-deep nesting stops at the depth limit', () => {
    const doc = `<HealthData>${'<a>'.repeat(10_000)}${'</a>'.repeat(10_000)}</HealthData>`;
    const { defects, elements } = scan(doc, 4096);
    assert.equal(elements.length, 0);
    assert.equal(defects.length, 1);
    assert.match(defects[0]!.message, /deeper than 64/);
  });

  it('a 100 MB attribute hits the element limit with bounded memory', () => {
    const s = new ExportScanner({ onDefect: (d) => defects.push(d) });
    const defects: { message: string }[] = [];
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    s.write(Buffer.from('<HealthData><Record value="'));
    const block = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 100; i++) {
      s.write(block);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    s.write(Buffer.from('"/></HealthData>'));
    s.end();
    assert.equal(defects.length, 1);
    assert.match(defects[0]!.message, /larger than 16777216 bytes/);
    assert.ok(peak - rss0 < 60 * 1024 * 1024, `rss grew ${(peak - rss0) / 1e6} MB`);
  });
});
