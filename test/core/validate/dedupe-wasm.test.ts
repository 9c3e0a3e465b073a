import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAIL_VALUE_OUT_OF_RANGE, IMPORT_RECORD } from '../../../src/core/model/judge.js';
import { TypeTable } from '../../../src/core/model/record-types.js';
import { ImportTally } from '../../../src/core/model/tally.js';
import {
  CORRELATION_CHILD,
  Deduper,
  type DuplicateSets,
  NO_OUTCOME,
  ROW_KEY,
  stepWord,
  TOP_OTHER,
  TOP_RECORD,
} from '../../../src/core/validate/dedupe-log.js';
import { createDeduper, WasmDeduper } from '../../../src/core/validate/dedupe-wasm.js';

/** A pseudo-random log of `steps` steps drawn from `distinct` hashes, every kind of step among them. */
function makeLog(steps: number, distinct: number, seed: number): Uint32Array {
  let x = seed >>> 0;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const tags = [TOP_RECORD, TOP_RECORD, TOP_RECORD, ROW_KEY, ROW_KEY, TOP_OTHER, CORRELATION_CHILD];
  const outcomes = [IMPORT_RECORD, FAIL_VALUE_OUT_OF_RANGE, NO_OUTCOME, 3, 5];
  const log = new Uint32Array(3 * steps);
  for (let i = 0; i < steps; i++) {
    const h = next() % distinct;
    const tag = tags[next() % tags.length]!;
    log[3 * i] = stepWord(tag, outcomes[next() % outcomes.length]!, next() % 5);
    log[3 * i + 1] = Math.imul(h, 0x9e3779b1) ^ (tag === ROW_KEY ? 0x5bd1e995 : 0);
    // Some low halves are 0, which the sets store as 1.
    log[3 * i + 2] = h % 97 === 0 ? 0 : Math.imul(h ^ 0x27d4eb2f, 0x85ebca77);
  }
  return log;
}

function run(sets: DuplicateSets, logs: Uint32Array[], types: Int32Array | null) {
  const tally = new ImportTally(new TypeTable());
  // Copies: a replay that hands its log over may write over it (Deduper.replay).
  for (const log of logs) sets.replay(log.slice(), log.length, tally, types, true);
  return {
    exact: sets.exactDuplicates,
    copies: sets.correlationCopies,
    sameKey: sets.sameKeyRecords,
    tracked: sets.tracked,
    saturated: sets.saturated,
    tally: tally.toPartial(),
  };
}

describe('the compiled duplicate sets', () => {
  it('is what validate uses when built', () => {
    assert.ok(createDeduper(1000) instanceof WasmDeduper, 'dist/wasm/dedupe.wasm is built');
  });

  it('decide every step as Deduper does: short logs in order, long ones by home slot, tables added as they fill', () => {
    for (const [steps, distinct, expected] of [
      [3000, 1500, 1000],
      [50_000, 30_000, 40_000],
      // More distinct hashes than the first table holds: the sets grow.
      [400_000, 150_000, 1000],
    ] as const) {
      const logs = [
        makeLog(steps, distinct, 7),
        makeLog(steps >> 1, distinct, 11),
        makeLog(4095, distinct, 13),
      ];
      const types = Int32Array.from([4, 3, 2, 1, 0]);
      for (const t of [null, types]) {
        const js = run(new Deduper(expected), logs, t);
        const wasm = run(new WasmDeduper(expected), logs, t);
        assert.deepEqual(wasm, js, `${steps} steps of ${distinct} hashes`);
        assert.ok(js.exact > 0 && js.copies > 0 && js.sameKey > 0, 'every kind of repeat is met');
      }
    }
  });

  it('say nothing before their first replay, and make no sets for it', () => {
    const w = new WasmDeduper(1e6);
    const j = new Deduper(1e6);
    for (const k of [
      'exactDuplicates',
      'correlationCopies',
      'sameKeyRecords',
      'tracked',
      'saturated',
    ] as const)
      assert.equal(w[k], j[k]);
  });
});
