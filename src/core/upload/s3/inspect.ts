/**
 * Everything an S3 upload needs to know about the export before asking the backend for a URL, without
 * reading the whole file: where its XML is, its head (DOCTYPE, root) and its identity (the sampled
 * fingerprint). Only local work, so the run starts it first and checks the user meanwhile.
 */
import type { ExportSource } from '../../../adapters/export-source.js';
import { exportIdentity } from '../shared/identity.js';
import { type ExportHead, probeHead } from './preflight.js';

export interface InspectedExport {
  source: ExportSource;
  head: ExportHead;
  fingerprint: string;
}

export async function inspectExport(
  openExport: (path: string) => Promise<ExportSource>,
  path: string,
  signal?: AbortSignal,
): Promise<InspectedExport> {
  const source = await openExport(path);
  const [head, fingerprint] = await Promise.all([probeHead(source, signal), exportIdentity(source, signal)]);
  return { source, head, fingerprint };
}
