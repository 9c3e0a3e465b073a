// `npm run demo` end to end, as CI runs it: it must succeed and, with CI=true, print no spinner or progress
// bar control sequences (product.md: plain progress lines when not on a TTY or in CI).
//
// The script's build step is not run here: rebuilding dist/ while other test files run the built CLI
// hands them a half-written dist/. builtCli() builds it once, under the lock they share; the test then
// runs what `npm run demo` runs after its build.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { builtCli } from '../hostile/helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

it('npm run demo builds first, then runs scripts/demo.mjs', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  assert.equal(pkg.scripts.demo, 'npm run build && node scripts/demo.mjs');
});

it('the demo succeeds with CI=true and prints no escape sequences', async () => {
  await builtCli();
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('APPLE_IMPORT_') && k !== 'NO_COLOR'),
  );
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'demo.mjs')], {
      cwd: root,
      env: { ...env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (exit) => resolve({ code: exit, output }));
  });
  assert.equal(code, 0, output.slice(-4000));
  assert.equal(output.includes('\x1b['), false, 'an ANSI control sequence was printed');
  for (const step of [
    'Log in',
    'Validate',
    'Upload via S3',
    'Upload directly in batches',
    'Show the import status',
    'Stop the sandbox',
  ]) {
    assert.match(output, new RegExp(`== \\d+\\. ${step}`));
  }
  assert.match(output, /imported \d+ items from /);
  assert.match(output, /batch 1 \(apple-import-[^)]*\): queued as task /, 'the direct step sent no batch');
  assert.match(output, /sandbox exited with 130/);
  assert.match(output, /Demo finished: every step succeeded\./);
});
