/**
 * Everything an S3 upload needs to know about the export before asking the backend for a URL, without
 * reading the whole file: where its XML is, its head (DOCTYPE, root) and its sampled fingerprint
 * (preflight.ts, adapters/fingerprint.ts). Only local work, so the command starts it first, while the
 * rest of the upload (HTTP client, schemas, settings) is still loading; and when the export will be sent
 * in one part, checking it starts here too, on a core that would otherwise wait (startFileCheck).
 */
import { type ExportSource, openExport } from '../../adapters/export-source.js';
import { checksInThread, type PreparedCheck, startFileCheck } from './checked-body.js';
import { type ExportHead, probeHead } from './preflight.js';

export interface InspectedExport {
  source: ExportSource;
  head: ExportHead;
  fingerprint: string;
  /** The checking thread already started on the file; the caller hands it on or closes it. */
  check: PreparedCheck | undefined;
}

export interface InspectOptions {
  signal?: AbortSignal;
  /** Whether an export this size will be sent in one checked part (so a thread may start checking it). */
  sentWhole?(source: ExportSource): boolean;
}

export async function inspectExport(path: string, opts: InspectOptions = {}): Promise<InspectedExport> {
  const source = await openExport(path);
  const check =
    source.filePath !== undefined && checksInThread(source) && opts.sentWhole?.(source) === true
      ? startFileCheck(source.filePath)
      : undefined;
  try {
    const [head, fingerprint] = await Promise.all([
      probeHead(source, opts.signal),
      source.fingerprint(opts.signal),
    ]);
    return { source, head, fingerprint, check };
  } catch (err) {
    check?.close();
    throw err;
  }
}
