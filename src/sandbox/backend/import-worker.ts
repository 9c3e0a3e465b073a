/**
 * Worker-thread entry of the double's import tasks (import-runner.ts). It parses each export it is given —
 * bytes handed over (the direct path) or an S3 object streamed from a presigned GET (the S3 path, as the
 * current backend streams `get_object` into its parser) — and posts every chunk as soon as it is cut, so the
 * API thread commits chunk by chunk in order (contract §5.8) while this thread goes on parsing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ExportParser, type ParsedChunk } from './xml-import.js';

export interface ImportWorkerData {
  /** Int32 [0]: the id of a job the API thread has given up on (a chunk failed to commit). */
  cancelled: SharedArrayBuffer;
}

export type ParseJob = { id: number; bytes: ArrayBuffer } | { id: number; url: string };

export type ParseReply =
  | { id: number; kind: 'chunk'; chunk: ParsedChunk }
  | { id: number; kind: 'done'; items: number }
  | { id: number; kind: 'failed'; error: string };

class Cancelled extends Error {}

/** botocore's wording for a failed `get_object`, which is what the task's exception would say. */
async function getObjectError(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? String(res.status);
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? '';
  return `An error occurred (${code}) when calling the GetObject operation: ${message}`;
}

async function parseJob(job: ParseJob, parser: ExportParser, cancelled: () => boolean): Promise<number> {
  if ('bytes' in job) {
    parser.write(Buffer.from(job.bytes));
    return parser.end();
  }
  const res = await fetch(job.url);
  if (!res.ok || !res.body) throw new Error(await getObjectError(res));
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (cancelled()) throw new Cancelled();
    parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return parser.end();
}

const port = parentPort;
if (port) {
  const cancelled = new Int32Array((workerData as ImportWorkerData).cancelled);
  port.on('message', (job: ParseJob) => {
    const reply = (r: ParseReply) => port.postMessage(r);
    const stopped = () => Atomics.load(cancelled, 0) === job.id;
    const parser = new ExportParser((chunk) => {
      // A failed commit ends the task (contract §5.6): parsing the rest would only delay the next import.
      if (stopped()) throw new Cancelled();
      reply({ id: job.id, kind: 'chunk', chunk });
    });
    parseJob(job, parser, stopped).then(
      (items) => reply({ id: job.id, kind: 'done', items }),
      (err: unknown) =>
        reply({ id: job.id, kind: 'failed', error: err instanceof Error ? err.message : String(err) }),
    );
  });
}
