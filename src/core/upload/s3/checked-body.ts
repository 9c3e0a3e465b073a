/**
 * The body of a streamed single-part upload (preflight.ts): one pass over the export that feeds every
 * chunk to the scanner and sends it repaired and padded (repair.ts), so checking costs no pass of its
 * own. S3 must never store an export the repair cannot make well-formed, yet a truncated export is
 * only recognisable at its end; so the last chunk is held back until the scanner has seen everything
 * and found the export closed and repairable (the same rule as the preflight, refuseUnrepairable).
 * Failing then ends the body short of its Content-Length: the request is aborted and S3 keeps nothing
 * (contract §2.4: the object exists only once the whole POST has arrived). An unrepairable defect in
 * the middle aborts at once instead of sending the rest.
 *
 * The check runs inline, between the reads and the writes: with its compiled fast path
 * (reader/content-check.ts) it costs under a millisecond per MiB, less than the socket takes to send
 * one, and a second thread would only add its start-up and a second read of the file to the CPU that
 * the transfer (and, on a small machine, the S3 server) needs (issue 4: 500 MB on two cores, 1.17–1.29×
 * curl's time with the thread, 1.13–1.15× inline). Without the fast path (a checkout that was never
 * built), the JavaScript check costs more than the send, so a large export is checked in a worker
 * thread fed with the same chunks (check-worker.ts): the send then takes as long as the slower of the
 * two instead of their sum. A bounded window of chunks in flight keeps memory constant.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { ExportSource } from '../../../adapters/export-source.js';
import type { ReadPool } from '../../../adapters/read-pool.js';
import { startModuleWorker } from '../../../adapters/worker-thread.js';
import { AppError } from '../../../errors.js';
import { contentCheckAvailable } from '../../reader/content-check.js';
import type { RepairPlan } from '../../reader/repair.js';
import { createScanner, type ScanResult } from '../../reader/scanner.js';
import type { ScanSummary } from '../../reader/types.js';
import { type FilteredRepair, repairedStream } from '../shared/export-filter.js';
import type { CheckReply, CheckRequest } from './check-worker.js';
import { type CheckedElsewhere, refuseUnrepairable } from './preflight.js';

/** The unit of the read position shared with a worker that reads the file itself (int32 covers 128 TiB). */
const PROGRESS_UNIT = 64 * 1024;
/** A checking thread that reads the file itself stays within this of the sender, so the file is read once. */
const CHECK_AHEAD_BYTES = 64 * 1024 * 1024;
/** Exports at least this large are checked in a worker thread. */
export const WORKER_CHECK_BYTES = 32 * 1024 * 1024;
/** Bytes per message to the worker. */
const BATCH_BYTES = 1 << 20;
/** Batches the worker may lag behind the sender: bounds the copies held for it (16 MiB). */
const WINDOW_BATCHES = 16;

export interface CheckedBodyOptions {
  signal?: AbortSignal;
  /** The scan of the whole export, once it has passed; called before the last chunk is released. */
  onScanned?(summary: ScanSummary): void;
  /**
   * Check in a worker thread; default: only without the compiled fast path, with two cores or more,
   * for an export of WORKER_CHECK_BYTES or more.
   */
  worker?: boolean;
  /** How far a worker reading the file itself may run ahead of the sender (default CHECK_AHEAD_BYTES). */
  checkAheadBytes?: number;
  /** Read the export into this pool's buffers (the consumer releases each chunk once sent). */
  pool?: ReadPool;
  /** Another thread checks the whole export: this body only repairs (repairedBody). */
  checkedBy?: CheckedElsewhere;
}

/** The scanner as the body sees it, inline or in a worker. */
export interface Check {
  write(chunk: Buffer): Promise<void> | void;
  /** The scan so far, once an unrepairable defect was found; null while all is well. */
  broken(): ScanResult | null;
  /** How far from the start the export is known to hold no illegal byte (0 when unknown). */
  cleanBefore(): number;
  end(): Promise<ScanResult> | ScanResult;
  close(): void;
}

