import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * The sha256 digests of a direct run (the export's fingerprint and each batch's, for the ledger) cost as
 * much as a third of the client's own work; a worker thread computes them while the main thread scans.
 * Memory is shared, not moved: the export's chunks are copied into shared slots that the worker hands
 * back (the scanner and the open batch still read the chunks themselves), and batch bodies live in
 * shared memory from the start (BodyPool), so the worker reads them in place. Moving buffers instead
 * makes V8 count every arrival as a fresh external allocation, and that triggers full collections.
 * Without a worker (it could not start) the same digests are computed inline.
 */

/** Plain JS, evaluated as CommonJS in the worker, so it runs the same from src (tsx) and from dist. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const memories = [];
let file = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.op === 'memory') memories[m.memory] = m.shared;
  else if (m.op === 'update') {
    file.update(new Uint8Array(memories[m.memory], 0, m.length));
    parentPort.postMessage({ id: 0, memory: m.memory });
  } else if (m.op === 'final') {
    parentPort.postMessage({ id: m.id, hex: file.digest('hex') });
    file = createHash('sha256');
  } else if (m.op === 'digest') {
    const bytes = new Uint8Array(memories[m.memory], m.offset, m.length);
    parentPort.postMessage({ id: m.id, hex: createHash('sha256').update(bytes).digest('hex') });
  }
});
`;

interface Reply {
  /** 0 for a slot handed back after an update. */
  id: number;
  hex?: string;
  /** The slot handed back. */
  memory?: number;
}

const SLOT_BYTES = 1 << 20;

export class Sha256Offload {
  private worker: Worker | null = null;
  private failure: Error | null = null;
  private inline: Hash | null = null;
  private closed = false;
  private nextId = 1;
  /** Free slots for update(), by memory number. */
  private readonly slots: number[] = [];
  /**
   * Shared memories the worker knows, numbered. Posting a SharedArrayBuffer costs about half a millisecond
   * (about what hashing a megabyte costs), so each is posted once and then named by its number.
   */
  private readonly memories: SharedArrayBuffer[] = [];
  private readonly numbers = new Map<SharedArrayBuffer, number>();
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();

  constructor(useWorker = true) {
    if (useWorker) {
      try {
        const worker = new Worker(WORKER_SOURCE, { eval: true });
        // Referenced only while an answer is awaited, so it never keeps a finished process alive.
        worker.unref();
        worker.on('message', (r: Reply) => {
          if (r.id === 0) {
            this.slots.push(r.memory!);
            return;
          }
          const w = this.waiting.get(r.id);
          this.waiting.delete(r.id);
          if (this.waiting.size === 0) worker.unref();
          w?.resolve(r);
        });
        worker.on('error', (err) => this.fail(err));
        worker.on('exit', (code) => this.fail(new Error(`the hashing worker exited (code ${code})`)));
        this.worker = worker;
      } catch {
        this.worker = null;
      }
    }
    if (this.worker === null) this.inline = createHash('sha256');
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }

  private number(shared: SharedArrayBuffer): number {
    let n = this.numbers.get(shared);
    if (n === undefined) {
      n = this.memories.push(shared) - 1;
      this.numbers.set(shared, n);
      this.worker!.postMessage({ op: 'memory', memory: n, shared });
    }
    return n;
  }

  private ask(message: { op: string; memory?: number; offset?: number; length?: number }): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const answer = new Promise<Reply>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
    this.worker!.ref();
    this.worker!.postMessage({ ...message, id });
    return answer;
  }

  /** Feeds the next bytes of the export into its fingerprint. */
  update(chunk: Buffer): void {
    if (this.closed) return;
    if (this.worker === null) {
      this.inline!.update(chunk);
      return;
    }
    for (let at = 0; at < chunk.length; at += SLOT_BYTES) {
      const length = Math.min(SLOT_BYTES, chunk.length - at);
      // The worker hashes at several times the speed of the scan, so a handful of slots serve a run.
      const memory = this.slots.pop() ?? this.number(new SharedArrayBuffer(SLOT_BYTES));
      new Uint8Array(this.memories[memory]!).set(chunk.subarray(at, at + length));
      this.worker.postMessage({ op: 'update', memory, length });
    }
  }

  /** sha256 (hex) of everything passed to update() since the last call. */
  async fingerprint(): Promise<string> {
    if (this.closed) throw new Error('hashing stopped');
    if (this.worker === null) {
      const hex = this.inline!.digest('hex');
      this.inline = createHash('sha256');
      return hex;
    }
    return (await this.ask({ op: 'final' })).hex!;
  }

  /** sha256 (hex) of a body; one in shared memory (BodyPool) must not change until this settles. */
  async digest(body: Buffer): Promise<string> {
    if (this.closed) throw new Error('hashing stopped');
    if (this.worker === null || !(body.buffer instanceof SharedArrayBuffer)) {
      return createHash('sha256').update(body).digest('hex');
    }
    const reply = await this.ask({
      op: 'digest',
      memory: this.number(body.buffer),
      offset: body.byteOffset,
      length: body.length,
    });
    return reply.hex!;
  }

  close(): void {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.fail(new Error('hashing stopped'));
    void worker?.terminate();
  }
}
