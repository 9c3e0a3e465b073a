import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The string literals of a file, its comments left out (they may cite the documents they follow). */
function literals(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  return [...code.matchAll(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g)].map((m) => m[0]);
}

describe('wording', () => {
  it('no message cites an internal document (contract §…, format §…): users have not read them', () => {
    // The backend double (src/sandbox/backend) speaks as the backend does; its strings are the backend's.
    const offenders = sources(SRC)
      .filter((f) => !f.includes(join('src', 'sandbox', 'backend')))
      .flatMap((f) =>
        literals(readFileSync(f, 'utf8'))
          .filter((s) => /§|\bcontract\b|architecture-anchors|apple-health-format/i.test(s))
          .map((s) => `${relative(SRC, f)}: ${s.slice(0, 120)}`),
      );
    assert.deepEqual(offenders, []);
  });
});
