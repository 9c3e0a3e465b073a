import { main } from './main.js';
import { allowBaselineWindow } from './wasm-tiering.js';
import { capYoungGeneration } from './young-generation.js';

/** The process boundary: the only file that touches `process`. */
// A small command must not wait at exit for V8 to optimise undici's HTTP parser (wasm-tiering.ts).
allowBaselineWindow();
// An upload or validate must not keep a young generation of 32 MiB resident (young-generation.ts).
capYoungGeneration();
const controller = new AbortController();

// conf's exit hook (atomically's when-exit, hooked when conf loads: only on a write to the config file,
// i.e. login, logout, config set/unset or a token refresh) answers the first SIGINT by re-raising it at
// this process once its cleanup ran. That re-raise is not a second Ctrl-C, so every SIGINT this process
// sends itself is counted here and its delivery skipped; any other SIGINT is a press of Ctrl-C.
let selfRaised = 0;
const kill = process.kill.bind(process);
process.kill = ((pid: number, signal?: string | number) => {
  if (pid === process.pid && (signal === 'SIGINT' || signal === 2)) selfRaised++;
  return kill(pid, signal);
}) as typeof process.kill;

let interrupted = false;
process.on('SIGINT', () => {
  if (selfRaised > 0) {
    selfRaised--;
    return;
  }
  // A second Ctrl-C means "now": the first one lets in-flight work unwind and the ledger stay consistent.
  if (interrupted) process.exit(130);
  interrupted = true;
  controller.abort(new Error('Interrupted'));
});

// A reader that stops early (`| head -1`) closes the pipe: the command ends quietly, as git and ls do, and
// not with an EPIPE stack trace. Nothing more is written there, and work still under way (a follow loop)
// is stopped as by Ctrl-C, without a word, since the reader asked for no more.
let outputClosed = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
    outputClosed = true;
    stream.write = (() => true) as typeof stream.write;
    if (stream === process.stdout && !controller.signal.aborted) {
      const reason = new Error('Output closed');
      reason.name = 'OutputClosed';
      controller.abort(reason);
    }
  });
}

const code = await main(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
  host: {
    pid: process.pid,
    isAlive: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        // EPERM: it exists, it is just not ours to signal.
        return (err as NodeJS.ErrnoException).code !== 'ESRCH';
      }
    },
  },
});
// The reader took what it wanted: a command stopped by a closed stdout succeeded as far as it is concerned.
const exit = outputClosed && code === 130 ? 0 : code;
process.exitCode = exit;
// Open keep-alive sockets or a stray stdin listener must not keep a finished CLI alive.
setTimeout(() => process.exit(exit), 200).unref();
