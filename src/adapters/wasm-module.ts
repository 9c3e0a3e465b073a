/**
 * WebAssembly modules that the build compiles into dist/wasm (`npm run build:wasm`), loaded from disk
 * and compiled once per process: a worker thread is handed the main thread's compiled modules
 * (sharedModules, as workerData) instead of compiling its own.
 */
import { readFileSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';
import { compileOptimised } from '../wasm-tiering.js';

const compiled = new Map<string, WebAssembly.Module | null>();
/** The workerData key under which a worker finds the compiled modules its parent shared. */
const SHARED = 'appleImportWasm';
if (!isMainThread) {
  const shared = (workerData as Record<string, unknown> | null)?.[SHARED] as
    | Record<string, WebAssembly.Module>
    | undefined;
  for (const [file, m] of Object.entries(shared ?? {})) compiled.set(file, m);
}

/**
 * The compiled module dist/wasm/`file`, or null when it is not there (a checkout that was never built)
 * or cannot be compiled: callers then do the work in JavaScript.
 */
export function wasmModule(file: string): WebAssembly.Module | null {
  let m = compiled.get(file);
  if (m === undefined) {
    try {
      // From src/adapters (tests, via tsx), or from a chunk of the bundle, flat in dist/ (scripts/build.mjs).
      const dir = import.meta.url.endsWith('.ts') ? '../../dist/wasm/' : './wasm/';
      const bytes = readFileSync(new URL(`${dir}${file}`, import.meta.url));
      m = compileOptimised(bytes);
    } catch {
      m = null;
    }
    compiled.set(file, m);
  }
  return m;
}

/** Every module the build makes (asconfig.json). */
const FILES = ['content-check.wasm'];

/**
 * workerData for a worker thread of ours: the modules are compiled here (once) and shared with it, so
 * no thread compiles one again (and the optimised code V8 makes of one is shared by all).
 */
export function sharedModules(): Record<string, Record<string, WebAssembly.Module>> {
  const shared: Record<string, WebAssembly.Module> = {};
  for (const file of FILES) {
    const m = wasmModule(file);
    if (m !== null) shared[file] = m;
  }
  return { [SHARED]: shared };
}
