import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sequenceAt, Utf8Check } from '../../../src/core/reader/utf8.js';
import { exportXml } from './fixtures.js';
import { scan } from './helpers.js';

/** Feeds `bytes` cut at `cut` (and nowhere else); the first bad offset, or -1. */
function firstBad(bytes: Buffer, cut: number): number {
  const check = new Utf8Check();
  for (const [from, to] of [
    [0, cut],
    [cut, bytes.length],
  ] as const) {
    if (to <= from) continue;
    const bad = check.write(bytes.subarray(from, to), from);
    if (bad !== -1) return bad;
  }
  return -1;
}

/** What Python's ElementTree (expat) says of each, checked by hand: ok, or the offset it refuses. */
const CASES: [string, Buffer, number][] = [
  ['ASCII, 2-, 3- and 4-byte characters', Buffer.from('a é ’ 中 😀 \uFDD0 z'), -1],
  ['a lone continuation byte', Buffer.from([0x61, 0x80, 0x62]), 1],
  ['0xFF', Buffer.from([0x61, 0x62, 0xff]), 2],
  ['an overlong "/"', Buffer.from([0x61, 0xc0, 0xaf]), 1],
  ['an overlong 3-byte form', Buffer.from([0xe0, 0x80, 0xaf]), 0],
  ['a surrogate', Buffer.from([0x61, 0xed, 0xa0, 0x80]), 1],
  ['past U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80]), 0],
  ['U+FFFF', Buffer.from([0x61, 0xef, 0xbf, 0xbf, 0x62]), 1],
  ['U+FFFE', Buffer.from([0xef, 0xbf, 0xbe]), 0],
  ['a sequence broken by ASCII', Buffer.from([0x61, 0xe2, 0x80, 0x61]), 1],
  ['a sequence cut by the next byte', Buffer.from([0x61, 0x62, 0xf0, 0x9f, 0x98, 0x61]), 2],
];

describe('UTF-8 as the backend’s parser reads it', () => {
  for (const [what, bytes, bad] of CASES) {
    it(`${what}: ${bad === -1 ? 'accepted' : `refused at byte ${bad}`}, wherever a chunk ends`, () => {
      for (let cut = 0; cut <= bytes.length; cut++) assert.equal(firstBad(bytes, cut), bad, `cut at ${cut}`);
    });
  }

  it('judges each sequence alone as the table says', () => {
    assert.equal(sequenceAt(Buffer.from('é'), 0, 2), 2);
    assert.equal(sequenceAt(Buffer.from('é'), 0, 1), -1);
    assert.equal(sequenceAt(Buffer.from([0xf5, 0x80, 0x80, 0x80]), 0, 4), 0);
  });

  it('a check-only scan refuses the first such byte in document order; a full scan decodes it', () => {
    const doc = (value: Buffer, after = '') =>
      Buffer.concat([
        Buffer.from(exportXml('valid', '<HealthData locale="en_US">\n <Record type="T" value="')),
        value,
        Buffer.from(`"/>\n${after}</HealthData>\n`),
      ]);
    const bad = doc(Buffer.from([0x61, 0xff, 0x62]));
    for (const cut of [1, 7, bad.indexOf(0xff), bad.indexOf(0xff) + 1, 4096]) {
      const check = scan(bad, cut, { checkOnly: true });
      assert.equal(check.result.wellFormed, false);
      assert.equal(check.defects[0]?.kind, 'not-well-formed');
      assert.match(check.defects[0]!.message, /not UTF-8: byte 0xff/);
      assert.equal(check.defects[0]!.offset, bad.indexOf(0xff));
      assert.equal(check.result.repairable, false);
    }
    const full = scan(bad);
    assert.equal(full.result.wellFormed, true);
    assert.equal(full.elements.find((e) => e.name === 'Record')?.attrs.value, 'a\uFFFDb');

    // An earlier error is the one reported; a later one waits behind the bad byte.
    const earlier = doc(Buffer.from([0x61, 0xff]), ' </Wrong>\n');
    assert.match(scan(earlier, 64, { checkOnly: true }).defects[0]!.message, /not UTF-8/);
    const before = Buffer.concat([
      Buffer.from(exportXml('valid', '<HealthData locale="en_US">\n <A></B>\n <Record value="')),
      Buffer.from([0xff]),
      Buffer.from('"/>\n</HealthData>\n'),
    ]);
    assert.match(scan(before, 64, { checkOnly: true }).defects[0]!.message, /<\/B> does not match <A>/);

    // Cut inside character data, where the parse has already passed the sequence's first byte.
    const text = Buffer.concat([
      Buffer.from(exportXml('valid', '<HealthData locale="en_US">\n <Note>a')),
      Buffer.from([0xe2, 0x41]),
      Buffer.from('</Note>\n</HealthData>\n'),
    ]);
    const at = text.indexOf(0xe2);
    const inText = scan(text, [at + 1], { checkOnly: true }).defects[0]!;
    assert.equal(inText.offset, at);
    assert.match(inText.message, /not UTF-8: byte 0xe2/);
    assert.equal(inText.line, text.subarray(0, at).toString('latin1').split('\n').length);
    assert.equal(inText.column, at - text.lastIndexOf(0x0a, at));

    // A sequence the end of input cuts short is refused as what it is there: text after the root.
    const cutShort = Buffer.concat([doc(Buffer.from('ok')), Buffer.from([0xe2, 0x80])]);
    assert.match(scan(cutShort, 64, { checkOnly: true }).defects[0]!.message, /text after the root/);
    assert.equal(scan(doc(Buffer.from('Dana’s 😀')), 5, { checkOnly: true }).result.wellFormed, true);
  });
});
