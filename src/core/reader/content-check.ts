/**
 * The check-only scanner's fast path inside the root (wasm/content-check.ts, compiled to
 * dist/wasm/content-check.wasm): it passes over whole top-level elements and stops at the first
 * thing it is not sure the scanner accepts, where the scanner reads on itself. Upload's check costs
 * about a third of its JavaScript time this way (issue 4: on two cores the check competes with the
 * transfer for CPU). Without the compiled module (running from a checkout that was never built), the
 * scanner simply does all the reading, with the same results.
 */
import { readFileSync } from 'node:fs';

interface Exports {
  memory: WebAssembly.Memory;
  input(): number;
  capacity(): number;
  reserve(bytes: number): number;
  count(): number;
  scan(from: number, end: number, maxDepth: number, maxItem: number): number;
}

/** Beyond this, a buffer (a long carried markup) is left to the scanner rather than copied in. */
const MAX_INPUT = 64 * 1024 * 1024;

/** The same path from src/core/reader (tests, via tsx) and dist/core/reader (the CLI). */
const WASM_URL = new URL('../../../dist/wasm/content-check.wasm', import.meta.url);

let compiled: WebAssembly.Module | null | undefined;

function module(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(readFileSync(WASM_URL));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Whether the compiled fast path is there to use (tests insist that it is). */
export function contentCheckAvailable(): boolean {
  return module() !== null;
}

/** One scanner's instance: its own memory, into which each buffer it parses is copied once. */
export class ContentCheck {
  private readonly x: Exports;
  private readonly input: number;
  private view: Uint8Array;
  /** The buffer now copied in (load()), and where its byte 0 sits in the input. */
  private loaded: Buffer | null = null;

  private constructor(x: Exports) {
    this.x = x;
    this.input = x.input();
    this.view = new Uint8Array(x.memory.buffer);
  }

  /** A fresh instance, or null when the module is not there. */
  static create(): ContentCheck | null {
    const m = module();
    if (m === null) return null;
    const instance = new WebAssembly.Instance(m, {
      env: {
        abort: () => {
          throw new Error('content-check.wasm aborted');
        },
      },
    });
    return new ContentCheck(instance.exports as unknown as Exports);
  }

  /** Forgets the buffer copied in: the next scan() copies its buffer again. */
  reset(): void {
    this.loaded = null;
  }

  /**
   * Accepts buf[from, end) up to the first thing to leave to the scanner (see the module) and returns
   * where that is, with the top-level elements accepted in elements(). The whole of `buf` is copied
   * in on the first call for it after reset(), so that later calls on the same buffer cost nothing.
   */
  scan(buf: Buffer, from: number, end: number, maxDepth: number, maxItem: number): number {
    if (this.loaded !== buf) {
      if (buf.length > MAX_INPUT) return from;
      if (buf.length > this.x.capacity()) {
        if (!this.x.reserve(buf.length)) return from;
        this.view = new Uint8Array(this.x.memory.buffer);
      }
      this.view.set(buf, this.input);
      this.loaded = buf;
    }
    return this.x.scan(from, end, maxDepth, maxItem);
  }

  /** Top-level elements in what the last scan() accepted. */
  elements(): number {
    return this.x.count();
  }
}
