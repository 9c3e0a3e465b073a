/**
 * Everything an S3 upload needs to know about the export before asking the backend for a URL, without
 * reading the whole file: where its XML is, its head (DOCTYPE, root) and its sampled fingerprint
 * (preflight.ts, adapters/fingerprint.ts). Only local work, so the command starts it first, while the
 * rest of the upload (HTTP client, schemas, settings) is still loading.
 */
import { type ExportSource, openExport } from '../../../adapters/export-source.js';
import { type ExportHead, probeHead } from './preflight.js';

export interface InspectedExport {
  source: ExportSource;
  head: ExportHead;
  fingerprint: string;
}

export async function inspectExport(path: string, signal?: AbortSignal): Promise<InspectedExport> {
  const source = await openExport(path);
  const [head, fingerprint] = await Promise.all([probeHead(source, signal), source.fingerprint(signal)]);
  return { source, head, fingerprint };
}
