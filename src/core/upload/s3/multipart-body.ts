/**
 * The bytes of a multipart upload: one object, the padded repaired stream (repair.ts: the DOCTYPE dropped,
 * illegal characters dropped and as many newlines appended), whose exact size is known from the head alone,
 * cut into parts of the server's part size (every part but the last exactly that long).
 *
 * One sequential pass reads the whole export through the content check (the same check-only scan as a
 * single-part upload) and, as it goes, learns where in the source each part starts: the repair drops bytes,
 * so output offset N is source offset N plus what was dropped before it. Nothing is completed before that
 * pass has passed (`checked`), so an export the repair cannot make well-formed is never imported.
 *
 * - A plain file (`filePath`): every part reads its own range from disk into reused buffers, repairs it
 *   and cuts it at its size, so parts go up in parallel and the check pass only reads (it runs ahead: it
 *   does no network I/O). Memory: a read pool per part in flight, plus the pass's own.
 * - A zip entry or a UTF-16 file can only be read from its start, so the pass's own output is the data:
 *   parts are filled from it in order into at most `slots` part buffers (parts in flight at once, bounded by
 *   BUFFER_BUDGET_BYTES), or, when even two parts would not fit in that budget, handed over as a stream
 *   one part at a time. A part sent again after a failure reads its range afresh (a zip inflates up to it).
 * - The filtered document (`filter`, shared/export-filter.ts: dates rewritten, workouts left out) has no
 *   offsets that map back to the source, so it goes as a sequential source does, whatever the file is:
 *   the pass sends the checked chunks through the filter and fills the parts in order from its output.
 *   A streamed part sent again makes the document afresh up to it (the filter is deterministic).
 */
import { availableParallelism } from 'node:os';
import type { ExportSource } from '../../../adapters/export-source.js';
import { ReadPool } from '../../../adapters/read-pool.js';
import { contentCheckAvailable } from '../../reader/content-check.js';
import { locateKept, type RepairPlan, repairBytes, repairChunk } from '../../reader/repair.js';
import type { ScanSummary } from '../../reader/types.js';
import { type ExportFilterPlan, repairedStream } from '../shared/export-filter.js';
import { type Check, inlineCheck, verifyScanned, WORKER_CHECK_BYTES, workerCheck } from './checked-body.js';
import { notWhole, type PartStarts } from './part-starts.js';
import { refuseUnrepairable } from './preflight.js';

/** What part buffers may take in all when the export can only be read from its start. */
export const BUFFER_BUDGET_BYTES = 64 * 1024 * 1024;
/** Bytes per read of the export, by the check pass and by each part. */
const READ_BYTES = 1024 * 1024;

/** One part of the object: its 1-based number, where it starts in the object, and its length. */
export interface PartLayout {
  number: number;
  start: number;
  bytes: number;
}

/** `total` bytes in parts of `partSize`, the last one shorter. */
export function layoutParts(total: number, partSize: number): PartLayout[] {
  const parts: PartLayout[] = [];
  for (let start = 0, n = 1; start < total; start += partSize, n++)
    parts.push({ number: n, start, bytes: Math.min(partSize, total - start) });
  return parts;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  // Whoever needs it awaits it; a rejection nobody awaited is not an error of its own.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export interface PartBodies {
  /** Parts that can be in flight at once: the caller's concurrency, or fewer for a sequential source. */
  readonly slots: number;
  /**
   * The bytes of `part`, exactly `part.bytes` of them. `attempt` > 1: sent again after a failure. The
   * last part ends only once the whole export has passed the check.
   */
  body(part: PartLayout, attempt: number, pool: ReadPool): AsyncIterable<Buffer>;
  /** S3 has the part: its buffer (sequential sources) is free again. */
  release(part: PartLayout): void;
  /** Resolves with the scan once the whole export has passed; rejects with why it cannot be uploaded. */
  readonly checked: Promise<ScanSummary>;
  close(): void;
}

