// The few WebAssembly globals that adapters/wasm-module.ts and core/reader/content-check.ts use:
// TypeScript declares them only in its DOM library, which a Node CLI does not load.
declare global {
  namespace WebAssembly {
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Instance {
      constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
      readonly exports: Record<string, unknown>;
    }
    class Memory {
      readonly buffer: ArrayBuffer;
    }
  }
}

export {};
