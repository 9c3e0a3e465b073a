/**
 * The one identity of an export, for every method: its sampled fingerprint (adapters/fingerprint.ts: the
 * size, the first and last 4 MiB and blocks in between; for a zip entry its CRC-32, sizes and head). It
 * keys the ledger, names what is sent (naming.ts), and tells a re-run that the export is the same one.
 */
import { createHash } from 'node:crypto';
import type { ExportSource } from '../../../adapters/export-source.js';

export function exportIdentity(source: ExportSource, signal?: AbortSignal): Promise<string> {
  return source.fingerprint(signal);
}

/**
 * What ledger version 1 keyed a direct upload by (size and a sha256 of the first MiB), computed only to
 * find such an entry once (shared/ledger.ts reads it into version 2).
 */
export async function legacyDirectIdentity(source: ExportSource, signal: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source.open({ signal, start: 0, end: Math.min(source.size, 1 << 20) }))
    hash.update(chunk);
  return `${source.size}:${hash.digest('hex').slice(0, 32)}`;
}
