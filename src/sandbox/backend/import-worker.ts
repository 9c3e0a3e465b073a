/**
 * Worker-thread entry of the double's import task (import-runner.ts). It parses each upload it is given
 * with the task's own parseExport and posts every chunk as soon as it is cut, so the API thread commits
 * chunk by chunk in order (contract §5.8) while this thread goes on parsing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type ParsedChunk, parseExport } from './xml-import.js';

export interface ImportWorkerData {
  /** Int32 [0]: the id of a job the API thread has given up on (a chunk failed to commit). */
  cancelled: SharedArrayBuffer;
}

export interface ParseJob {
  id: number;
  bytes: ArrayBuffer;
}

export type ParseReply =
  | { id: number; kind: 'chunk'; chunk: ParsedChunk }
  | { id: number; kind: 'done'; items: number }
  | { id: number; kind: 'failed'; error: string };

class Cancelled extends Error {}

const port = parentPort;
if (port) {
  const cancelled = new Int32Array((workerData as ImportWorkerData).cancelled);
  port.on('message', ({ id, bytes }: ParseJob) => {
    const reply = (r: ParseReply) => port.postMessage(r);
    try {
      const items = parseExport(Buffer.from(bytes), (chunk) => {
        // A failed commit ends the task (contract §5.6), as an exception out of the sync callback did:
        // parsing the rest would only delay the next import.
        if (Atomics.load(cancelled, 0) === id) throw new Cancelled();
        reply({ id, kind: 'chunk', chunk });
      });
      reply({ id, kind: 'done', items });
    } catch (err) {
      reply({ id, kind: 'failed', error: err instanceof Error ? err.message : String(err) });
    }
  });
}
