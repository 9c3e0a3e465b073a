import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * Each batch's sha256 (the ledger compares it on resume) is computed by a worker thread, while the main
 * thread goes on with the next batch. Batch bodies live in shared memory (BodyPool), so the worker reads
 * them in place: moving buffers instead makes V8 count every arrival as a fresh external allocation,
 * which triggers full collections. Without a worker (it could not start) digests are computed inline.
 */

/** Plain JS, evaluated as CommonJS in the worker, so it runs the same from src (tsx) and from dist. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const memories = [];
parentPort.on('message', (m) => {
  if (m.op === 'memory') memories[m.memory] = m.shared;
  else {
    const bytes = new Uint8Array(memories[m.memory], m.offset, m.length);
    parentPort.postMessage({ id: m.id, hex: createHash('sha256').update(bytes).digest('hex') });
  }
});
`;

export class Sha256Offload {
  private worker: Worker | null = null;
  private failure: Error | null = null;
  private closed = false;
  private nextId = 1;
  private readonly waiting = new Map<
    number,
    { resolve: (hex: string) => void; reject: (e: Error) => void }
  >();
  /**
   * Shared memories the worker knows, numbered. Posting a SharedArrayBuffer costs about half a
   * millisecond, so each is posted once and then named by its number.
   */
  private readonly numbers = new Map<SharedArrayBuffer, number>();

  /** Digests asked for so far: the first is computed inline (below). */
  private asked = 0;
  private tried = false;

  constructor(private readonly useWorker = true) {}

  /**
   * The worker starts at the second digest: an upload of one batch (a small export) is hashed inline and
   * never waits for a thread to start, and from the second batch on the worker overlaps with reading.
   */
  private started(): Worker | null {
    if (this.tried || !this.useWorker || this.closed) return this.worker;
    this.tried = true;
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      // Referenced only while an answer is awaited, so it never keeps a finished process alive.
      worker.unref();
      worker.on('message', (r: { id: number; hex: string }) => {
        const w = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        if (this.waiting.size === 0) worker.unref();
        w?.resolve(r.hex);
      });
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => this.fail(new Error(`the hashing worker exited (code ${code})`)));
      this.worker = worker;
    } catch {
      this.worker = null;
    }
    return this.worker;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }

  /** sha256 (hex) of a body; one in shared memory (BodyPool) must not change until this settles. */
  async digest(body: Buffer): Promise<string> {
    if (this.closed) throw new Error('hashing stopped');
    const worker = this.asked++ === 0 ? null : this.started();
    if (worker === null || !(body.buffer instanceof SharedArrayBuffer)) {
      return createHash('sha256').update(body).digest('hex');
    }
    if (this.failure) throw this.failure;
    let memory = this.numbers.get(body.buffer);
    if (memory === undefined) {
      memory = this.numbers.size;
      this.numbers.set(body.buffer, memory);
      worker.postMessage({ op: 'memory', memory, shared: body.buffer });
    }
    const id = this.nextId++;
    const answer = new Promise<string>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    worker.ref();
    worker.postMessage({ op: 'digest', id, memory, offset: body.byteOffset, length: body.length });
    return answer;
  }

  close(): void {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.fail(new Error('hashing stopped'));
    void worker?.terminate();
  }
}
