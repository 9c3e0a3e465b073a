import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstIllegal } from '../../../src/core/reader/illegal-bytes.js';
import { uniform as rng } from '../../../src/generator/prng.js';

/** Every illegal byte in buf[from, to), found as the repair finds them: one search after another. */
function everyIllegal(buf: Buffer, from = 0, to = buf.length): number[] {
  const at: number[] = [];
  for (let i = firstIllegal(buf, from, to); i !== -1; i = firstIllegal(buf, i + 1, to)) at.push(i);
  return at;
}

describe('illegal bytes', () => {
  it('firstIllegal, searched again after each find, agrees with a byte loop at every alignment', () => {
    const r = rng(11);
    const naive = (b: Buffer, from: number, to: number): number[] => {
      const at: number[] = [];
      for (let i = from; i < to; i++) {
        const c = b[i]!;
        if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) at.push(i);
      }
      return at;
    };
    // Every byte value below 0x21 and around the word trick's borrow edges, at random spots.
    const backing = Buffer.alloc(4096 + 7);
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < backing.length; i++) {
        const x = r();
        backing[i] =
          x < 0.02
            ? Math.floor(r() * 0x21)
            : x < 0.05
              ? 0x80 + Math.floor(r() * 0x80)
              : 0x20 + Math.floor(r() * 0x5f);
      }
      const offset = round % 7;
      const buf = backing.subarray(offset, offset + 1 + Math.floor(r() * 4096));
      const from = Math.floor(r() * 8);
      const to = Math.max(from, buf.length - Math.floor(r() * 8));
      const want = naive(buf, from, to);
      assert.equal(firstIllegal(buf, from, to), want.length > 0 ? want[0] : -1, `round ${round}`);
      assert.deepEqual(everyIllegal(buf, from, to), want, `round ${round}`);
    }
    // A buffer without any: the clean fast path.
    assert.equal(firstIllegal(Buffer.from('<a b="c">\t\r\n</a>'.repeat(100))), -1);
  });

  it('finds one in every position of a 16-byte block, and none in clean UTF-8', () => {
    const clean = Buffer.from('<Record sourceName="Dana’s 😀" value="1"/>\n\t\r'.repeat(20));
    assert.equal(firstIllegal(clean), -1);
    for (let at = 0; at < 64; at++) {
      const b = Buffer.from(clean);
      b[at] = 0x0b;
      assert.equal(firstIllegal(b), at);
      assert.deepEqual(everyIllegal(b), [at]);
    }
  });
});