export interface PartBodiesOptions {
  source: ExportSource;
  repair: RepairPlan;
  parts: PartLayout[];
  /** Parts stored by an earlier run: a sequential source reads past them. */
  skip: ReadonlySet<number>;
  concurrency: number;
  signal: AbortSignal;
  onProgress?(bytesRead: number): void;
  /** Check in a worker thread (default: without the compiled fast path, for a large export). */
  worker?: boolean;
  /** What part buffers may take for a sequential source (default BUFFER_BUDGET_BYTES). */
  bufferBudgetBytes?: number;
  /** The object is this filter's document (its exact size is `parts`' total), made in order. */
  filter?: ExportFilterPlan | null;
  /**
   * A plain file another thread checks as a whole (measure.ts): where each part starts comes from it,
   * and `checked` is its verdict, so this side reads only the parts' own ranges.
   */
  located?: { starts: PartStarts; checked: Promise<ScanSummary> };
}

export function partBodies(opts: PartBodiesOptions): PartBodies {
  const { source, repair, parts, signal } = opts;
  const filter = opts.filter ?? null;
  const total = parts.reduce((n, p) => n + p.bytes, 0);
  const seekable = source.filePath !== undefined && filter === null;
  const partSize = parts[0]?.bytes ?? 0;
  const fit = Math.floor((opts.bufferBudgetBytes ?? BUFFER_BUDGET_BYTES) / Math.max(1, partSize));
  /** Sequential source: parts are buffered when at least two fit in the budget, else streamed one by one. */
  const buffered = !seekable && fit >= 2;
  const slots = seekable ? opts.concurrency : buffered ? Math.max(1, Math.min(opts.concurrency, fit)) : 1;
  // starts[i]: where in the source part i + 1 begins, learnt by the pass.
  const starts = parts.map(() => deferred<number>());
  starts[0]?.resolve(0);
  const done = deferred<ScanSummary>();
  const located = seekable ? opts.located : undefined;
  const useWorker =
    opts.worker ??
    (!contentCheckAvailable() && source.size >= WORKER_CHECK_BYTES && availableParallelism() > 1);
  const check: Check | null = located ? null : useWorker ? workerCheck() : inlineCheck();
  const checkOf = (): Check => {
    if (check === null) throw new Error('a located pass has no check of its own');
    return check;
  };
  const cleanBefore = () => (located ? located.starts.cleanBefore() : (check?.cleanBefore() ?? 0));
  const pass = new AbortController();
  const passSignal = AbortSignal.any([signal, pass.signal]);
  const feed = buffered
    ? new BufferFeed(parts, opts.skip, slots)
    : seekable
      ? null
      : new StreamFeed(parts, opts.skip);

  const fail = (err: unknown) => {
    for (const s of starts) s.reject(err);
    done.reject(err);
    feed?.fail(err);
  };

  /** The filtered document: the checked chunks through the filter, into the feed in order. */
  async function filteredPass(f: ExportFilterPlan, sink: Feed): Promise<ScanSummary> {
    // A filtered document is never `located` (not a plain file), so it has a check of its own.
    const check = checkOf();
    let at = 0;
    async function* checked(): AsyncGenerator<Buffer> {
      for await (const chunk of source.open({ signal: passSignal })) {
        await check.write(chunk);
        const broken = check.broken();
        if (broken) refuseUnrepairable(source, { ...broken, sha256: '' });
        at += chunk.length;
        opts.onProgress?.(at);
        yield chunk;
      }
    }
    let out = 0;
    for await (const piece of repairedStream(checked(), { ...repair, filter: f })) {
      out += piece.length;
      if (out > total) throw notWhole(source);
      await sink.push(piece);
    }
    const summary: ScanSummary = { ...(await check.end()), sha256: '' };
    await verifyScanned(source, repair, summary);
    if (out !== total) throw notWhole(source);
    sink.end();
    return summary;
  }

  /** Each part's start from the thread that checks the file; nothing here reads the whole of it. */
  async function locatedPass(l: NonNullable<typeof located>): Promise<ScanSummary> {
    for (let i = 1; i < parts.length; i++)
      l.starts.startOf(parts[i]!.start).then(starts[i]!.resolve, starts[i]!.reject);
    const summary = await l.checked;
    if (l.starts.kept() > total) throw notWhole(source);
    return summary;
  }

  void (async () => {
    let at = 0;
    let out = 0;
    let next = 1;
    const pool = seekable ? new ReadPool(READ_BYTES) : undefined;
    try {
      if (filter !== null) {
        done.resolve(await filteredPass(filter, feed as Feed));
        return;
      }
      if (located) {
        done.resolve(await locatedPass(located));
        return;
      }
      const check = checkOf();
      for await (const chunk of source.open({ signal: passSignal, ...(pool ? { pool } : {}) })) {
        await check.write(chunk);
        const broken = check.broken();
        if (broken) refuseUnrepairable(source, { ...broken, sha256: '' });
        // The scanner has searched these bytes for illegal ones already: the repair need not again.
        const kept = repairChunk(chunk, at, repair, at + chunk.length <= check.cleanBefore());
        while (next < parts.length && parts[next]!.start <= out + kept.length) {
          starts[next]!.resolve(locateKept(chunk, at, parts[next]!.start - out, kept.length, repair));
          next++;
        }
        if (feed) await feed.push(kept);
        at += chunk.length;
        out += kept.length;
        // A plain file's pass only reads: its chunk is free again (a sequential source's is never pooled).
        pool?.release(chunk);
        opts.onProgress?.(at);
      }
      const summary: ScanSummary = { ...(await check.end()), sha256: '' };
      await verifyScanned(source, repair, summary);
      if (next < parts.length || out > total) throw notWhole(source);
      if (feed) await feed.push(Buffer.alloc(total - out, 0x0a));
      feed?.end();
      done.resolve(summary);
    } catch (err) {
      fail(err);
    } finally {
      check?.close();
    }
  })();

  /** A part read from its own range of the source: repaired, cut at its size, the last one padded. */
  async function* ranged(part: PartLayout, pool: ReadPool): AsyncGenerator<Buffer> {
    const start = await starts[part.number - 1]!.promise;
    const last = part.number === parts.length;
    let sent = 0;
    const raw = source.open({ start, signal, ...(seekable ? { pool } : {}) });
    for await (const piece of repairBytes(raw, repair, start, { cleanBefore })) {
      const room = part.bytes - sent;
      if (!last && piece.length >= room) {
        yield piece.length === room ? piece : piece.subarray(0, room);
        return;
      }
      sent += piece.length;
      yield piece;
    }
    if (!last) return;
    // What the repair dropped is made up for by newlines after the root, once the whole export passed.
    await done.promise;
    if (part.bytes > sent) yield Buffer.alloc(part.bytes - sent, 0x0a);
  }

  /** A part of the filtered document sent again: the document made afresh, up to the part and through it. */
  async function* remade(part: PartLayout, f: ExportFilterPlan): AsyncGenerator<Buffer> {
    let at = 0;
    let sent = 0;
    for await (const piece of repairedStream(source.open({ signal }), { ...repair, filter: f })) {
      const from = Math.max(0, part.start - at);
      at += piece.length;
      if (from >= piece.length) continue;
      const to = Math.min(piece.length, from + part.bytes - sent);
      sent += to - from;
      yield from === 0 && to === piece.length ? piece : piece.subarray(from, to);
      if (sent === part.bytes) break;
    }
    // The last part ends only once the whole document passed the check.
    if (part.number === parts.length) await done.promise;
  }

  return {
    slots,
    checked: done.promise,
    body(part, attempt, pool) {
      // A buffered part is still held for its retry; a streamed one's bytes are gone: read its range again.
      if (filter !== null && !buffered && attempt > 1) return remade(part, filter);
      if (seekable || (!buffered && attempt > 1)) return ranged(part, pool);
      return (feed as Feed).body(part);
    },
    release(part) {
      feed?.release(part);
    },
    close() {
      pass.abort();
      feed?.fail(new Error('closed'));
    },
  };
}

