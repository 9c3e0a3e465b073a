/**
 * Worker threads running one of our own modules. The built package runs `.js` files directly; from the
 * TypeScript sources (tests and benchmarks run under tsx) a worker must register tsx itself, because
 * Node 20 does not pass `--import` hooks on to worker threads.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { sharedModules } from './wasm-module.js';

/** The URL of the module `relative` (no extension) next to `base`, an import.meta.url: `.ts` under tsx, `.js` built. */
export function moduleUrl(base: string, relative: string): URL {
  return new URL(`${relative}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);
}

/** Starts a worker thread on the module `relative` next to `base` (see moduleUrl). */
export function startModuleWorker(base: string, relative: string, options: WorkerOptions = {}): Worker {
  const entry = moduleUrl(base, relative);
  // The worker finds this thread's compiled WebAssembly modules next to its own data (wasm-module.ts).
  const data = options.workerData as object | undefined;
  options = { ...options, workerData: { ...data, ...sharedModules() } };
  // Built: nothing to inherit from the parent's flags (a loader such as tsx would only slow it down).
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { execArgv: [], ...options });
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `const { register } = await import(${JSON.stringify(api)}); register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), options);
}
