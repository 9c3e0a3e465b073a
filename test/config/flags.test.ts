import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sizeFlag } from '../../src/config/flags.js';
import { isAppError } from '../../src/errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const range = { min: 4 * KiB, max: 5 * GiB };

describe('sizeFlag: bytes, or a binary or decimal unit', () => {
  const cases: [string, number][] = [
    ['5242880', 5_242_880],
    ['64MiB', 64 * MiB],
    ['64mib', 64 * MiB],
    ['64 MiB', 64 * MiB],
    ['512KiB', 512 * KiB],
    ['1GiB', GiB],
    ['1.5GiB', 1.5 * GiB],
    ['1GB', 1_000_000_000],
    ['1gb', 1_000_000_000],
    ['10MB', 10_000_000],
    ['500kB', 500_000],
    ['500KB', 500_000],
    ['8192B', 8192],
  ];
  for (const [raw, want] of cases)
    it(`${raw} is ${want} bytes`, () => assert.equal(sizeFlag('--batch-bytes', raw, range), want));

  it('not given: the fallback, or undefined without one', () => {
    assert.equal(sizeFlag('--batch-bytes', undefined, range, 8 * MiB), 8 * MiB);
    assert.equal(sizeFlag('--batch-bytes', undefined, range), undefined);
  });

  for (const raw of ['', 'big', '64 MiBs', '1e6', '-5MiB', '64XB', '1.5', 'MiB', '0x100'])
    it(`"${raw}" is a usage error (exit 2) that names the flag and shows examples`, () => {
      assert.throws(
        () => sizeFlag('--batch-bytes', raw, range),
        (e: unknown) => {
          assert.ok(isAppError(e));
          assert.equal(e.exitCode, 2);
          assert.match(e.message, /^--batch-bytes /);
          assert.match(e.message, /5242880, 64MiB or 1GB/);
          assert.ok(e.message.includes(`"${raw}"`), e.message);
          return true;
        },
      );
    });

  it('out of range: the limits in binary units (KiB, MiB, GiB), as every size is shown', () => {
    assert.throws(
      () => sizeFlag('--batch-bytes', '6GiB', range),
      /--batch-bytes must be a size from 4\.0 KiB to 5\.0 GiB, .*not "6GiB"/,
    );
    assert.throws(() => sizeFlag('--batch-bytes', '1KiB', range), /from 4\.0 KiB/);
  });
});