interface Feed {
  push(bytes: Buffer): Promise<void>;
  end(): void;
  fail(err: unknown): void;
  body(part: PartLayout): AsyncIterable<Buffer>;
  release(part: PartLayout): void;
}

/** The pass's output into part buffers, in order, at most `slots` of them filled and not yet stored. */
class BufferFeed implements Feed {
  private readonly ready = new Map<number, Deferred<Buffer>>();
  /** The whole buffer behind each filled part, by part number. */
  private readonly whole = new Map<number, Buffer>();
  private readonly free: Buffer[] = [];
  private held = 0;
  private index = 0;
  private buf: Buffer | null = null;
  private filled = 0;
  private room: Deferred<void> | null = null;
  private failure: unknown = null;

  constructor(
    private readonly parts: PartLayout[],
    private readonly skip: ReadonlySet<number>,
    private readonly slots: number,
  ) {
    for (const p of parts) this.ready.set(p.number, deferred<Buffer>());
  }

  async push(bytes: Buffer): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      if (this.failure) throw this.failure;
      const part = this.parts[this.index];
      if (!part) return;
      const want = part.bytes - this.filled;
      const n = Math.min(want, bytes.length - off);
      if (this.skip.has(part.number)) {
        this.filled += n;
      } else {
        if (this.buf === null) {
          while (this.held >= this.slots) {
            this.room = deferred<void>();
            await this.room.promise;
            if (this.failure) throw this.failure;
          }
          this.held++;
          const reuse = this.free.pop();
          this.buf = reuse && reuse.length >= part.bytes ? reuse : Buffer.allocUnsafeSlow(part.bytes);
        }
        bytes.copy(this.buf, this.filled, off, off + n);
        this.filled += n;
      }
      off += n;
      if (this.filled === part.bytes) {
        if (this.buf) {
          this.whole.set(part.number, this.buf);
          this.ready.get(part.number)!.resolve(this.buf.subarray(0, part.bytes));
        }
        this.buf = null;
        this.filled = 0;
        this.index++;
      }
    }
  }

  end(): void {}

  fail(err: unknown): void {
    this.failure ??= err;
    for (const d of this.ready.values()) d.reject(err);
    this.room?.resolve();
  }

  async *body(part: PartLayout): AsyncGenerator<Buffer> {
    yield await this.ready.get(part.number)!.promise;
  }

  release(part: PartLayout): void {
    const buf = this.whole.get(part.number);
    if (!buf) return;
    this.whole.delete(part.number);
    this.ready.delete(part.number);
    this.free.push(buf);
    this.held--;
    const r = this.room;
    this.room = null;
    r?.resolve();
  }
}

