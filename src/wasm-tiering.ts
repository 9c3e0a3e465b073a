import { setFlagsFromString } from 'node:v8';

/** Whether baselineWasmOnly() is in force: our own modules are then compiled with the flag lifted. */
let baselineOnly = false;

/**
 * Makes every WebAssembly module compiled from now on, but ours (adapters/wasm-module.ts), stay at V8's
 * baseline tier: undici's HTTP parser, once hot, is optimised in a background thread that the process
 * waits for at exit, which adds a tenth of a second to every small command that makes a request. For
 * the CLI process only (bin.ts), before its first request; tests in-process leave V8 as it is.
 */
export function baselineWasmOnly(): void {
  setFlagsFromString('--liftoff-only');
  baselineOnly = true;
}

/**
 * Compiles one of our modules with V8's optimising tier allowed. The flag is read when a module is
 * compiled, and compiling is synchronous: nothing else compiles in between on this thread, and worker
 * threads compile none of ours (they share the main thread's, adapters/wasm-module.ts).
 */
export function compileOptimised(bytes: Uint8Array): WebAssembly.Module {
  if (!baselineOnly) return new WebAssembly.Module(bytes);
  setFlagsFromString('--no-liftoff-only');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    setFlagsFromString('--liftoff-only');
  }
}
