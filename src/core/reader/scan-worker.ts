/**
 * Worker-thread entry of the parallel scan: scans one byte range of a plain export file with its own
 * ExportScanner and consumer, and posts progress, then the range's summary and the consumer's partial.
 */
import { createReadStream } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { READ_CHUNK_BYTES } from './limits.js';
import type { RangeTask, WorkerMessage } from './parallel-scan.js';
import type { CreateRangeConsumer, RangeConsumer } from './range-consumer.js';
import { ExportScanner } from './scanner.js';

const PROGRESS_EVERY = 4 << 20;

async function main(task: RangeTask): Promise<void> {
  const port = parentPort!;
  const mod = (await import(task.consumerUrl)) as { createRangeConsumer: CreateRangeConsumer };
  const consumer: RangeConsumer = mod.createRangeConsumer(task.consumerOptions);
  const scanner = new ExportScanner(
    { onElement: (el) => consumer.onElement(el), onDefect: (d) => consumer.onDefect(d) },
    {},
    task.start > 0 ? { offset: task.start } : undefined,
  );
  let bytes = 0;
  let reported = 0;
  const stream = createReadStream(task.path, {
    start: task.start,
    end: task.end - 1,
    highWaterMark: READ_CHUNK_BYTES,
  });
  for await (const chunk of stream) {
    scanner.write(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    if (bytes - reported >= PROGRESS_EVERY) {
      port.postMessage({ type: 'progress', bytes } satisfies WorkerMessage);
      reported = bytes;
    }
  }
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
  port.postMessage(message, done.transfer ?? []);
}

main(workerData as RangeTask).catch((e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  parentPort!.postMessage({
    type: 'error',
    message: err?.message ?? String(e),
    code: err?.code ?? null,
  } satisfies WorkerMessage);
});
