import type {
  BatchOutcome,
  IncrementalPlan,
  PlanInfo,
  UploadEvent,
  UploadOptions,
} from '../../core/upload/types.js';
import type { Factory } from '../../factory.js';
import { formatBytes, ProgressDisplay } from '../../io/progress.js';
import { createSpinner, type PhaseSpinner } from '../../io/spinner.js';
import { count } from '../../io/text.js';
import { batchLine, describeRepairs, sdkBatchLine } from './lines.js';
import { UploadTally } from './tally.js';
import { UploadProgress } from './upload-progress.js';

const STEP_TEXT = {
  user: 'Checking the user…',
  server: 'Reading what the server offers…',
  presign: 'Requesting an upload URL…',
  create: 'Starting the multipart upload…',
  complete: 'Completing the upload…',
} as const;

/**
 * An upload's events on stderr, for every method: progress as the run's progress mode says (a bar, plain
 * lines or nothing), a spinner while a step waits on the server, and the messages in between.
 */
export class UploadView {
  private readonly progress: ProgressDisplay;
  private spinner: Promise<PhaseSpinner> | null = null;
  /** One status line for a direct or s3 upload, when progress is drawn. */
  private readonly status: UploadProgress | null;
  private readonly tally = new UploadTally();
  /** Set from the first Ctrl-C until its line is printed (a drain's wait goes into that line). */
  private stopping: { drainMs: number | undefined } | null = null;
  private readonly onInterrupt = () => this.interrupted();

  constructor(
    private readonly f: Factory,
    private readonly options: UploadOptions,
  ) {
    this.progress = new ProgressDisplay(f.io, () => f.clock.now());
    this.status =
      options.method !== 'sdk' && f.io.progress === 'draw'
        ? new UploadProgress(f, this.tally, options.method, options.dryRun)
        : null;
    f.out.doneSoFar = { describe: () => this.tally.describe(options), resumes: !options.dryRun };
    f.signal.addEventListener('abort', this.onInterrupt, { once: true });
  }

  /**
   * The first Ctrl-C says at once what happens next. Its line waits for this turn of the event loop to
   * end, so that a batch whose answer is awaited (the drain event the same interrupt causes) is in it.
   */
  private interrupted(): void {
    if ((this.f.signal.reason as Error | undefined)?.name === 'OutputClosed') return;
    this.stopping = { drainMs: undefined };
    setImmediate(() => this.sayStopping());
  }

  private sayStopping(): void {
    if (!this.stopping) return;
    const { drainMs } = this.stopping;
    this.stopping = null;
    this.say(() => this.f.out.warn(this.tally.stopping(this.options, drainMs)));
  }

  /** Prints a message with the status line out of its way. */
  private say(print: () => void): void {
    if (this.status) this.status.around(print);
    else {
      this.progress.pause();
      print();
    }
  }

  readonly event = (e: UploadEvent): void => {
    this.tally.note(e);
    if (e.type === 'drain' && this.stopping) {
      this.stopping.drainMs = e.waitMs;
      return;
    }
    if (this.status) {
      this.lineEvent(this.status, e);
      return;
    }
    if (e.type === 'progress') {
      const label = e.pass === 'check' ? 'Checking' : this.options.dryRun ? 'Planning' : 'Reading';
      this.progress.update(label, e.bytes, e.total);
      return;
    }
    if (e.type === 'transfer') {
      // One bar for the object, whichever parts are in flight (a label that changed would start a new one).
      this.progress.update(`Uploading ${this.partsOf} parts`, e.sentBytes, e.total);
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
      if (this.transport === 'multipart') {
        this.partsOf = e.of ?? this.partsOf;
        return;
      }
      if (e.unit === 'part' && e.of !== null) {
        this.partsOf = e.of;
        this.progress.update(partLabel(e.index, e.of), 0, e.bytes);
      }
      return;
    }
    this.progress.pause();
    this.message(e);
  };

  /** direct and s3 on a terminal: progress feeds the status line, messages print above it. */
  private lineEvent(view: UploadProgress, e: UploadEvent): void {
    if (e.type === 'progress' || e.type === 'started' || e.type === 'sending' || e.type === 'transfer')
      view.update();
    else if (e.type === 'step') view.waiting(e.done ? null : STEP_TEXT[e.step]);
    else {
      view.around(() => this.message(e));
      // What the message changed (a part stored) is in the line drawn again under it.
      if (e.type === 'done') view.update();
    }
  }

