/**
 * Worker-thread entry of the parallel scan: for each range the pool sends, scans that byte range of a
 * plain export file with a fresh ExportScanner and consumer, and posts progress, then the range's
 * summary and the consumer's partial.
 */
import { parentPort } from 'node:worker_threads';
import { readRangeSync } from '../../adapters/export-source.js';
import type { RangeTask, WorkerMessage, WorkerRequest } from './parallel-scan.js';
import type { CreateRangeConsumer, RangeConsumer } from './range-consumer.js';
import { createScanner } from './scanner.js';

const PROGRESS_EVERY = 4 << 20;

const consumers = new Map<string, CreateRangeConsumer>();
/** Buffers given back by the main thread (WorkerRequest.spare), for this thread's consumers to reuse. */
const spare: ArrayBuffer[] = [];

async function scanRange(task: RangeTask): Promise<void> {
  const port = parentPort!;
  let create = consumers.get(task.consumerUrl);
  if (create === undefined) {
    create = ((await import(task.consumerUrl)) as { createRangeConsumer: CreateRangeConsumer })
      .createRangeConsumer;
    consumers.set(task.consumerUrl, create);
  }
  const consumer: RangeConsumer = create(task.consumerOptions, { bytes: task.end - task.start, spare });
  const tape = consumer.onTape !== undefined;
  const scanner = createScanner(
    tape
      ? {
          onTape: (el) => consumer.onTape!(el),
          onDefect: (d) => consumer.onDefect(d),
          ...(consumer.onDigested ? { onDigested: consumer.onDigested } : {}),
        }
      : { onElement: (el) => consumer.onElement!(el), onDefect: (d) => consumer.onDefect(d) },
    {},
    task.start > 0 ? { offset: task.start } : undefined,
    {
      utf8: task.utf8,
      tape,
      ...(consumer.tapeFields ? { tapeFields: consumer.tapeFields } : {}),
      ...(consumer.digest ? { digest: consumer.digest } : {}),
    },
  );
  let reported = 0;
  const bytes = readRangeSync(task.path, task.start, task.end, (chunk, at) => {
    // The scanner keeps no reference to a chunk once write() returns, so the buffer may be reused.
    scanner.write(chunk);
    const read = at + chunk.length - task.start;
    if (read - reported >= PROGRESS_EVERY) {
      port.postMessage({ type: 'progress', bytes: read } satisfies WorkerMessage);
      reported = read;
    }
    return undefined;
  });
  if (bytes !== task.end - task.start) throw new Error(`the file changed while it was read (${task.path})`);
  let clean = true;
  if (task.last) scanner.end();
  else clean = scanner.endFragment();
  let done: ReturnType<RangeConsumer['finish']>;
  try {
    done = consumer.finish();
  } catch (e) {
    if ((e as { overflow?: boolean }).overflow) {
      port.postMessage({ type: 'overflow' } satisfies WorkerMessage);
      return;
    }
    throw e;
  }
  const message: WorkerMessage = {
    type: 'done',
    bytes,
    summary: scanner.result(),
    clean,
    lineFeeds: scanner.lineFeeds(),
    partial: done.partial,
  };
  // The next range of this thread reuses the compiled fast path's instance (and its memory).
  scanner.release();
  port.postMessage(message, done.transfer ?? []);
}

parentPort!.on('message', (m: WorkerRequest) => {
  // A few are enough: one per range in flight.
  spare.push(...m.spare);
  spare.splice(0, Math.max(0, spare.length - 4));
  scanRange(m.task).catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    parentPort!.postMessage({
      type: 'error',
      message: err?.message ?? String(e),
      code: err?.code ?? null,
    } satisfies WorkerMessage);
  });
});
