/**
 * Worker-thread entry of the parallel direct scan (parallel.ts): scans the byte ranges it is given, one
 * at a time, selecting samples, computing their keys and writing them out, and posts each range's log.
 */

import { createReadStream } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { READ_CHUNK_BYTES } from '../../../adapters/export-source.js';
import { ExportScanner } from '../../reader/scanner.js';
import type { DirectSelection } from './normalize.js';
import { SampleSelector } from './normalize.js';
import { type RangeLog, RangeLogWriter } from './range-log.js';
import { SourceWindow } from './source-window.js';

export interface RangeTask {
  index: number;
  path: string;
  start: number;
  end: number;
  last: boolean;
  filters: DirectSelection;
}

export type RangeReply =
  | { type: 'done'; log: RangeLog }
  | { type: 'error'; index: number; message: string; code: string | null };

async function scanRange(task: RangeTask): Promise<void> {
  const window = new SourceWindow(task.start);
  const selector = new SampleSelector(task.filters, window);
  const writer = new RangeLogWriter(window);
  const scanner = new ExportScanner(
    {
      onElement: (el) => {
        selector.accept(el, writer.add);
        if (el.name === 'ExportDate') writer.exportDate(selector.exportDate);
        window.consumed(el.endOffset);
      },
    },
    {},
    task.start > 0 ? { offset: task.start } : undefined,
  );
  let bytes = 0;
  const stream = createReadStream(task.path, {
    start: task.start,
    end: task.end - 1,
    highWaterMark: READ_CHUNK_BYTES,
  });
  for await (const chunk of window.tap(stream)) {
    scanner.write(chunk);
    // Before the window lets go of what the scanner is done with.
    writer.flush();
    bytes += chunk.length;
  }
  if (bytes !== task.end - task.start) throw new Error(`the file changed while it was read (${task.path})`);
  let clean = true;
  if (task.last) scanner.end();
  else clean = scanner.endFragment();
  const { log, transfer } = writer.finish(
    task.index,
    selector.counts,
    scanner.result(),
    clean,
    scanner.lineFeeds(),
  );
  parentPort!.postMessage({ type: 'done', log } satisfies RangeReply, transfer);
}

let queue: Promise<void> = Promise.resolve();
parentPort!.on('message', (task: RangeTask) => {
  queue = queue.then(() =>
    scanRange(task).catch((e: unknown) => {
      const err = e as NodeJS.ErrnoException;
      parentPort!.postMessage({
        type: 'error',
        index: task.index,
        message: err?.message ?? String(e),
        code: err?.code ?? null,
      } satisfies RangeReply);
    }),
  );
});
