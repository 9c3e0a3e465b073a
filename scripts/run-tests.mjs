#!/usr/bin/env node
// Node 20's test runner does not expand globs or find .ts files, so collect them here.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

// The system's part of the test bed (radosgw, curl, python3): installed when it can be, else one line
// saying what to run (scripts/test-deps.mjs).
const deps = spawnSync(process.execPath, ['scripts/test-deps.mjs'], { stdio: 'inherit' });
if (deps.status !== 0) process.exit(deps.status ?? 1);

// The check's compiled fast path (dist/wasm) must be there, or its tests fail: build it when it is
// missing or older than its source, so `npm test` works on a fresh checkout as well as after a build.
for (const [wasm, wasmSource, script] of [
  ['dist/wasm/content-check.wasm', 'wasm/content-check.ts', 'build:wasm'],
  ['dist/wasm/dedupe.wasm', 'wasm/dedupe.ts', 'build:wasm-dedupe'],
]) {
  if (!existsSync(wasm) || statSync(wasm).mtimeMs < statSync(wasmSource).mtimeMs) {
    const built = spawnSync('npm', ['run', '--silent', script], { stdio: 'inherit' });
    if (built.status !== 0) process.exit(built.status ?? 1);
  }
}

const filters = process.argv.slice(2);
const files = collect('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
