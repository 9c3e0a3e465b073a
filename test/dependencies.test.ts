// The package's runtime dependencies are exactly what the built CLI imports: nothing a user installs is
// there only for the tests, the benchmarks or the build (zod, bundled into dist/, included).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { builtCli } from './hostile/helpers.js';

const PACKAGE = /^(@[a-z0-9][\w.~-]*\/)?[a-z0-9][\w.~-]*(\/.*)?$/;
/**
 * `from 'x'`, `import 'x'`, `import('x')`, and a call of createRequire's function (`load('x')`,
 * `(…)('x')`) as tsc and esbuild write them.
 */
const SPECIFIER =
  /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\b(?:require|load)\s*\(\s*|\)\s*\(\s*)(['"])([^'"\n]+)\1/g;

async function jsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await jsFiles(p)));
    else if (e.name.endsWith('.js')) out.push(p);
  }
  return out;
}

/** The npm packages a file imports (`@scope/name` or `name`), node's own modules left out. */
function packagesOf(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(SPECIFIER)) {
    const spec = m[2] as string;
    if (spec.startsWith('.') || spec.startsWith('node:') || !PACKAGE.test(spec)) continue;
    const parts = spec.split('/');
    out.push(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
  }
  return out;
}

describe('runtime dependencies', () => {
  it('are the packages dist/ imports, and no other', async () => {
    const dist = dirname(await builtCli());
    const pkg = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const imported = new Set<string>();
    for (const file of await jsFiles(dist))
      for (const p of packagesOf(await readFile(file, 'utf8'))) imported.add(p);
    // Node's own modules as bare names (e.g. `worker_threads`) are not packages.
    const { builtinModules } = await import('node:module');
    for (const b of builtinModules) imported.delete(b);
    assert.deepEqual([...imported].sort(), Object.keys(pkg.dependencies).sort());
  });
});
