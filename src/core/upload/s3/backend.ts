/**
 * Which way an S3 upload goes, from what the server advertises (current page §2.1–2.2, §2.9): a multipart
 * upload finished with `complete` wherever the routes exist (in the default `client` mode nothing else is
 * ever imported); below S3's 5 MiB part minimum, the direct route with the export whole, unless the server
 * is known to import by SNS; the presigned POST on a server before August 2026, or one whose openapi
 * cannot be read (with a warning naming why).
 */
import { OpenApiUnavailable, type ServerInfo } from '../../../adapters/openapi.js';
import type { S3Transport } from '../types.js';

/** S3 takes no part smaller than this but the last, and `create` no file smaller (current page §2.2). */
export const MIN_MULTIPART_BYTES = 5 * 1024 * 1024;

export type BackendView =
  | { known: true; info: ServerInfo }
  | { known: false; reason: string; cause?: unknown };

/** What the server is, or why that is not known; never throws for an unreadable document. */
export async function viewBackend(
  read: (signal: AbortSignal) => Promise<ServerInfo>,
  signal: AbortSignal,
): Promise<BackendView> {
  try {
    return { known: true, info: await read(signal) };
  } catch (err) {
    if (err instanceof OpenApiUnavailable) return { known: false, reason: err.reason, cause: err };
    throw err;
  }
}

function formatCap(n: number): string {
  const gib = n / 1024 ** 3;
  if (gib >= 1) return `${Number.isInteger(gib) ? gib : gib.toFixed(2)} GiB`;
  const mib = n / 1024 ** 2;
  if (mib >= 1) return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** One line: `multipart (client completion), cap 5 GiB` / `presigned POST only (before Aug 2026), cap 1 GiB`. */
export function describeBackend(view: BackendView): string {
  if (!view.known) return `not known (${view.reason}); uploads use the presigned POST`;
  const { info } = view;
  const cap = info.cap !== null ? `, cap ${formatCap(info.cap)}` : ', no cap advertised';
  if (info.multipart) {
    const mode = info.completionMode ? ` (${info.completionMode} completion)` : '';
    return `multipart${mode}${cap}`;
  }
  return `presigned POST only (before Aug 2026)${cap}`;
}

/** The way an export of `bytes` (repaired) goes to this server. */
export function transportFor(view: BackendView, bytes: number): S3Transport {
  if (!view.known || !view.info.multipart) return 'post';
  if (bytes >= MIN_MULTIPART_BYTES) return 'multipart';
  // Too small for `create`: a server that imports by SNS imports a presigned POST; one in the default
  // client mode (or not yet seen complete one) imports only what `complete` or `/direct` queue.
  return view.info.completionMode === 'sns' ? 'post' : 'direct';
}
