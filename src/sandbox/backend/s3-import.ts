// The S3 path's import task, in both backend generations:
// - current (`process_aws_upload_task.py`, current page §2.3): `complete_and_process_aws_upload` (queued by
//   `/multipart/complete` in client mode) completes the upload, then imports the object streamed from S3;
//   `process_aws_upload` (queued by the S3 notification in sns mode) only imports. Both emit `xml_import` sync
//   events (run_id = the task id, metadata {bucket, object_key}), retry non-HTTP and ≥500 errors up to three
//   times, and report a missing user as `skipped`.
// - before August 2026 (contract §2.6): `process_aws_upload` after every notification, no events, no retries.
// A workout that collides ends the attempt with the IntegrityError itself (xml-commit.ts).
import { randomUUID } from 'node:crypto';
import type { BackendContext } from './context.js';
import { isoAt } from './context.js';
import { HttpError } from './respond.js';
import { completeUpload } from './s3-multipart.js';
import type { S3ImportTask } from './state.js';
import { findUser } from './users.js';
import { canonicalUuid } from './validation.js';
import { XmlImportSession } from './xml-commit.js';

export interface S3ImportJob {
  taskId: string;
  bucket: string;
  key: string;
  userId: string;
  trigger: S3ImportTask['trigger'];
  /** For `complete_and_process_aws_upload`: the upload to complete first. */
  complete?: { uploadId: string; parts: { partNumber: number; etag: string }[] };
}

/** The task's retries after the first attempt (`max_retries=3`). */
const MAX_RETRIES = 3;

type Outcome = { status: 'success'; message: string } | { status: 'skipped'; reason: string };

/** The sandbox's refusal of an object too big for it to hold; not the backend's, and not worth a retry. */
class OverSandboxLimit extends Error {}

/** Queues the task after the Celery pickup delay; returns its record in `state.s3Imports`. */
export function queueS3Import(ctx: BackendContext, job: S3ImportJob): S3ImportTask {
  const task: S3ImportTask = {
    taskId: job.taskId,
    bucket: job.bucket,
    key: job.key,
    userId: job.userId,
    trigger: job.trigger,
    status: 'queued',
    attempts: 0,
    items: null,
  };
  ctx.state.s3Imports.push(task);
  const run = ctx.generation === 'current' ? currentTask(ctx, task, job) : () => legacyTask(ctx, task);
  ctx.imports.schedule(ctx.directDelayMs, run);
  return task;
}

/** Stands in for S3 → SNS → `POST /sns/notification` for a new object (current page §2.1 item 4). */
export function notifyObjectCreated(ctx: BackendContext, key: string): void {
  const bucket = ctx.s3?.bucket ?? '';
  if (ctx.generation === 'current' && ctx.completionMode !== 'sns') {
    ctx.state.snsNotifications.push({ key, response: 'ignored: client-driven completion', taskId: null });
    return;
  }
  const segments = key.split('/');
  const userId = segments.length >= 3 ? segments[0] : undefined;
  if (!userId) {
    ctx.state.snsNotifications.push({ key, response: '0 tasks dispatched', taskId: null });
    return;
  }
  const task = queueS3Import(ctx, { taskId: randomUUID(), bucket, key, userId, trigger: 'notification' });
  ctx.state.snsNotifications.push({ key, response: '1 tasks dispatched', taskId: task.taskId });
}

/** `str(exc)` as the failed event's `error` carries it; Starlette's HTTPException reads "<status>: <detail>". */
function errorText(err: unknown): string {
  if (err instanceof HttpError) return `${err.status}: ${err.detail}`;
  return err instanceof Error ? err.message : String(err);
}

/** Streams the object into the import thread and commits it; resolves null when the double closed first. */
async function importObject(
  ctx: BackendContext,
  task: S3ImportTask,
  userKey: string,
): Promise<number | null> {
  const client = ctx.s3Client;
  if (!client) throw new Error('S3 client not configured — cannot process AWS upload');
  if (Number.isFinite(ctx.maxImportBytes)) {
    const size = (await client.headObject(task.key))?.size ?? 0;
    if (size > ctx.maxImportBytes) {
      throw new OverSandboxLimit(
        `object is ${size} bytes; the sandbox imports at most ${ctx.maxImportBytes} bytes per object`,
      );
    }
  }
  const session = new XmlImportSession(ctx, userKey, 's3');
  let commitError: string | null = null;
  const outcome = await ctx.imports.parse({ url: client.presignGetObject(task.key) }, (chunk) => {
    try {
      session.commit(chunk);
      return true;
    } catch (err) {
      commitError = err instanceof Error ? err.message : String(err);
      return false;
    }
  });
  if (commitError !== null) throw new Error(commitError);
  if (outcome === null) return null;
  if ('error' in outcome) throw new Error(outcome.error);
  return outcome.items;
}