export function inlineCheck(): Check {
  let broken = false;
  let written = 0;
  let clean = 0;
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
  return {
    write: (chunk) => {
      scanner.write(chunk);
      written += chunk.length;
      // The scanner has searched every byte written so far for illegal ones: the repair need not again.
      if (scanner.illegalCharacters() === 0) clean = written;
    },
    broken: () => (broken ? scanner.result() : null),
    cleanBefore: () => clean,
    end: () => {
      if (!broken) scanner.end();
      return scanner.result();
    },
    close: () => {},
  };
}

function spawnCheckWorker(): Worker {
  return startModuleWorker(import.meta.url, './check-worker');
}

/** `file`: the worker reads the plain file itself instead of being sent copies of every chunk. */
export function workerCheck(file?: { path: string; size: number }, ahead = CHECK_AHEAD_BYTES): Check {
  const worker = spawnCheckWorker();
  // How far the sender has read, shared with the worker so it stays close behind (check-worker.ts).
  const progress = new Int32Array(new SharedArrayBuffer(4));
  // How far the worker found no illegal byte: the sender's repair need not search that far again.
  const clean = new Int32Array(new SharedArrayBuffer(4));
  let read = 0;
  if (file !== undefined)
    worker.postMessage({
      type: 'file',
      path: file.path,
      size: file.size,
      progress,
      clean,
      unit: PROGRESS_UNIT,
      ahead,
    } satisfies CheckRequest);
  // Never the reason the process stays alive: close() ends it, and so does the process.
  worker.unref();
  let inFlight = 0;
  let closed = false;
  let broken: ScanResult | null = null;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  let done: ((r: ScanResult) => void) | null = null;
  let finalResult: ScanResult | null = null;
  // Chunks are copied into batches of BATCH_BYTES: a zip entry inflates in 16–64 KiB pieces, and one
  // message per piece would cost more than the copy. A batch is transferred, not cloned again.
  let stage: Uint8Array<ArrayBuffer> | null = null;
  let staged = 0;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  worker.on('message', (m: CheckReply) => {
    if (m.type === 'ack') inFlight--;
    else if (m.type === 'broken') broken = m.result;
    else {
      // A worker reading the file itself may well finish before end() is called.
      finalResult = m.result;
      done?.(m.result);
    }
    notify();
  });
  const fail = (err: Error) => {
    failure = new AppError('INTERNAL', `the export check stopped: ${err.message}`, { cause: err });
    notify();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (!closed) fail(new Error(`the worker exited (${code})`));
  });
  const waitFor = async (ready: () => boolean): Promise<void> => {
    while (!ready()) {
      if (failure) throw failure;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    if (failure) throw failure;
  };
  const flush = () => {
    if (stage === null || staged === 0) return;
    const bytes = staged === stage.length ? stage : stage.subarray(0, staged);
    inFlight++;
    worker.postMessage({ type: 'chunk', bytes } satisfies CheckRequest, [stage.buffer]);
    stage = null;
    staged = 0;
  };
  return {
    async write(chunk) {
      if (file !== undefined) {
        read += chunk.length;
        Atomics.store(progress, 0, Math.floor(read / PROGRESS_UNIT));
        Atomics.notify(progress, 0);
        return;
      }
      for (let off = 0; off < chunk.length; ) {
        stage ??= new Uint8Array(BATCH_BYTES);
        const n = Math.min(chunk.length - off, stage.length - staged);
        stage.set(chunk.subarray(off, off + n), staged);
        staged += n;
        off += n;
        if (staged === stage.length) flush();
      }
      await waitFor(() => inFlight <= WINDOW_BATCHES || broken !== null);
    },
    broken: () => broken,
    cleanBefore: () => Atomics.load(clean, 0) * PROGRESS_UNIT,
    async end() {
      if (file === undefined) flush();
      else {
        // The whole file is read: let the worker finish whatever the rounding held back.
        Atomics.store(progress, 0, 0x7fffffff);
        Atomics.notify(progress, 0);
      }
      let result: ScanResult | undefined = finalResult ?? undefined;
      const finished = new Promise<void>((resolve) => {
        if (result !== undefined) resolve();
        done = (r) => {
          result = r;
          resolve();
        };
      });
      if (file === undefined) worker.postMessage({ type: 'end' } satisfies CheckRequest);
      await Promise.race([finished, waitFor(() => result !== undefined)]);
      return result!;
    },
    close: () => {
      closed = true;
      void worker.terminate();
    },
  };
}

