/**
 * The duplicate decisions (dedupe-log.ts Deduper) in the compiled module wasm/dedupe.ts: the same
 * sets, slot for slot, and the same replay, without JavaScript's cost per step, which is what the
 * merge of a parallel scan waits for on the main thread. Without the module (a checkout that was
 * never built) the collector uses Deduper itself.
 */
import { wasmModule } from '../../adapters/wasm-module.js';
import { FAIL_VALUE_OUT_OF_RANGE, IMPORT_RECORD } from '../model/judge.js';
import type { ImportTally } from '../model/tally.js';
import { Deduper, type DuplicateSets, firstSlots, MAX_SLOTS } from './dedupe-log.js';

interface Exports {
  memory: WebAssembly.Memory;
  setup(first: number, max: number, rowA: number, rowB: number): number;
  log(words: number): number;
  replay(length: number): void;
  repeatWords(): number;
  repeatCount(): number;
  exactDuplicates(): number;
  correlationCopies(): number;
  sameKeyRecords(): number;
  tracked(): number;
  saturated(): number;
}

/** The sets for about `expected` elements: compiled when the module is there. */
export function createDeduper(expected: number, compiled = true): DuplicateSets {
  return compiled && wasmModule('dedupe.wasm') !== null ? new WasmDeduper(expected) : new Deduper(expected);
}

export class WasmDeduper implements DuplicateSets {
  /** Made at the first replay: a range's collector never replays, and needs no instance. */
  private x: Exports | null = null;

  constructor(private readonly expected: number) {}

  private instance(): Exports {
    if (this.x !== null) return this.x;
    const m = wasmModule('dedupe.wasm');
    if (m === null) throw new Error('dedupe.wasm is not there');
    const instance = new WebAssembly.Instance(m, {
      env: {
        abort: () => {
          throw new Error('dedupe.wasm aborted');
        },
      },
    });
    const x = instance.exports as unknown as Exports;
    x.setup(firstSlots(this.expected), MAX_SLOTS, IMPORT_RECORD, FAIL_VALUE_OUT_OF_RANGE);
    this.x = x;
    return x;
  }

  get exactDuplicates(): number {
    return this.x?.exactDuplicates() ?? 0;
  }

  get correlationCopies(): number {
    return this.x?.correlationCopies() ?? 0;
  }

  get sameKeyRecords(): number {
    return this.x?.sameKeyRecords() ?? 0;
  }

  get tracked(): number {
    return this.x?.tracked() ?? 0;
  }

  get saturated(): boolean {
    return this.x !== null && this.x.saturated() !== 0;
  }

  /**
   * Deduper.replay: the log is copied in and decided there, and the tally told of each repeat. The
   * log's buffer is done with at once, so it is what is handed back to reuse.
   */
  replay(log: Uint32Array, length: number, tally: ImportTally, types: Int32Array | null): ArrayBufferLike {
    if (length === 0) return log.buffer;
    const x = this.instance();
    const at = x.log(length);
    if (at === 0) throw new RangeError('no memory for the duplicate log');
    new Uint32Array(x.memory.buffer, at, length).set(log.subarray(0, length));
    x.replay(length);
    const n = x.repeatCount();
    if (n > 0) {
      const words = new Uint32Array(x.memory.buffer, x.repeatWords(), n);
      for (let i = 0; i < n; i++) {
        const w = words[i]!;
        const type = w >>> 4;
        tally.repeat(w & 15, types === null ? type : types[type]!);
      }
    }
    return log.buffer;
  }
}
