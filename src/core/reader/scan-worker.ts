/**
 * Worker-thread entry of the parallel scan: for each range the pool sends, scans that byte range of a
 * plain export file (range-scan.ts), and posts progress, then the range's summary and the consumer's
 * partial.
 */
import { parentPort } from 'node:worker_threads';
import type { WorkerMessage, WorkerRequest } from './parallel-scan.js';
import { scanRange } from './range-scan.js';

/** Buffers given back by the main thread (WorkerRequest.spare), for this thread's consumers to reuse. */
const spare: ArrayBuffer[] = [];

async function run(m: WorkerRequest): Promise<void> {
  const port = parentPort!;
  const done = await scanRange(m.task, {
    spare,
    onProgress: (bytes) => port.postMessage({ type: 'progress', bytes } satisfies WorkerMessage),
  });
  if (done) port.postMessage(done.message, done.transfer);
}

parentPort!.on('message', (m: WorkerRequest) => {
  // One is enough: the next range's consumer takes one; more would only hold memory.
  spare.push(...m.spare);
  spare.splice(0, Math.max(0, spare.length - 1));
  run(m).catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    parentPort!.postMessage({
      type: 'error',
      message: err?.message ?? String(e),
      code: err?.code ?? null,
    } satisfies WorkerMessage);
  });
});
