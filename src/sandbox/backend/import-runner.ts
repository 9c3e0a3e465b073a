/**
 * Where the double's import tasks run: off the API's event loop, as the real backend hands them to a Celery
 * worker (contract §3.4), so uploads, /sync/recent and SSE are answered while an export parses. Parsing
 * happens in one long-lived worker thread; every chunk comes back here to be committed, so the state
 * stays single-threaded. Tasks run one at a time in the order they were queued, like a single Celery
 * worker, which keeps events and stored data deterministic (the real worker pool would interleave them).
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../../adapters/worker-thread.js';
import type { ImportWorkerData, ParseJob, ParseReply } from './import-worker.js';
import type { ParsedChunk } from './xml-import.js';

export type ParseOutcome = { items: number } | { error: string };

interface Job {
  id: number;
  /** False stops the job: its later chunks are dropped and the worker is told to stop parsing. */
  onChunk: (chunk: ParsedChunk) => boolean;
  stopped: boolean;
  settle: (outcome: ParseOutcome | null) => void;
}

/**
 * The bytes as an ArrayBuffer the worker can take. A buffer the caller hands over and that owns its
 * memory is moved as is; one that is kept (state.directUploads) or is a view into a larger memory (small
 * Buffers share a pool) is copied first.
 */
function forWorker(bytes: Buffer, handOver: boolean): ArrayBuffer {
  const memory = bytes.buffer;
  if (
    handOver &&
    memory instanceof ArrayBuffer &&
    bytes.byteOffset === 0 &&
    bytes.length === memory.byteLength
  )
    return memory;
  return new Uint8Array(bytes).buffer;
}

export class ImportRunner {
  private worker: Worker | null = null;
  private readonly cancelled = new Int32Array(new SharedArrayBuffer(4));
  private job: Job | null = null;
  private nextId = 1;
  private tail: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Tasks scheduled, queued or running. */
  private outstanding = 0;
  private idleWaiters: (() => void)[] = [];

  /**
   * Runs `task` once every task queued before it has finished; a task queued or waiting when the runner
   * closes never runs.
   */
  enqueue(task: () => Promise<void>): Promise<void> {
    this.outstanding++;
    const run = this.tail.then(() => (this.closed ? undefined : task()));
    this.tail = run.catch(() => {});
    const settled = () => this.release();
    run.then(settled, settled);
    return run;
  }

  /** Queues `task` after `delayMs` (the double's pickup delay); dropped if the runner closes first. */
  schedule(delayMs: number, task: () => Promise<void>): void {
    if (this.closed) return;
    this.outstanding++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.enqueue(task);
      this.release();
    }, delayMs);
    this.timers.add(timer);
  }

  /** Whether no task is scheduled, queued or running. */
  isIdle(): boolean {
    return this.outstanding === 0 || this.closed;
  }

  /** Resolves once no task is scheduled, queued or running (at once after close). */
  idle(): Promise<void> {
    if (this.outstanding === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Starts the worker ahead of a task that will need it, so its startup overlaps the upload. */
  warm(): void {
    if (!this.closed && !this.worker) this.start();
  }

  /**
   * Parses an export in the worker thread — `bytes` (with `handOver`, the caller gives them up and they may be
   * left detached) or the object at `url`, streamed — calling `onChunk` here for each chunk in order. Resolves
   * when the worker is done with it (so the next task cannot overlap), with null if the runner closed first.
   */
  parse(
    source: { bytes: Buffer; handOver: boolean } | { url: string },
    onChunk: (chunk: ParsedChunk) => boolean,
  ): Promise<ParseOutcome | null> {
    if (this.closed) return Promise.resolve(null);
    if (this.job) throw new Error('the import worker parses one upload at a time');
    const worker = this.worker ?? this.start();
    const id = this.nextId++;
    const payload = 'url' in source ? null : forWorker(source.bytes, source.handOver);
    const done = new Promise<ParseOutcome | null>((settle) => {
      this.job = { id, onChunk, stopped: false, settle };
    });
    // Held only while a job runs: an idle worker must not keep a finished process alive.
    worker.ref();
    try {
      if (payload === null)
        worker.postMessage({ id, url: (source as { url: string }).url } satisfies ParseJob);
      else worker.postMessage({ id, bytes: payload } satisfies ParseJob, [payload]);
    } catch (err) {
      this.finish({ error: err instanceof Error ? err.message : String(err) });
    }
    return done;
  }

  /** Terminates the worker; a running parse resolves null and queued tasks are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const worker = this.worker;
    this.worker = null;
    this.finish(null);
    this.wakeIdle();
    await worker?.terminate();
  }

  private release(): void {
    if (--this.outstanding === 0) this.wakeIdle();
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private start(): Worker {
    const data: ImportWorkerData = { cancelled: this.cancelled.buffer as SharedArrayBuffer };
    const worker = startModuleWorker(import.meta.url, './import-worker', { workerData: data });
    worker.unref();
    worker.on('message', (reply: ParseReply) => this.onReply(reply));
    // A crashed worker (out of memory, say) fails the task it was running; the next task starts a new one.
    worker.on('error', (err) => this.lost(worker, err.message));
    worker.on('exit', (code) => this.lost(worker, `the import worker exited (code ${code})`));
    this.worker = worker;
    return worker;
  }

  private lost(worker: Worker, error: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.finish({ error });
  }

  private onReply(reply: ParseReply): void {
    const job = this.job;
    if (!job || reply.id !== job.id) return;
    if (reply.kind === 'chunk') {
      if (!job.stopped && !job.onChunk(reply.chunk)) {
        job.stopped = true;
        Atomics.store(this.cancelled, 0, job.id);
      }
      return;
    }
    this.finish(reply.kind === 'done' ? { items: reply.items } : { error: reply.error });
  }

  private finish(outcome: ParseOutcome | null): void {
    const job = this.job;
    if (!job) return;
    this.job = null;
    this.worker?.unref();
    job.settle(outcome);
  }
}
