/**
 * One range of a parallel scan (parallel-scan.ts), scanned by a fresh ExportScanner and consumer: in a
 * worker thread (scan-worker.ts), or on the main thread, which takes ranges too instead of waiting.
 */
import { readRangeSync, readRangeYielding } from '../../adapters/export-source.js';
import type { RangeOutcome, RangeTask } from './parallel-scan.js';
import type { CreateRangeConsumer, RangeConsumer } from './range-consumer.js';
import { createScanner } from './scanner.js';

/** Progress is told (and the main thread lets other work in) every so many bytes. */
export const PROGRESS_EVERY = 4 << 20;

const consumers = new Map<string, CreateRangeConsumer>();

/** The consumer module's factory, loaded once per thread. */
async function consumerOf(url: string): Promise<CreateRangeConsumer> {
  let create = consumers.get(url);
  if (create === undefined) {
    create = ((await import(url)) as { createRangeConsumer: CreateRangeConsumer }).createRangeConsumer;
    consumers.set(url, create);
  }
  return create;
}

export interface RangeScanOptions {
  /** Buffers an earlier range's consumer gave back, for this one to reuse. */
  spare: ArrayBuffer[];
  onProgress(bytes: number): void;
  /** The main thread: read with a turn of the event loop now and then (readRangeYielding). */
  yielding?: boolean;
  /** Asked at each turn: true abandons the range (the scan was refused or cancelled meanwhile). */
  stopped?(): boolean;
}

/**
 * Scans the range and returns what a worker posts back for it (a 'done' or an 'overflow' message),
 * with the buffers to transfer; null when `stopped` abandoned it. Throws what reading throws.
 */
export async function scanRange(
  task: RangeTask,
  opts: RangeScanOptions,
): Promise<{ message: RangeOutcome; transfer: ArrayBuffer[] } | null> {
  const create = await consumerOf(task.consumerUrl);
  const consumer: RangeConsumer = create(task.consumerOptions, {
    bytes: task.end - task.start,
    spare: opts.spare,
  });
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
  let abandoned = false;
  const onChunk = (chunk: Buffer, at: number): boolean | undefined => {
    // The scanner keeps no reference to a chunk once write() returns, so the buffer may be reused.
    scanner.write(chunk);
    const read = at + chunk.length - task.start;
    if (read - reported >= PROGRESS_EVERY) {
      opts.onProgress(read);
      reported = read;
      if (opts.stopped?.()) {
        abandoned = true;
        return false;
      }
    }
    return undefined;
  };
  const bytes = opts.yielding
    ? await readRangeYielding(task.path, task.start, task.end, PROGRESS_EVERY, onChunk)
    : readRangeSync(task.path, task.start, task.end, onChunk);
  if (abandoned || opts.stopped?.()) {
    scanner.release();
    return null;
  }
  if (bytes !== task.end - task.start) throw new Error(`the file changed while it was read (${task.path})`);
  let clean = true;
  if (task.last) scanner.end();
  else clean = scanner.endFragment();
  let done: ReturnType<RangeConsumer['finish']>;
  try {
    done = consumer.finish();
  } catch (e) {
    if ((e as { overflow?: boolean }).overflow) return { message: { type: 'overflow' }, transfer: [] };
    throw e;
  }
  const message: RangeOutcome = {
    type: 'done',
    bytes,
    summary: scanner.result(),
    clean,
    lineFeeds: scanner.lineFeeds(),
    partial: done.partial,
  };
  // The next range of this thread reuses the compiled fast path's instance (and its memory).
  scanner.release();
  return { message, transfer: done.transfer ?? [] };
}
