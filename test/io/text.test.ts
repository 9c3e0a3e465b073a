import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { count, firstOf, grouped } from '../../src/io/text.js';

describe('grouped', () => {
  it('writes every integer as en-US digit groups, as Intl would', () => {
    const values = [0, 1, 12, 999, 1000, 1001, 21_779, 100_000, 999_999, 1_000_000, 504_976, 2 ** 53 - 1];
    for (let v = 1; v < 1e15; v = v * 7 + 3) values.push(v);
    for (const v of [...values, ...values.filter((x) => x !== 0).map((x) => -x)])
      assert.equal(grouped(v), v.toLocaleString('en-US'), String(v));
  });

  it('leaves what is not a safe integer to Intl', () => {
    assert.equal(grouped(1234.5), '1,234.5');
    assert.equal(grouped(2 ** 60), (2 ** 60).toLocaleString('en-US'));
  });

  it('counts with the noun in the number of the count', () => {
    assert.equal(count(1, 'record'), '1 record');
    assert.equal(count(21_779, 'record'), '21,779 records');
    assert.equal(count(2, 'batch', 'batches'), '2 batches');
  });
});

describe('firstOf', () => {
  it('lists the top five, then says how many more there are', () => {
    const items = ['a 9', 'b 8', 'c 7', 'd 6', 'e 5', 'f 4', 'g 3'];
    assert.equal(firstOf(items), 'a 9, b 8, c 7, d 6, e 5 and 2 more (see --json)');
    assert.equal(firstOf(items.slice(0, 5)), 'a 9, b 8, c 7, d 6, e 5');
    assert.equal(firstOf(items, 2), 'a 9, b 8 and 5 more (see --json)');
  });
});