  /** An event that prints a message (every event but progress and steps). */
  private message(e: UploadEvent): void {
    const out = this.f.out;
    switch (e.type) {
      case 'plan':
        this.plan(e.plan);
        return;
      case 'incremental':
        this.pendingIncremental = e.plan;
        return;
      case 'replan':
        this.replanned = true;
        out.warn(
          `The server accepts at most ${formatBytes(e.cap)} per upload; planning the parts again (a second read).`,
        );
        return;
      case 'resume':
        if (e.unit === 'part')
          out.info(`Resuming: ${e.done} of ${e.total === null ? '?' : count(e.total, 'part')} sent earlier.`);
        else
          out.verbose(
            `Resuming: an earlier run recorded ${count(e.done, 'batch', 'batches')}; those the server has are skipped.`,
          );
        return;
      case 'done':
        if (e.unit === 'part' && this.transport === 'multipart') {
          const p = e.part;
          out.verbose(
            `${out.theme.green('✓')} part ${p.index}/${e.of} uploaded (${formatBytes(p.bytes)} in ${(p.durationMs / 1000).toFixed(1)} s${p.attempts > 1 ? `, ${p.attempts} attempts` : ''})`,
          );
        } else if (e.unit === 'part') {
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
          `${e.unit} ${e.index} was sent in full: waiting up to ${inSeconds(e.waitMs)} for the server's answer, so it is not sent twice; Ctrl-C again to stop now`,
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
        if (e.kept === false) {
          out.info('The multipart upload was aborted on the server; nothing was completed or imported.');
          return;
        }
        if (e.kept) {
          out.info(
            `The multipart upload is kept (${e.stored.length} of ${count(e.total, 'part')} in S3): run the same command again to send the rest and complete it, or add --force to start over.`,
          );
          return;
        }
        if (e.stored.length === 0) {
          out.info('No part was completed.');
          return;
        }
        out.info(`Completed before stopping: ${e.stored.length} of ${count(e.total, 'part')}:`);
        for (const p of e.stored) out.info(`  part ${p.index}: ${p.fileKey}`);
        return;
      case 'warning':
        out.warn(e.message);
        return;
      case 'notice':
        out.info(e.message);
        return;
      case 'import':
        out.info(`import: ${e.stage}${e.status ? ` (${e.status})` : ''}${e.message ? `: ${e.message}` : ''}`);
        return;
    }
  }

  /** Stops whatever is drawn; called before the result is printed, and again on the way out. */
  close(): void {
    // A run that stops at once still says so before what follows.
    this.sayStopping();
    this.f.signal.removeEventListener('abort', this.onInterrupt);
    this.status?.clear();
    this.progress.pause();
    this.step('user', true);
  }

  private line(b: BatchOutcome): string {
    return this.options.method === 'sdk' ? sdkBatchLine(b) : batchLine(b);
  }

  /** The number of parts of the upload under way (for the label of each part's bar). */
  private partsOf = 0;
  /** How the S3 upload goes, once planned. */
  private transport: string | null = null;

  /** s3: the ledger's view, said with the plan the transport announces after it. */
  private pendingIncremental: IncrementalPlan | null = null;
  /** An S3 plan was printed: a second one is the document sent instead. */
  private planShown = false;
  /** The server's cap is smaller than planned: the next plan is the same document in other parts. */
  private replanned = false;

  /** The ledger's computed `--since` (every method), when the server has something from earlier uploads. */
  private incremental(inc: IncrementalPlan | null): void {
    if (inc && inc.through !== null)
      this.f.out.info(
        `Only what is new: this user already has ${count(Object.keys(inc.since).length, 'type')} up to ${inc.through} and ${count(inc.workoutsKnown, 'workout')} from earlier uploads (--since per type from the ledger; --full to resend every record).`,
      );
  }

  private plan(plan: PlanInfo): void {
    const out = this.f.out;
    if (plan.method === 'direct') {
      out.info(
        `${plan.dryRun ? 'Planning' : 'Uploading'} ${plan.source} to user ${plan.userId} (direct, batches ≤ ${formatBytes(plan.limits.maxBytes)} and ≤ ${count(plan.limits.maxRecords, 'record')})`,
      );
      this.incremental(plan.incremental);
      return;
    }
    if (plan.method === 'sdk') {
      const how = { 'api-key': 'API key', 'sdk-token': 'SDK token', minted: 'SDK token from your login' };
      out.info(
        `${plan.dryRun ? 'Planning' : 'Uploading'} ${plan.source} to user ${plan.userId} (sdk, batches ≤ ${formatBytes(plan.limits.maxBytes)}, ≤ ${plan.limits.maxRecords} samples${plan.auth ? `, ${how[plan.auth]}` : ''})`,
      );
      this.incremental(plan.incremental);
      return;
    }
    this.transport = plan.transport;
    const elements = plan.elements !== null ? `, ${plan.elements} elements` : '';
    const how =
      plan.transport === 'multipart'
        ? `, one multipart object of ${formatBytes(plan.cap)}`
        : plan.transport === 'direct'
          ? ', sent whole to the direct route'
          : plan.parts > 1
            ? `, ${plan.parts} parts of at most ${formatBytes(plan.cap)}`
            : '';
    if (this.planShown && !this.replanned) {
      // The document changed under a started upload (a repair the check found late): only what goes now.
      out.info(`Sending the repaired document instead${how}.`);
      return;
    }
    if (!this.planShown) out.info(`backend: ${plan.backend}`);
    this.planShown = true;
    out.info(`${plan.source}: ${formatBytes(plan.sourceBytes)}${elements}${how}`);
    const repairs = plan.repairs ? describeRepairs(plan.repairs, plan.streamed) : [];
    if (repairs.length > 0)
      out.info(`Repairs while sending (your file is not changed): ${repairs.join('; ')}.`);
    this.incremental(this.pendingIncremental);
    this.pendingIncremental = null;
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
