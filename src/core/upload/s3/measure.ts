/**
 * The check and the export filter's counting pass of a plain export file, in one read by a worker
 * thread (measure-worker.ts), so that they run alongside the send of the plain repaired export
 * instead of before it (multipart-run.ts runPlainFirst): `changed` as soon as the filter changes
 * anything, `done` once the whole export has passed, with what the filter found.
 */
import { open } from 'node:fs/promises';
import type { ExportSource } from '../../../adapters/export-source.js';
import { startModuleWorker } from '../../../adapters/worker-thread.js';
import { AppError } from '../../../errors.js';
import type { RepairPlan } from '../../reader/repair.js';
import type { ScanSummary } from '../../reader/types.js';
import { type FilterInputs, type FilterStats, filterChanges } from '../shared/export-filter.js';
import { verifyScanned } from './checked-body.js';
import type { MeasureReply, MeasureRequest } from './measure-worker.js';
import { PartStarts } from './part-starts.js';

export interface Measure {
  /** Resolves once the first HEAD_BYTES are measured (a broken export may never get there: see `done`). */
  readonly head: Promise<void>;
  /** Resolves as soon as the filter changes anything; never rejects. */
  readonly changed: Promise<void>;
  /** Whether the filter has changed anything so far. */
  hasChanged(): boolean;
  /** Where each part of the plain repaired export starts in the file, as the worker reads it. */
  readonly starts: PartStarts;
  /** The scan and the filter's stats once the whole export has passed; rejects with why it cannot go. */
  readonly done: Promise<{ summary: ScanSummary; stats: FilterStats }>;
  close(): void;
}

const ROOT_CLOSE = '</HealthData>';
const TAIL_BYTES = 256;

/**
 * Whether the file ends as a whole export does, with the root's end tag (and whitespace): one that
 * does not (cut short, the commonest damage) is checked first instead, so it is refused before any
 * upload is started (run.ts). Damage further in is found by the worker, and the upload aborted.
 */
export async function endsClosed(path: string, size: number): Promise<boolean> {
  const tail = Buffer.alloc(Math.min(TAIL_BYTES, size));
  try {
    const file = await open(path, 'r');
    try {
      await file.read(tail, 0, tail.length, size - tail.length);
    } finally {
      await file.close();
    }
  } catch {
    // Unreadable now: the check that comes first then says why.
    return false;
  }
  return tail.toString('latin1').trimEnd().endsWith(ROOT_CLOSE);
}

export function measureInWorker(
  source: ExportSource & { filePath: string },
  repair: RepairPlan,
  inputs: FilterInputs,
): Measure {
  const worker = startModuleWorker(import.meta.url, './measure-worker');
  worker.unref();
  let closed = false;
  let finished = false;
  let isChanged = false;
  let onChanged!: () => void;
  const changed = new Promise<void>((resolve) => {
    onChanged = resolve;
  });
  const starts = new PartStarts(source, repair);
  let onHead!: () => void;
  const head = new Promise<void>((resolve) => {
    onHead = resolve;
  });
  const done = new Promise<{ summary: ScanSummary; stats: FilterStats }>((resolve, reject) => {
    const fail = (message: string, cause?: unknown) => {
      const err = new AppError('INTERNAL', `the export check stopped: ${message}`, { cause });
      starts.end(err);
      reject(err);
    };
    worker.on('message', (m: MeasureReply) => {
      if (m.type === 'head') return onHead();
      if (m.type === 'kept') return starts.add(m.chunks, m.clean);
      if (m.type === 'changed') {
        isChanged = true;
        onHead();
        return onChanged();
      }
      finished = true;
      if (m.type === 'failed') fail(m.message);
      else {
        const summary: ScanSummary = { ...m.result, sha256: '' };
        // Parts still waiting learn the verdict's reason, not a mere "the file ended before this part".
        verifyScanned(source, repair, summary).then(
          () => {
            starts.end();
            resolve({ summary, stats: m.stats });
          },
          (err) => {
            starts.end(err);
            reject(err);
          },
        );
      }
    });
    worker.on('error', (err) => fail(err.message, err));
    worker.on('exit', (code) => {
      if (!closed && !finished) fail(`the worker exited (${code})`);
    });
  });
  // Whoever needs it awaits it; a rejection nobody awaited is not an error of its own.
  done.catch(() => {});
  worker.postMessage({
    path: source.filePath,
    size: source.size,
    inputs: {
      importedWorkouts: new Set(inputs.importedWorkouts),
      ...(inputs.known ? { known: inputs.known } : {}),
    },
    doctype: repair.doctype,
  } satisfies MeasureRequest);
  return {
    head,
    changed,
    hasChanged: () => isChanged,
    starts,
    done,
    close() {
      closed = true;
      void worker.terminate();
    },
  };
}

/**
 * The plain export is not the document to send: the filter changes something (plainVerdict). An
 * AppError, so a request whose body it ends passes it on as it is, and nothing retries it.
 */
export class FilterNeeded extends AppError {
  constructor() {
    super('INTERNAL', 'the export filter changes this export: the filtered document is sent instead');
  }
}

/**
 * The scan, once the whole plain export is known to be the document to send: rejects with FilterNeeded
 * as soon as the filter changes anything, or with why the export cannot go. A send of the plain export
 * holds its end (the last multipart `complete`, a POST's last chunk) on it.
 */
export function plainVerdict(measure: Measure): Promise<ScanSummary> {
  const verdict = Promise.race([
    measure.changed.then((): never => {
      throw new FilterNeeded();
    }),
    measure.done.then(({ summary, stats }) => {
      if (filterChanges(stats)) throw new FilterNeeded();
      return summary;
    }),
  ]);
  // Whoever sends awaits it; a rejection nobody awaited is not an error of its own.
  verdict.catch(() => {});
  return verdict;
}