/** The export is not what was planned from (its size or its head changed): the body ends short, S3 keeps nothing. */
function changed(source: ExportSource): AppError {
  return new AppError('INPUT_CHANGED', `${source.displayName} changed while it was being uploaded.`, {
    hint: 'Nothing was stored. Upload again once the file is complete and no longer being written.',
  });
}

/**
 * The verdict on a whole scan made while sending: the export is whole and repairable, and it is the one
 * that was planned from (its size, and the DOCTYPE the size was computed with).
 */
export async function verifyScanned(
  source: ExportSource,
  repair: RepairPlan,
  summary: ScanSummary,
): Promise<void> {
  // A file that changed under the read says so first (its own words: grew, replaced, deleted).
  if (summary.bytes !== source.size) await source.checkUnchanged?.();
  refuseUnrepairable(source, summary);
  if (summary.bytes !== source.size) throw changed(source);
  // The size was announced from the head's DOCTYPE; the whole scan must agree, or the bytes are wrong.
  const d = summary.doctype;
  const planned = repair.doctype;
  if (
    (d === null) !== (planned === null) ||
    (d && planned && (d.start !== planned.start || d.end !== planned.end))
  ) {
    throw changed(source);
  }
}

export async function* checkedBody(
  source: ExportSource,
  repair: FilteredRepair,
  opts: CheckedBodyOptions = {},
): AsyncGenerator<Buffer> {
  if (opts.checkedBy) {
    yield* repairedBody(source, repair, opts, opts.checkedBy);
    return;
  }
  const useWorker =
    opts.worker ??
    (!contentCheckAvailable() && source.size >= WORKER_CHECK_BYTES && availableParallelism() > 1);
  const file = source.filePath !== undefined ? { path: source.filePath, size: source.size } : undefined;
  const check = useWorker ? workerCheck(file, opts.checkAheadBytes) : inlineCheck();
  const refuseIfBroken = () => {
    const b = check.broken();
    if (b) refuseUnrepairable(source, { ...b, sha256: '' });
  };
  async function* checked(): AsyncGenerator<Buffer> {
    const range = {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.pool ? { pool: opts.pool } : {}),
    };
    for await (const chunk of source.open(range)) {
      await check.write(chunk);
      refuseIfBroken();
      yield chunk;
    }
  }
  try {
    let held: Buffer | undefined;
    for await (const out of repairedStream(checked(), repair, { cleanBefore: () => check.cleanBefore() })) {
      if (held) yield held;
      held = out;
    }
    const summary: ScanSummary = { ...(await check.end()), sha256: '' };
    await verifyScanned(source, repair, summary);
    opts.onScanned?.(summary);
    if (held) yield held;
  } finally {
    check.close();
  }
}

/**
 * The body when another thread checks the export (`checkedBy`): repaired with that thread's search for
 * illegal bytes, its last chunk held for the verdict. A rejection ends it short, so S3 keeps nothing; one
 * that comes early stops it at once, not at its end.
 */
async function* repairedBody(
  source: ExportSource,
  repair: FilteredRepair,
  opts: CheckedBodyOptions,
  by: CheckedElsewhere,
): AsyncGenerator<Buffer> {
  let refused: unknown;
  by.verdict.catch((err: unknown) => {
    refused = err ?? new Error('the export was refused');
  });
  const range = {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.pool ? { pool: opts.pool } : {}),
  };
  let held: Buffer | undefined;
  for await (const out of repairedStream(source.open(range), repair, { cleanBefore: by.cleanBefore })) {
    if (refused !== undefined) throw refused;
    if (held) yield held;
    held = out;
  }
  const summary = await by.verdict;
  opts.onScanned?.(summary);
  if (held) yield held;
}
