import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExport } from '../../../src/sandbox/backend/xml-import.js';

// Expected texts were produced by Python 3.11's ElementTree.iterparse on the same bytes (contract §5.1).
const HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const DTD_OK = [
  '<!DOCTYPE HealthData [',
  '<!-- HealthKit Export Version: 13 -->',
  '<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout)*)>',
  '<!ATTLIST HealthData',
  '  locale CDATA #REQUIRED',
  '>',
  '<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>',
  '<!ATTLIST Record',
  '  type          CDATA #REQUIRED',
  '  unit          CDATA #IMPLIED',
  '>',
  '<!ELEMENT RightEye EMPTY>',
  ']>',
].join('\n');
const BODY =
  '\n<HealthData locale="en_US">\n<ExportDate value="2024-01-01 00:00:00 +0000"/>\n</HealthData>\n';

const cases: [string, string, string | null][] = [
  ['valid DTD', HEAD + DTD_OK + BODY, null],
  ['no DTD', HEAD + BODY.trimStart(), null],
  [
    'unclosed ATTLIST before an ELEMENT',
    HEAD + DTD_OK.replace('  unit          CDATA #IMPLIED\n>', '  unit          CDATA #IMPLIED') + BODY,
    'syntax error: line 12, column 0',
  ],
  [
    'last > of the subset missing',
    HEAD + DTD_OK.replace('<!ELEMENT RightEye EMPTY>', '<!ATTLIST RightEye a CDATA #IMPLIED') + BODY,
    'syntax error: line 14, column 0',
  ],
  ['extra > before ]>', HEAD + DTD_OK.replace(']>', '>\n]>') + BODY, 'syntax error: line 14, column 0'],
  ['] without >', HEAD + DTD_OK.replace(']>', ']') + BODY, 'syntax error: line 15, column 0'],
  ['\\x0b in text', `${HEAD}<H>\n <R>a\x0b</R></H>`, 'not well-formed (invalid token): line 3, column 5'],
  [
    '\\x01 in an attribute after a multibyte char',
    `${HEAD}<H>\n <R a="é\x01"/></H>`,
    'not well-formed (invalid token): line 3, column 8',
  ],
  ['truncated document', `${HEAD}<H>\n <R a="x"/>`, 'no element found: line 3, column 11'],
  ['mismatched tag', `${HEAD}<H>\n <R a="x"></H>`, 'mismatched tag: line 3, column 12'],
];

describe('backend double: the parser fails where expat fails', () => {
  for (const [name, xml, expected] of cases) {
    it(`${name} → ${expected ?? 'parses'}`, () => {
      let error: string | null = null;
      try {
        parseExport(Buffer.from(xml), () => {});
      } catch (err) {
        error = (err as Error).message;
      }
      assert.equal(error, expected);
    });
  }

  it('hands over chunks before a late error, as iterparse commits earlier chunks', () => {
    const record =
      '<Record type="HKQuantityTypeIdentifierStepCount" sourceName="x" value="1" startDate="2024-02-01 08:00:00 +0000" endDate="2024-02-01 08:00:00 +0000"/>\n';
    const xml = `${HEAD}<HealthData>\n${record.repeat(50_001)}<Bad a="\x0b"/></HealthData>`;
    let handed = 0;
    assert.throws(
      () =>
        parseExport(Buffer.from(xml), (chunk) => {
          handed += chunk.records.length;
        }),
      /not well-formed/,
    );
    assert.equal(handed, 50_000);
  });
});
