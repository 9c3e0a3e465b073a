/**
 * Worker-thread side of measure.ts: reads a plain export file itself and, in that one read, checks it
 * (the check-only scan of an upload) and runs the export filter's counting pass over it (what the
 * backend's import needs changed, what the server has: shared/export-filter.ts), while the sending
 * thread is already sending the plain repaired export. No byte of the export crosses threads.
 * Messages out: `head` once the first HEAD_BYTES are read (an export the filter changes mostly says so
 * by then), `changed` once, as soon as the filter changes anything (the plain export is then not the
 * document to send), and `done` with the scan and the filter's stats, after the whole file or at
 * the first unrepairable defect.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { READ_CHUNK_BYTES } from '../../../adapters/export-source.js';
import { type RepairPlan, repairChunk } from '../../reader/repair.js';
import { createScanner, type ScanResult } from '../../reader/scanner.js';
import {
  type FilterInputs,
  FilterPass,
  type FilterStats,
  filterChanges,
  TAPE_FIELDS,
} from '../shared/export-filter.js';

export interface MeasureRequest {
  path: string;
  /** The size the export had when opened: a file that grows since is read no further. */
  size: number;
  inputs: FilterInputs;
  doctype: RepairPlan['doctype'];
}
export type MeasureReply =
  | { type: 'head' }
  /**
   * What the repair keeps of the chunks read since the last message (part-starts.ts): flat triples of
   * source offset, bytes read and bytes kept; `clean`: how far the export holds no illegal byte.
   */
  | { type: 'kept'; chunks: number[]; clean: number }
  | { type: 'changed' }
  | { type: 'done'; result: ScanResult; stats: FilterStats }
  | { type: 'failed'; message: string };

export const HEAD_BYTES = 4 * 1024 * 1024;

const port = parentPort;
if (port) {
  port.once('message', (m: MeasureRequest) => {
    try {
      const say = (type: 'head' | 'changed') => port.postMessage({ type } satisfies MeasureReply);
      port.postMessage(measure(m, say));
    } catch (err) {
      port.postMessage({
        type: 'failed',
        message: err instanceof Error ? err.message : String(err),
      } satisfies MeasureReply);
    }
  });
}

/** Chunks between two `kept` messages (READ_CHUNK_BYTES each). */
const KEPT_BATCH = 16;

function measure(m: MeasureRequest, say: (what: 'head' | 'changed') => void): MeasureReply {
  const repair: RepairPlan = { doctype: m.doctype };
  let kept: number[] = [];
  const flushKept = () => {
    port?.postMessage({ type: 'kept', chunks: kept, clean } satisfies MeasureReply);
    kept = [];
  };
  let clean = 0;
  const pass = new FilterPass(m.inputs, m.doctype, true);
  let broken = false;
  const scanner = createScanner(
    {
      onDefect: (d) => {
        if (!d.repairable) broken = true;
      },
      onTape: (el) => pass.tape(el),
      onTopLevel: (name, start, end) => pass.top(name, start, end),
    },
    {},
    undefined,
    { checkOnly: true, tape: true, tapeFields: TAPE_FIELDS },
  );
  let changed = false;
  let read = 0;
  // Read buffers in the order they were filled: one is read into again once the filter holds none of
  // its bytes (it keeps the chunks an unfinished element lies in), so memory stays a few buffers.
  const lent: { buf: Buffer; at: number }[] = [];
  const fd = openSync(m.path, 'r');
  try {
    while (read < m.size && !broken) {
      const oldest = lent[0];
      const reuse = oldest !== undefined && oldest.at + oldest.buf.length <= pass.heldFrom();
      const chunk = reuse ? lent.shift()!.buf : Buffer.allocUnsafe(READ_CHUNK_BYTES);
      lent.push({ buf: chunk, at: read });
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, m.size - read), read);
      if (n === 0) break;
      const bytes = n === chunk.length ? chunk : chunk.subarray(0, n);
      pass.push(bytes);
      scanner.write(bytes);
      pass.drain(0);
      // The scanner has searched every byte so far for illegal ones: the repair need not again.
      if (scanner.illegalCharacters() === 0) clean = read + n;
      kept.push(read, n, repairChunk(bytes, read, repair, read + n <= clean).length);
      if (kept.length >= 3 * KEPT_BATCH) flushKept();
      read += n;
      if (!changed && filterChanges(pass.stats)) {
        changed = true;
        say('changed');
      }
      if (read >= HEAD_BYTES && read - n < HEAD_BYTES) say('head');
    }
  } finally {
    closeSync(fd);
  }
  if (!broken) {
    scanner.end();
    pass.drain(read);
  }
  flushKept();
  return { type: 'done', result: scanner.result(), stats: pass.stats };
}
