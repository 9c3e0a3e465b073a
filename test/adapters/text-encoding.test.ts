import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeHead, detectEncoding, Utf16ToUtf8 } from '../../src/adapters/text-encoding.js';
import { AppError } from '../../src/errors.js';

/** `text` as UTF-16 in the given byte order, with a BOM unless told otherwise. */
function utf16(text: string, encoding: 'utf-16le' | 'utf-16be', bom = true): Buffer {
  const le = Buffer.from(`${bom ? '\uFEFF' : ''}${text}`, 'utf16le');
  if (encoding === 'utf-16be') le.swap16();
  return le;
}

/** Runs the transcoder over `bytes` cut at the given chunk sizes (cycled). */
function transcode(bytes: Buffer, encoding: 'utf-16le' | 'utf-16be', sizes: number[]): Buffer {
  const t = new Utf16ToUtf8(encoding, 'test.xml');
  const out: string[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(t.push(bytes.subarray(at, at + n)));
    at += n;
  }
  out.push(t.end());
  return Buffer.from(out.join(''), 'utf8');
}

// Surrogate pairs (emoji, a CJK extension B ideograph), 2- and 3-byte UTF-8, and ASCII markup.
const BODY =
  '<HealthData locale="zh_CN">\n <Record sourceName="达娜的 Apple\u00a0Watch 🏃‍♀️" value="64" note="𠀋 ünïcödé"/>\n</HealthData>\n';
const DECLARED = `<?xml version="1.0" encoding="UTF-16"?>\n${BODY}`;
const EXPECTED = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${BODY}`, 'utf8');

describe('Utf16ToUtf8', () => {
  for (const encoding of ['utf-16le', 'utf-16be'] as const) {
    it(`${encoding} with a BOM: UTF-8 out, BOM dropped, the declaration says UTF-8, at any chunk boundary`, () => {
      const bytes = utf16(DECLARED, encoding);
      for (const sizes of [[bytes.length], [1], [2], [3], [5, 1, 7], [4096], [13, 2, 1, 1, 64]]) {
        const out = transcode(bytes, encoding, sizes);
        assert.ok(out.equals(EXPECTED), `chunks ${sizes.join(',')}: ${out.toString('utf8').slice(0, 80)}`);
      }
    });

    it(`${encoding}: a chunk ending between the halves of a surrogate pair carries the high half`, () => {
      const bytes = utf16(DECLARED, encoding);
      const emoji = utf16('🏃', encoding, false);
      const at = bytes.indexOf(emoji);
      assert.ok(at > 0);
      for (const cut of [at + 1, at + 2, at + 3]) {
        const out = transcode(bytes, encoding, [cut, bytes.length]);
        assert.ok(out.equals(EXPECTED), `cut at ${cut}`);
      }
    });

    it(`${encoding} without a BOM is detected as expat detects it`, () => {
      const bytes = utf16(DECLARED, encoding, false);
      assert.deepEqual(detectEncoding(bytes), { encoding, bom: 0 });
      assert.ok(transcode(bytes, encoding, [7]).equals(EXPECTED));
    });
  }

  it('single quotes, other spellings of the encoding, no declaration at all', () => {
    const cases: [string, string][] = [
      [
        `<?xml version='1.0' encoding='utf-16le' standalone='yes'?>${BODY}`,
        `<?xml version='1.0' encoding='UTF-8' standalone='yes'?>${BODY}`,
      ],
      [`<?xml version="1.0"?>${BODY}`, `<?xml version="1.0"?>${BODY}`],
      [BODY, BODY],
      // Only the declaration is rewritten, never an attribute of the document.
      [
        `<?xml version="1.0" encoding="UTF-16"?><HealthData encoding="UTF-16"/>`,
        `<?xml version="1.0" encoding="UTF-8"?><HealthData encoding="UTF-16"/>`,
      ],
    ];
    for (const [input, want] of cases) {
      const out = transcode(utf16(input, 'utf-16le'), 'utf-16le', [3]);
      assert.equal(out.toString('utf8'), want);
    }
  });

  it('a lone surrogate is INPUT_INVALID with its byte offset; so is a file that ends inside a character', () => {
    const lone = Buffer.concat([
      utf16('<HealthData a="', 'utf-16le'),
      Buffer.from([0x3d, 0xd8]),
      utf16('x"/>', 'utf-16le', false),
    ]);
    assert.throws(
      () => transcode(lone, 'utf-16le', [4]),
      (err: unknown) =>
        err instanceof AppError &&
        err.code === 'INPUT_INVALID' &&
        /lone surrogate \(U\+D83D\) at byte 32/.test(err.message),
    );
    const lowFirst = Buffer.concat([utf16('<a', 'utf-16be'), Buffer.from([0xdc, 0x00])]);
    assert.throws(() => transcode(lowFirst, 'utf-16be', [64]), /lone surrogate \(U\+DC00\) at byte 6/);
    const odd = Buffer.concat([utf16('<HealthData/>', 'utf-16le'), Buffer.from([0x0a])]);
    assert.throws(() => transcode(odd, 'utf-16le', [5]), /ends inside a character \(byte 28 of 29\)/);
    const cutPair = Buffer.concat([utf16('<a/>', 'utf-16le'), Buffer.from([0x3d, 0xd8])]);
    assert.throws(() => transcode(cutPair, 'utf-16le', [64]), /ends inside a character/);
  });

  it('resumes at a checkpoint: the head is not looked for again', () => {
    const bytes = utf16(DECLARED, 'utf-16le');
    const t = new Utf16ToUtf8('utf-16le', 'x');
    const first = t.push(bytes.subarray(0, 200));
    assert.ok(t.atCheckpoint);
    const resumed = new Utf16ToUtf8('utf-16le', 'x', 200);
    const rest = resumed.push(bytes.subarray(200)) + resumed.end();
    assert.ok(Buffer.from(first + rest, 'utf8').equals(EXPECTED));
  });

  it('decodeHead sniffs all three encodings', () => {
    assert.match(decodeHead(utf16(DECLARED, 'utf-16be'), 'utf-16be'), /^<\?xml.*<HealthData/s);
    assert.match(decodeHead(Buffer.from(`\uFEFF${DECLARED}`), 'utf-8'), /^<\?xml/);
    assert.deepEqual(detectEncoding(Buffer.from('\uFEFF<a/>')), { encoding: 'utf-8', bom: 3 });
    assert.deepEqual(detectEncoding(Buffer.from('<a/>')), { encoding: 'utf-8', bom: 0 });
  });
});
