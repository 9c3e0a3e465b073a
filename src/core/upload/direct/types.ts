import type { BatchOutput } from '../../../adapters/batch-output.js';
import type { Clock } from '../../../adapters/clock.js';
import type { ExportSource } from '../../../adapters/export-source.js';
import type { ScanSummary } from '../../reader/types.js';
import type { SyncFeed } from '../../sync/follow.js';
import type { KnownRanges } from '../shared/imported.js';
import type { DirectLedgerEntry, LedgerSlot } from '../shared/ledger.js';
import type { BatchLimits, BatchOutcome } from '../types.js';
import type { DirectSelection, NormalizationReport } from './normalize.js';
import type { ParallelOptions } from './parallel.js';
import type { SendDeps } from './sender.js';

/** What the direct pipeline (pipeline.ts) is asked to do, once the user and the export are known. */
export interface DirectRunOptions {
  server: string;
  userId: string;
  /** The export's identity (shared/identity.ts): names the batches and the ledger entry. */
  fingerprint: string;
  filters: DirectSelection;
  limits: BatchLimits;
  wait: boolean;
  dryRun: boolean;
  force: boolean;
  failFast: boolean;
  /**
   * How long a re-run watches the feed for a batch left pending before sending it again (default 60 s):
   * an accepted batch appears only once its import starts (contract §3.4, §4.3), and until then it may
   * wait in the server's queue.
   */
  pendingGraceMs?: number;
  /** Keys of the workouts the server already has (shared/imported.ts): never sent again. */
  importedWorkouts?: ReadonlySet<string>;
  /** After Ctrl-C, how long to wait for the answer to a batch sent in full (default 30 s, sender.ts). */
  drainMs?: number;
}

export interface DirectRunDeps {
  source: ExportSource;
  ledger: LedgerSlot<DirectLedgerEntry>;
  post: SendDeps['post'];
  feed: SyncFeed;
  clock: Clock;
  signal: AbortSignal;
  /** Overrides for tests; defaults as in sender.ts. */
  send?: Partial<Pick<SendDeps, 'acceptanceChecks' | 'maxAttempts' | 'random'>>;
  pollIntervalMs?: number;
  runId?: string;
  /** Tuning of the worker threads for a plain file (tests force them on small files). */
  parallel?: ParallelOptions;
  /** A dry run with --out: each batch's document is written there instead of being sent. */
  output?: BatchOutput | null;
}

/** Worker threads that scanned byte ranges (0: all on this thread), and where this thread took over. */
export interface ReaderInfo {
  threads: number;
  ranges: number;
  sequentialFrom: number | null;
}

export interface DirectRunResult {
  runId: string;
  batches: BatchOutcome[];
  report: NormalizationReport;
  /** The scan of the whole export; null when the pass did not finish. */
  summary: ScanSummary | null;
  sent: number;
  skipped: number;
  failed: number;
  records: number;
  bytesSent: number;
  /** The pass stopped early (--fail-fast). */
  stoppedEarly: boolean;
  reader: ReaderInfo;
  /** What this run sent of the workouts (keys) and of each type (startDate ranges). */
  sentImports: { workouts: string[]; ranges: KnownRanges };
}

/**
 * The report of a run that read nothing (an export uploaded already), for every method that selects.
 * Here, not in normalize.ts, so a run.ts loads none of the normalizer before its first request.
 */
export function emptyNormalizationReport(): NormalizationReport {
  return {
    selected: {},
    kept: {},
    dropped: {},
    otherElements: {},
    correlationMembersPromoted: 0,
    dedupeWindowRotations: 0,
    copied: 0,
    datesRewritten: 0,
    collisions: [],
  };
}

/** The counters of a batch method's run that sent nothing (an export uploaded already). */
export function nothingSent() {
  return {
    batches: [],
    sent: 0,
    skipped: 0,
    failed: 0,
    stoppedEarly: false,
    brokenAt: null,
    bytesSent: 0,
    durationMs: 0,
  };
}
