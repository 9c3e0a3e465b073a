import type { Batch } from './batcher.js';

/** A finished batch on its way to the sender, with its sha256 being computed (null in a dry run). */
export interface QueuedBatch {
  batch: Batch;
  digest: Promise<string> | null;
}

/**
 * The hand-off between the reader (producer.ts) and the sender (consumer.ts). The reader runs at most
 * one finished batch ahead of the sender, so memory holds the batch being built, one waiting and the
 * one in flight, however slow the server is. An interrupt wakes both sides.
 */
export class BatchQueue {
  private readonly items: QueuedBatch[] = [];
  private open = true;
  private wakeConsumer: (() => void) | null = null;
  private wakeProducer: (() => void) | null = null;

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.wake(), { once: true });
  }

  push(item: QueuedBatch): void {
    this.items.push(item);
    this.wakeConsumer?.();
  }

  /** The reader is done: take() returns null once the queue is empty. */
  close(): void {
    this.open = false;
    this.wakeConsumer?.();
  }

  /** The next batch, or null when the reader is done and nothing is left; throws once interrupted. */
  async take(): Promise<QueuedBatch | null> {
    for (;;) {
      if (this.signal.aborted) throw this.signal.reason;
      const item = this.items.shift();
      this.wakeProducer?.();
      if (item) return item;
      if (!this.open) return null;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
      this.wakeConsumer = null;
    }
  }

  /**
   * Waits while a finished batch is waiting: the next one is then pushed once the sender has taken it,
   * so at most one waits (each is a body of up to the batch size, BodyPool).
   */
  async room(): Promise<void> {
    while (this.items.length > 0 && !this.signal.aborted) {
      await new Promise<void>((resolve) => {
        this.wakeProducer = resolve;
      });
    }
  }

  /** Passes `src` on, pausing whenever the sender is behind; ends early once interrupted. */
  async *gated(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of src) {
      await this.room();
      if (this.signal.aborted) return;
      yield chunk;
    }
  }

  private wake(): void {
    this.wakeProducer?.();
    this.wakeConsumer?.();
  }
}