function currentTask(ctx: BackendContext, task: S3ImportTask, job: S3ImportJob): () => Promise<void> {
  const uuid = canonicalUuid(job.userId);
  const metadata = { bucket: job.bucket, object_key: job.key };
  const startedAt = isoAt(ctx.now());
  const emit = (event: {
    stage: 'started' | 'completed' | 'failed';
    status: 'in_progress' | 'success' | 'skipped' | 'failed';
    message: string;
    error: string | null;
  }) => {
    if (!uuid) return;
    ctx.sync.emit({
      ...event,
      run_id: task.taskId,
      user_id: uuid,
      provider: 'apple',
      source: 'xml_import',
      progress: null,
      items_processed: null,
      items_total: null,
      primary_user_id: null,
      metadata,
      started_at: startedAt,
      ended_at: event.stage === 'started' ? null : isoAt(ctx.now()),
    });
  };
  let uploadCompleted = false;

  const attempt = async (retry: number): Promise<void> => {
    task.attempts++;
    task.status = 'processing';
    if (retry === 0) {
      emit({
        stage: 'started',
        status: 'in_progress',
        message: 'Importing Apple Health XML file from object storage',
        error: null,
      });
    }
    let outcome: Outcome;
    try {
      if (job.complete && !uploadCompleted) {
        try {
          await completeUpload(ctx, job.key, job.complete.uploadId, job.complete.parts);
        } catch (err) {
          // A 404 on complete is done already if the object is there (a redelivered task).
          const done =
            err instanceof HttpError && err.status === 404 && (await ctx.s3Client?.headObject(job.key));
          if (!done) throw err;
        }
        uploadCompleted = true;
      }
      if (!uuid) {
        throw new Error(
          `(psycopg.errors.InvalidTextRepresentation) invalid input syntax for type uuid: "${job.userId}"`,
        );
      }
      if (!findUser(ctx, uuid)) {
        outcome = { status: 'skipped', reason: `User with ID: ${uuid} not found.` };
      } else {
        const items = await importObject(ctx, task, uuid);
        // The double closed mid-import: the task never finishes, as a killed worker's would not.
        if (items === null) return;
        task.items = items;
        outcome = { status: 'success', message: 'Import completed successfully' };
      }
    } catch (err) {
      const retryable =
        !(err instanceof OverSandboxLimit) && (!(err instanceof HttpError) || err.status >= 500);
      if (retryable && retry < MAX_RETRIES) {
        ctx.imports.schedule(ctx.retryDelayMs(retry), () => attempt(retry + 1));
        return;
      }
      task.status = 'failed';
      task.error = errorText(err);
      emit({
        stage: 'failed',
        status: 'failed',
        message: 'Apple Health XML import failed',
        error: task.error,
      });
      ctx.onS3Import(task);
      return;
    }
    if (outcome.status === 'skipped') {
      task.status = 'skipped';
      task.reason = outcome.reason;
      emit({ stage: 'completed', status: 'skipped', message: outcome.reason, error: null });
    } else {
      task.status = 'completed';
      emit({ stage: 'completed', status: 'success', message: outcome.message, error: null });
    }
    ctx.onS3Import(task);
  };
  return () => attempt(0);
}

/** The task before August 2026: import the object, no events, no retries (contract §2.6 steps 3–6). */
async function legacyTask(ctx: BackendContext, task: S3ImportTask): Promise<void> {
  await legacyAttempt(ctx, task);
  if (task.status !== 'processing') ctx.onS3Import(task);
}

async function legacyAttempt(ctx: BackendContext, task: S3ImportTask): Promise<void> {
  task.attempts++;
  task.status = 'processing';
  const uuid = canonicalUuid(task.userId);
  try {
    if (!uuid) throw new Error(`Invalid user_id format in object key: ${task.userId}`);
    if (!findUser(ctx, uuid)) {
      task.status = 'skipped';
      task.reason = `User with ID: ${uuid} not found.`;
      return;
    }
    const items = await importObject(ctx, task, uuid);
    if (items === null) return;
    task.items = items;
    task.status = 'completed';
  } catch (err) {
    task.status = 'failed';
    task.error = errorText(err);
  }
}
