import { main } from './main.js';

/** The process boundary: the only file that touches `process`. */
const controller = new AbortController();
let firstInterruptAt = 0;
process.on('SIGINT', () => {
  const now = Date.now();
  // A second Ctrl-C means "now": the first one lets in-flight work unwind and the ledger stay consistent.
  // conf's exit hook (atomically's when-exit, hooked when conf loads: only on a write to the config file, i.e.
  // login, logout, config set/unset or a token refresh) re-raises SIGINT right after the first, so only a
  // later second press counts.
  if (firstInterruptAt !== 0 && now - firstInterruptAt > 1000) process.exit(130);
  if (firstInterruptAt === 0) firstInterruptAt = now;
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
