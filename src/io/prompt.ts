import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Io } from './io.js';

/** Asks one question on stderr and reads a line from stdin; with `hidden` nothing typed is echoed. */
export async function prompt(
  io: Io,
  question: string,
  opts: { hidden?: boolean; signal?: AbortSignal } = {},
): Promise<string> {
  io.stderr.write(question);
  const muted = new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
  const rl = createInterface({
    input: io.stdin,
    output: opts.hidden ? muted : io.stderr,
    terminal: opts.hidden ? io.stdinIsTTY : false,
  });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
      opts.signal?.addEventListener('abort', () => reject(opts.signal?.reason), { once: true });
    });
    if (opts.hidden) io.stderr.write('\n');
    return answer;
  } finally {
    rl.close();
  }
}

/** Reads all of stdin (for --password-stdin / --api-key-stdin), without the trailing newline. */
export async function readAllStdin(io: Io, maxBytes = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of io.stdin) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    total += b.length;
    if (total > maxBytes) break;
    chunks.push(b);
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}
