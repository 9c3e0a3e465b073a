/**
 * Worker-thread side of the checked upload body (checked-body.ts), used when the compiled fast path
 * is missing and the JavaScript check would cost more than the send: runs a check-only scanner over
 * the export while the sending thread sends it, so checking and sending use two cores instead of
 * taking turns on one. A plain file is read here directly (`file`): no copy of the bytes crosses threads. A
 * zip entry, which only the sender inflates, comes as `chunk` messages (transferred copies) and `end`.
 * Messages out: `ack` per chunk (the sender's backpressure), `broken` at the first unrepairable
 * defect, `done` with the scan result.
 */
import { parentPort } from 'node:worker_threads';
import { readRangeSync } from '../../../adapters/export-source.js';
import { createScanner, type ScanResult } from '../../reader/scanner.js';

export type CheckRequest =
  /**
   * progress[0]: how far the sender has read, in units of `unit` bytes; read at most `ahead` bytes past
   * it. clean[0]: set here, in the same units: how far from the start no illegal byte was found.
   */
  | {
      type: 'file';
      path: string;
      /** The size the export had when opened: a file that grows since is read no further (INPUT_CHANGED). */
      size: number;
      progress: Int32Array;
      clean: Int32Array;
      unit: number;
      ahead: number;
    }
  | { type: 'chunk'; bytes: Uint8Array }
  | { type: 'end' };
export type CheckReply =
  | { type: 'ack' }
  | { type: 'broken'; result: ScanResult }
  | { type: 'done'; result: ScanResult };

const port = parentPort;
if (port) {
  let broken = false;
  let reported = false;
  // Upload only needs the verdict: a check-only scan, without decoding a single attribute value.
  const scanner = createScanner(
    {
      onDefect: (d) => {
        if (!d.repairable) broken = true;
      },
    },
    {},
    undefined,
    { checkOnly: true },
  );
  port.on('message', (m: CheckRequest) => {
    if (m.type === 'file') {
      readRangeSync(m.path, 0, m.size, (chunk, at) => {
        // Never far ahead of the sender, so the pages this thread reads are still cached when the
        // sender reads them: one read of a multi-GB file from disk, not two.
        while (at > Atomics.load(m.progress, 0) * m.unit + m.ahead)
          Atomics.wait(m.progress, 0, Atomics.load(m.progress, 0), 200);
        scanner.write(chunk);
        // The sender's repair then skips its own search for illegal bytes up to here (repair.ts).
        if (scanner.illegalCharacters() === 0)
          Atomics.store(m.clean, 0, Math.floor((at + chunk.length) / m.unit));
        return !broken;
      });
      if (broken) port.postMessage({ type: 'broken', result: scanner.result() } satisfies CheckReply);
      else scanner.end();
      port.postMessage({ type: 'done', result: scanner.result() } satisfies CheckReply);
      return;
    }
    if (m.type === 'chunk') {
      // After the first error the scanner only counts bytes; nothing after it changes the verdict.
      if (!broken) scanner.write(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength));
      if (broken && !reported) {
        reported = true;
        port.postMessage({ type: 'broken', result: scanner.result() } satisfies CheckReply);
      }
      port.postMessage({ type: 'ack' } satisfies CheckReply);
      return;
    }
    if (!broken) scanner.end();
    port.postMessage({ type: 'done', result: scanner.result() } satisfies CheckReply);
  });
}
