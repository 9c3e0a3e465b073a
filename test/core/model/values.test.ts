/** Record values against Python's Decimal (CPython 3.11) and the backend's Numeric(10,3) column (contract §5.4). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeValue, VALUE_INVALID, VALUE_OK, VALUE_OUT_OF_RANGE } from '../../../src/core/model/values.js';

/** [value, what Decimal(value) is]: 'ok' finite and fits the column, 'big' finite but too large. */
const DECIMAL: [string, 'ok' | 'nan' | 'inf' | 'big' | 'snan' | 'invalid'][] = [
  ['1', 'ok'],
  [' 1.5 ', 'ok'],
  ['nan', 'nan'],
  ['Infinity', 'inf'],
  ['1e5', 'ok'],
  ['1,5', 'invalid'],
  ['0x10', 'invalid'],
  ['1_000', 'ok'],
  ['+.5', 'ok'],
  ['', 'invalid'],
  ['  ', 'invalid'],
  ['-0', 'ok'],
  ['1.', 'ok'],
  ['.', 'invalid'],
  [' .5e-3', 'ok'],
  ['1e', 'invalid'],
  ['1__0', 'ok'],
  ['_1', 'ok'],
  ['1_', 'ok'],
  ['9999999.999', 'ok'],
  ['10000000', 'big'],
  ['9999999.9995', 'big'],
  ['1e7', 'big'],
  ['-1e400', 'big'],
  ['sNaN', 'snan'],
  ['NaN12', 'nan'],
  ['-inf', 'inf'],
  ['abc', 'invalid'],
  ['1.2.3', 'invalid'],
  ['+', 'invalid'],
  ['5e+2', 'ok'],
];

describe('values as the backend reads them', () => {
  it('imports what Decimal reads and the column holds; fails the insert on the rest', () => {
    // NaN passes as a float; sNaN is refused by the sample model (skipped); infinities and values past
    // ±9,999,999.999 do not fit Numeric(10,3), which fails the chunk's insert.
    const expected = {
      ok: VALUE_OK,
      nan: VALUE_OK,
      inf: VALUE_OUT_OF_RANGE,
      big: VALUE_OUT_OF_RANGE,
      snan: VALUE_INVALID,
      invalid: VALUE_INVALID,
    };
    for (const [v, kind] of DECIMAL) {
      const b = Buffer.from(v, 'latin1');
      assert.equal(judgeValue(b, 0, b.length), expected[kind], JSON.stringify(v));
    }
    assert.equal(judgeValue(Buffer.alloc(0), -1, -1), VALUE_INVALID, 'no value attribute');
  });
});
