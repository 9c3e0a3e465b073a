import type {
  BatchOutcome,
  PlanInfo,
  UploadEvent,
  UploadOptions,
  UploadResultBase,
} from '../../core/upload/types.js';
import type { Factory } from '../../factory.js';
import { formatBytes, ProgressDisplay } from '../../io/progress.js';
import { createSpinner, type PhaseSpinner } from '../../io/spinner.js';
import { describeRepairs } from './render-s3.js';
import { sdkBatchLine } from './render-sdk.js';

const STEP_TEXT = { user: 'Checking the user…', presign: 'Requesting an upload URL…' } as const;

/**
 * An upload's events on stderr, for every method: progress as the run's progress mode says (a bar, plain
 * lines or nothing), a spinner while a step waits on the server, and the messages in between.
 */
export class UploadView {
  private readonly progress: ProgressDisplay;
  private spinner: Promise<PhaseSpinner> | null = null;

  constructor(
    private readonly f: Factory,
    private readonly options: UploadOptions,
  ) {
    this.progress = new ProgressDisplay(f.io, () => f.clock.now());
  }

  readonly event = (e: UploadEvent): void => {
    const out = this.f.out;
    if (e.type === 'progress') {
      const label = e.pass === 'check' ? 'Checking' : this.options.dryRun ? 'Planning' : 'Reading';
      this.progress.update(label, e.bytes, e.total);
      return;
    }
    if (e.type === 'sending') {
      this.progress.update(partLabel(e.index, this.partsOf), e.sentBytes, e.bytes);
      return;
    }
    if (e.type === 'step') {
      this.step(e.step, e.done);
      return;
    }
    if (e.type === 'started') {
      if (e.unit === 'part' && e.of !== null) {
        this.partsOf = e.of;
        this.progress.update(partLabel(e.index, e.of), 0, e.bytes);
      }
      return;
    }
    this.progress.pause();
    switch (e.type) {
      case 'plan':
        this.plan(e.plan);
        return;
      case 'replan':
        out.warn(
          `The server accepts at most ${e.cap} bytes per upload; planning the parts again (a second read).`,
        );
        return;
      case 'resume':
        if (e.unit === 'part')
          out.info(`Resuming: ${e.done} of ${e.total ?? '?'} part(s) were sent earlier.`);
        else
          out.verbose(
            `Resuming: an earlier run recorded ${e.done} batch(es); those the server has are skipped.`,
          );
        return;
      case 'done':
        if (e.unit === 'part') {
          const p = e.part;
          this.progress.end(partLabel(p.index, e.of), p.bytes);
          out.info(
            `${out.theme.green('✓')} part ${p.index}/${e.of} stored as ${p.fileKey} (${formatBytes(p.bytes)} in ${(p.durationMs / 1000).toFixed(1)} s, ${formatBytes(rate(p.bytes, p.durationMs))}/s)`,
          );
        } else if (!this.options.dryRun && !this.f.globals.json) out.info(this.line(e.batch));
        return;
      case 'imported':
        if (!this.f.globals.json) out.info(this.line(e.batch));
        return;
      case 'retry':
        out.warn(
          `${e.unit} ${e.index}: ${e.reason}; retrying in ${(e.delayMs / 1000).toFixed(1)} s (attempt ${e.attempt + 1})`,
        );
        return;
      case 'drain':
        out.warn(
          `interrupted: ${e.unit} ${e.index} was sent in full; waiting up to ${inSeconds(e.waitMs)} for the server's answer so it is not sent twice (Ctrl-C again to quit now)`,
        );
        return;
      case 'pending':
        if (e.phase === 'waiting')
          out.info(
            `${e.unit} ${e.index} (${e.filename}) was sent when an earlier run stopped, and the status feed does not show it yet (it shows an import once it starts); waiting up to ${inSeconds(e.waitMs)} for it before sending it again`,
          );
        else
          out.warn(
            `${e.unit} ${e.index} (${e.filename}) did not appear on the status feed in ${inSeconds(e.waitMs)}; sending it again (if the server still had it queued, it is imported twice)`,
          );
        return;
      case 'connection':
        if (e.state === 'reconnecting')
          out.verbose(`status stream: reconnecting${e.detail ? ` (${e.detail})` : ''}`);
        else if (e.state === 'polling') out.warn('status stream unavailable; polling /sync/recent instead');
        return;
      case 'stopped':
        if (e.stored.length === 0) {
          out.info('No part was completed.');
          return;
        }
        out.info(`Completed before stopping: ${e.stored.length} of ${e.total} part(s):`);
        for (const p of e.stored) out.info(`  part ${p.index}: ${p.fileKey}`);
        out.info('Run the same command again to send the rest.');
        return;
      case 'warning':
        out.warn(e.message);
        return;
    }
  };

