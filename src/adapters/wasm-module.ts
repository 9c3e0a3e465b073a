/**
 * WebAssembly modules that the build compiles into dist/wasm (`npm run build:wasm`), loaded from disk
 * and compiled once per thread.
 */
import { readFileSync } from 'node:fs';

const compiled = new Map<string, WebAssembly.Module | null>();

/**
 * The compiled module dist/wasm/`file`, or null when it is not there (a checkout that was never built)
 * or cannot be compiled: callers then do the work in JavaScript.
 */
export function wasmModule(file: string): WebAssembly.Module | null {
  let m = compiled.get(file);
  if (m === undefined) {
    try {
      // The same path from src/adapters (tests, via tsx) and dist/adapters (the CLI).
      m = new WebAssembly.Module(readFileSync(new URL(`../../dist/wasm/${file}`, import.meta.url)));
    } catch {
      m = null;
    }
    compiled.set(file, m);
  }
  return m;
}
