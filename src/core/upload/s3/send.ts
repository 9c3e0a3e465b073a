/**
 * Sends the parts an S3 upload has not stored yet, recording each in the ledger as soon as S3 has it
 * (written before the first part too, so an interrupted upload is found again), with the run's events.
 */
import type { LedgerSlot, S3LedgerEntry } from '../shared/ledger.js';
import { LEDGER_VERSION, withPart } from '../shared/ledger.js';
import type { UploadEvents, UploadOptions, UploadPorts } from '../types.js';
import type { PartSpec } from './part-planner.js';
import type { UploadPlan } from './preflight.js';
import { type PartResult, uploadParts } from './send-parts.js';

/** The ledger entry as parts are stored, and the parts this run stored. */
export interface SendState {
  entry: S3LedgerEntry;
  done: PartResult[];
}

/** The parts not stored yet, each recorded in the ledger as soon as S3 has it. */
export async function sendParts(
  opts: UploadOptions,
  ports: UploadPorts,
  run: {
    plan: UploadPlan;
    names: (p: PartSpec) => string;
    userId: string;
    ledger: LedgerSlot<S3LedgerEntry>;
  },
  state: SendState,
  onEvent: UploadEvents,
): Promise<void> {
  const { plan, names, userId, ledger } = run;
  const total = plan.parts.length;
  const skip = new Set(state.entry.parts.map((p) => p.index));
  if (skip.size > 0) onEvent({ type: 'resume', unit: 'part', done: skip.size, total });
  ledger.write(state.entry);
  await uploadParts(
    {
      presign: async (req, signal) => {
        onEvent({ type: 'step', step: 'presign', done: false });
        try {
          return await ports.imports.presignXml({ ...req, userId, signal });
        } finally {
          onEvent({ type: 'step', step: 'presign', done: true });
        }
      },
      post: (o) => ports.s3Post(o),
      clock: ports.clock,
      signal: ports.signal,
      userAgent: ports.userAgent,
      stallTimeoutMs: opts.stallTimeoutMs,
    },
    plan,
    names,
    skip,
    {
      onPartStart: (part, attempt) =>
        onEvent({ type: 'started', unit: 'part', index: part.index, of: total, bytes: part.bytes, attempt }),
      onPartProgress: (part, sentBytes) =>
        onEvent({ type: 'sending', unit: 'part', index: part.index, sentBytes, bytes: part.bytes }),
      onRetry: (part, attempt, delayMs, err) =>
        onEvent({
          type: 'retry',
          unit: 'part',
          index: part.index,
          attempt,
          delayMs,
          reason: err instanceof Error ? err.message : String(err),
        }),
      onPartDone: (part, r) => {
        const now = new Date(ports.clock.now());
        const { index, fileKey, filename, bytes } = r;
        state.entry = withPart(
          state.entry,
          { index, fileKey, filename, bytes, uploadedAt: now.toISOString() },
          now,
        );
        ledger.write(state.entry);
        state.done.push(r);
        onEvent({
          type: 'done',
          unit: 'part',
          index: part.index,
          of: total,
          part: { index, filename, fileKey, bytes, durationMs: r.durationMs, attempts: r.attempts },
        });
      },
    },
  );
}

/** A new entry for `plan`: no part stored yet. */
export function newEntry(
  base: { server: string; userId: string; fingerprint: string; source: string },
  plan: UploadPlan,
  runId: string,
  now: number,
): S3LedgerEntry {
  const at = new Date(now).toISOString();
  return {
    version: LEDGER_VERSION,
    method: 's3',
    server: base.server,
    userId: base.userId,
    fingerprint: base.fingerprint,
    source: base.source,
    runId,
    cap: plan.cap,
    partCount: plan.parts.length,
    parts: [],
    startedAt: at,
    updatedAt: at,
    completedAt: null,
  };
}