  /** Stops whatever is drawn; called before the result is printed, and again on the way out. */
  close(): void {
    this.progress.pause();
    this.step('user', true);
  }

  private line(b: BatchOutcome): string {
    return this.options.method === 'sdk' ? sdkBatchLine(b) : batchLine(b);
  }

  /** The number of parts of the upload under way (for the label of each part's bar). */
  private partsOf = 0;

  private plan(plan: PlanInfo): void {
    const out = this.f.out;
    if (plan.method === 'direct') {
      out.info(
        `${plan.dryRun ? 'Planning' : 'Uploading'} ${plan.source} to user ${plan.userId} (direct, batches ≤ ${formatBytes(plan.limits.maxBytes)}, ≤ ${plan.limits.maxRecords} records)`,
      );
      return;
    }
    if (plan.method === 'sdk') {
      const how = { 'api-key': 'API key', 'sdk-token': 'SDK token', minted: 'SDK token from your login' };
      out.info(
        `${plan.dryRun ? 'Planning' : 'Uploading'} ${plan.source} to user ${plan.userId} (sdk, batches ≤ ${formatBytes(plan.limits.maxBytes)}, ≤ ${plan.limits.maxRecords} samples${plan.auth ? `, ${how[plan.auth]}` : ''})`,
      );
      return;
    }
    const elements = plan.elements !== null ? `, ${plan.elements} elements` : '';
    const parts = plan.parts > 1 ? `, ${plan.parts} parts of at most ${formatBytes(plan.cap)}` : '';
    out.info(`${plan.source}: ${formatBytes(plan.sourceBytes)}${elements}${parts}`);
    const repairs = plan.repairs ? describeRepairs(plan.repairs, plan.streamed) : [];
    if (repairs.length > 0)
      out.info(`Repairs while sending (your file is not changed): ${repairs.join('; ')}.`);
  }

  /** A spinner while a step waits on the server, when progress is drawn. */
  private step(step: keyof typeof STEP_TEXT, done: boolean): void {
    if (this.f.io.progress !== 'draw') return;
    if (done) {
      const spinner = this.spinner;
      this.spinner = null;
      void spinner?.then((s) => s.stop());
      return;
    }
    this.progress.pause();
    this.spinner = createSpinner(this.f.io).then((s) => {
      s.start(STEP_TEXT[step]);
      return s;
    });
  }
}

function partLabel(index: number, of: number): string {
  return `Uploading part ${index}/${of}`;
}

function rate(bytes: number, ms: number): number {
  return ms > 0 ? (bytes * 1000) / ms : bytes;
}

function inSeconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** The fields every batch method's `--json` document starts with, named as every method names them. */
export function documentHead(r: UploadResultBase) {
  return {
    method: r.method,
    status: r.status,
    dryRun: r.status === 'dry-run',
    server: r.server,
    userId: r.userId,
    source: r.source,
    sourceBytes: r.sourceBytes,
    fingerprint: r.fingerprint,
    runId: r.runId,
    ...(r.uploadedAt ? { uploadedAt: r.uploadedAt } : {}),
  };
}

/** The fields every batch method's `--json` document ends with. */
export function documentTail(r: {
  sent: number;
  skipped: number;
  failed: number;
  bytesSent: number;
  durationMs: number;
  stoppedEarly: boolean;
  earlierBatches?: number;
}) {
  return {
    sent: r.sent,
    skipped: r.skipped,
    failed: r.failed,
    bytesSent: r.bytesSent,
    durationMs: r.durationMs,
    stoppedEarly: r.stoppedEarly,
    ...(r.earlierBatches !== undefined ? { earlierBatches: r.earlierBatches } : {}),
  };
}

export function batchLine(b: BatchOutcome): string {
  const what = `batch ${b.seq} (${b.filename}, ${b.records} records, ${formatBytes(b.bytes)})`;
  switch (b.state) {
    case 'skipped':
      return `${what}: already sent in an earlier run, skipped`;
    case 'sent':
      return `${what}: queued${b.taskId ? ` as task ${b.taskId}` : ' (accepted; found on the status feed)'}`;
    case 'completed':
      return `${what}: completed, ${b.itemsProcessed ?? '?'} items processed`;
    case 'failed':
      return `${what}: FAILED: ${b.error ?? 'no error given'}`;
    default:
      return `${what}: planned`;
  }
}