/** The pass's output handed over as it comes, to one part at a time (parts too large to buffer). */
class StreamFeed implements Feed {
  private index = 0;
  private filled = 0;
  private queue: Buffer[] = [];
  private wakeReader: (() => void) | null = null;
  private wakeWriter: (() => void) | null = null;
  private failure: unknown = null;
  private ended = false;
  /** The part being read, or null while none is: the pass waits for its reader. */
  private reading: number | null = null;
  /** Parts nobody reads from the pass: stored earlier, or abandoned by a failed attempt. */
  private readonly abandoned: Set<number>;

  constructor(
    private readonly parts: PartLayout[],
    skip: ReadonlySet<number>,
  ) {
    this.abandoned = new Set(skip);
  }

  private partAt(): PartLayout | undefined {
    return this.parts[this.index];
  }

  async push(bytes: Buffer): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      if (this.failure) throw this.failure;
      const part = this.partAt();
      if (!part) return;
      const n = Math.min(part.bytes - this.filled, bytes.length - off);
      // Parts nobody reads (stored earlier, or sent again from their own range) are read past.
      const discard = this.abandoned.has(part.number);
      if (!discard) {
        while (this.queue.length >= 2 || this.reading !== part.number) {
          if (this.abandoned.has(part.number)) break;
          await new Promise<void>((resolve) => {
            this.wakeWriter = resolve;
          });
          if (this.failure) throw this.failure;
        }
        if (!this.abandoned.has(part.number)) {
          this.queue.push(off === 0 && n === bytes.length ? bytes : bytes.subarray(off, off + n));
          this.wakeReader?.();
        }
      }
      this.filled += n;
      off += n;
      if (this.filled === part.bytes) {
        this.filled = 0;
        this.index++;
      }
    }
  }

  end(): void {
    this.ended = true;
    this.wakeReader?.();
  }

  fail(err: unknown): void {
    this.failure ??= err;
    this.wakeReader?.();
    this.wakeWriter?.();
  }

  private claim(number: number): void {
    this.reading = number;
    this.wakeWriter?.();
  }

  async *body(part: PartLayout): AsyncGenerator<Buffer> {
    this.claim(part.number);
    let got = 0;
    try {
      while (got < part.bytes) {
        if (this.failure) throw this.failure;
        const next = this.queue.shift();
        if (next) {
          got += next.length;
          this.wakeWriter?.();
          yield next;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => {
          this.wakeReader = resolve;
        });
      }
    } finally {
      // Left early (a failed attempt): the rest of this part is read past; a retry reads its own range.
      if (got < part.bytes) this.abandoned.add(part.number);
      this.queue = [];
      this.reading = null;
      this.wakeWriter?.();
    }
  }

  release(): void {}
}
