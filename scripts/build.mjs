#!/usr/bin/env node
/**
 * `npm run build`'s JavaScript: src/ bundled by esbuild into dist/, ESM with code splitting. Loading ~250
 * modules one file at a time (resolving, reading and compiling each) was most of what a small command
 * spent before doing anything; a bundle loads a handful of files. Every dynamic import() in src/ stays a
 * split point, so a command still loads only what its run needs (test/startup.test.ts checks the bundle).
 *
 * Layout: every file is flat in dist/ — bin.js (what bin/apple-import.js imports), one file per worker
 * thread's module named as its source is (scan-worker.js, ...), and shared chunks. A module that starts a
 * worker names it relative to its own import.meta.url (adapters/worker-thread.ts), and in a flat dist/
 * `./scan-worker.js` resolves to that file from whichever chunk the caller's code ended up in; so those
 * names are found in src/ here, and must be unique. Runtime dependencies stay packages (external), the
 * package's `dependencies` exactly; the rest (zod) is bundled.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const src = join(root, 'src');
const dist = join(root, 'dist');

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Each module that a worker runs or that is imported by URL: `startModuleWorker(import.meta.url, './x')`. */
const CALL = /\b(?:startModuleWorker|moduleUrl)\(/g;
const NAMED = /\b(?:startModuleWorker|moduleUrl)\(\s*import\.meta\.url,\s*'\.\/([\w-]+)'/g;
const byUrl = new Map();
for (const file of sources(src)) {
  if (file === join(src, 'adapters', 'worker-thread.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const named = [...text.matchAll(NAMED)];
  const calls = [...text.matchAll(CALL)].filter((m) => !/^\s*(\/?\*|\/\/)/.test(lineAt(text, m.index)));
  if (calls.length !== named.length)
    throw new Error(
      `${relative(root, file)}: name a worker's module as startModuleWorker(import.meta.url, './name') so the build can find it`,
    );
  for (const [, name] of named) {
    const entry = join(dirname(file), `${name}.ts`);
    const other = byUrl.get(name);
    if (other !== undefined && other !== entry)
      throw new Error(
        `two worker modules named ${name}: ${relative(root, other)} and ${relative(root, entry)}`,
      );
    byUrl.set(name, entry);
  }
}

function lineAt(text, index) {
  return text.slice(text.lastIndexOf('\n', index) + 1, index);
}

// What an earlier build left (tsc wrote dist/ as a tree) must not be taken for part of this one. dist/wasm
// is build:wasm's, which tests under tsx read, and the test build's lock is not ours.
mkdirSync(dist, { recursive: true });
for (const e of readdirSync(dist, { withFileTypes: true })) {
  if (e.name === 'wasm' || e.name.startsWith('.')) continue;
  rmSync(join(dist, e.name), { recursive: true, force: true });
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
await build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'src/bin.ts', out: 'bin' },
    ...[...byUrl].map(([name, file]) => ({ in: relative(root, file), out: basename(name) })),
  ],
  outdir: 'dist',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: Object.keys(pkg.dependencies),
  legalComments: 'none',
  logLevel: 'warning',
});
