import { setFlagsFromString } from 'node:v8';

/**
 * Process-wide V8 tiering, kept out of adapters/ so that bin.ts may call it while --help still loads no
 * adapter (test/startup.test.ts). V8 optimises a hot WebAssembly function in a background thread, and a process waits at exit for that
 * thread to finish. undici's HTTP parser is such a module: compiled at the first connection and hot at
 * once, it kept every small command that makes a request (whoami, status) alive well past the end of
 * its work. So the CLI (bin.ts calls allowBaselineWindow) compiles that parser at the
 * baseline tier only: V8's flag is set from just before the first connection (http.ts) until it is
 * made. The flag also stops optimisation of modules already compiled while it is set, so the window is
 * kept short and our own modules are compiled with it lifted (compileOptimised). Tests in-process never
 * touch V8's flags.
 */
let allowed = false;
let open = false;

export function allowBaselineWindow(): void {
  allowed = true;
}

/** WebAssembly compiled from now on stays at the baseline tier (the CLI only; see above). */
export function openBaselineWindow(): void {
  if (!allowed || open) return;
  setFlagsFromString('--liftoff-only');
  open = true;
}

export function closeBaselineWindow(): void {
  if (!open) return;
  setFlagsFromString('--no-liftoff-only');
  open = false;
}

/** One of our modules, with V8's optimising tier allowed even inside the window. */
export function compileOptimised(bytes: Uint8Array): WebAssembly.Module {
  if (!open) return new WebAssembly.Module(bytes);
  setFlagsFromString('--no-liftoff-only');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    setFlagsFromString('--liftoff-only');
  }
}
