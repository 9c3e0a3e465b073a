/**
 * Worker-thread side of the checked upload body (checked-body.ts): runs the ExportScanner over the
 * chunks the sending thread reads, so scanning and sending use two cores instead of taking turns on
 * one. Messages in: `chunk` (a transferred copy of the next source bytes), `end`. Messages out: `ack`
 * per chunk (the sender's backpressure), `broken` at the first unrepairable defect, `done` with the
 * scan result after `end`.
 */
import { parentPort } from 'node:worker_threads';
import { createScanner, type ScanResult } from '../reader/scanner.js';

export type CheckRequest = { type: 'chunk'; bytes: Uint8Array } | { type: 'end' };
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
