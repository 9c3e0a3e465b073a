import { main } from './main.js';

/** The process boundary: the only file that touches `process`. */
const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  // A second Ctrl-C means "now": the first one lets in-flight work unwind and the ledger stay consistent.
  if (interrupts > 1) process.exit(130);
  controller.abort(new Error('Interrupted'));
});

const code = await main(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
process.exitCode = code;
// Open keep-alive sockets or a stray stdin listener must not keep a finished CLI alive.
setTimeout(() => process.exit(code), 200).unref();
