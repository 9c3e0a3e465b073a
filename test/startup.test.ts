import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { aliasHelp } from '../src/core/direct/filters.js';
import { writeExportFile } from '../src/generator/index.js';
import { runCli } from './helpers/run-cli.js';

// Runs in the hooks thread of the child: every module the CLI loads, one line each on stderr.
const LOG_LOADS = `import { writeSync } from 'node:fs';
export async function load(url, context, next) {
  writeSync(2, 'loaded: ' + url + '\\n');
  return next(url, context);
}`;
const REGISTER = `import { register } from 'node:module';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(LOG_LOADS)}`)});`;

/** The modules a real process loads for these arguments (tsx compiles src/ as the tests do). */
function loadedBy(args: string[]): string[] {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      `data:text/javascript,${encodeURIComponent(REGISTER)}`,
      'src/bin.ts',
      ...args,
    ],
    { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' }, timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stderr
    .split('\n')
    .filter((l) => l.startsWith('loaded: '))
    .map((l) => l.slice('loaded: '.length));
}

const HEAVY = /\/node_modules\/(undici|zod|conf|ora|cli-progress|chalk)\/|\/src\/(core|adapters)\/|-run\.ts$/;

describe('start-up', () => {
  for (const args of [['--version'], ['--help'], ['upload', '--help'], ['help', 'upload']]) {
    it(`${args.join(' ')} loads commander and the command definitions only`, () => {
      const loaded = loadedBy(args);
      assert.ok(
        loaded.some((u) => u.endsWith('/src/commands/upload.ts')),
        'the module log is empty',
      );
      assert.deepEqual(
        loaded.filter((u) => HEAVY.test(u)),
        [],
      );
    });
  }

  it('a run without a terminal loads neither ora nor cli-progress', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'startup-'));
    try {
      const xml = join(dir, 'export.xml');
      await writeExportFile(xml, { days: 1 });
      const loaded = loadedBy(['validate', xml, '--json']);
      assert.ok(
        loaded.some((u) => u.endsWith('/src/commands/validate-run.ts')),
        'validate did not run',
      );
      assert.deepEqual(
        loaded.filter((u) => /\/node_modules\/(ora|cli-progress)\//.test(u)),
        [],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('upload --help lists exactly the --types aliases the filters accept', async () => {
    const r = await runCli(['upload', '--help']);
    assert.equal(r.code, 0);
    const listed = r.stdout
      .slice(r.stdout.indexOf('aliases:') + 'aliases:'.length)
      .split(/[\s,]+/)
      .filter(Boolean);
    assert.deepEqual(listed, aliasHelp().split(', '), 'update TYPE_ALIAS_HELP in src/commands/upload.ts');
  });
});
