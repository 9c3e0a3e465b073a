import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { aliasHelp } from '../src/core/selection/filters.js';
import { writeExportFile } from '../src/generator/index.js';
import { startBackendDouble } from '../src/sandbox/backend/index.js';
import { runCli } from './helpers/run-cli.js';
import { builtCli } from './hostile/helpers.js';

// Runs in the hooks thread of the child: every module the CLI loads, one line each on stderr.
const LOG_LOADS = `import { writeSync } from 'node:fs';
export async function load(url, context, next) {
  writeSync(2, 'loaded: ' + url + '\\n');
  return next(url, context);
}`;
const REGISTER = `import { register } from 'node:module';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(LOG_LOADS)}`)});`;

/**
 * The modules a real process loads for these arguments (tsx compiles src/ as the tests do; `built`: the
 * built CLI in dist/ instead, each file of the bundle standing for the modules bundled into it).
 * Asynchronous, so a backend in this process can answer the child.
 */
async function loadedBy(args: string[], env: Record<string, string> = {}, built?: string): Promise<string[]> {
  const files = await filesLoadedBy(args, env, built);
  return built ? files.flatMap(bundled) : files;
}

/** The files a real process loads for these arguments (see loadedBy). */
async function filesLoadedBy(args: string[], env: Record<string, string>, built?: string): Promise<string[]> {
  const child = spawn(
    process.execPath,
    [
      ...(built ? [] : ['--import', 'tsx']),
      '--import',
      `data:text/javascript,${encodeURIComponent(REGISTER)}`,
      built ?? 'src/bin.ts',
      ...args,
    ],
    { env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env }, timeout: 30_000 },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
  });
  child.stdout.resume();
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('loaded: '))
    .map((l) => l.slice('loaded: '.length));
}

/**
 * The modules in a file of dist/, as the URLs they would have had unbundled: esbuild heads each module's
 * code with its path (`// src/core/….ts`, `// node_modules/zod/….js`). Any other file stands for itself.
 */
function bundled(url: string): string[] {
  if (!/\/dist\/[^/]+\.js$/.test(url)) return [url];
  const root = new URL('..', url).href;
  const heads = readFileSync(new URL(url), 'utf8').match(/^\/\/ (src|node_modules)\/\S+$/gm) ?? [];
  return [url, ...heads.map((h) => root + h.slice('// '.length))];
}

/** Both ways a user's process runs the CLI: from the sources (tsx) and built (dist/, bundled). */
const RUNS = [
  { how: 'from src/', cli: async (): Promise<string | undefined> => undefined },
  { how: 'built', cli: builtCli },
];

/** What only a command's body needs: its run.ts (and what that loads), never its command.ts. */
const HEAVY =
  /\/node_modules\/(undici|zod|conf|ora|cli-progress|chalk)\/|\/src\/(core|adapters)\/|\/src\/commands\/[^/]+\/(?!command\.ts$)[^/]+\.ts$/;

/** conf and what it brings in; a config read needs none of them. */
const CONF = /\/node_modules\/(conf|ajv|ajv-formats|atomically|semver|dot-prop)\//;

describe('start-up', () => {
  for (const { how, cli } of RUNS)
    for (const args of [
      ['--version'],
      ['--help'],
      ['upload', '--help'],
      ['help', 'upload'],
      ['validate', '--help'],
      ['sample', '--help'],
    ]) {
      it(`${args.join(' ')} loads commander and the command definitions only (${how})`, async () => {
        const loaded = await loadedBy(args, {}, await cli());
        assert.ok(
          loaded.some((u) => u.endsWith('/src/commands/upload/command.ts')),
          'the module log is empty',
        );
        assert.deepEqual(
          loaded.filter((u) => HEAVY.test(u)),
          [],
        );
      });
    }

  for (const { how, cli } of RUNS) {
    it(`a run without a terminal loads neither ora nor cli-progress, and validate no backend adapter nor zod (${how})`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'startup-'));
      try {
        const xml = join(dir, 'export.xml');
        await writeExportFile(xml, { days: 1 });
        const loaded = await loadedBy(['validate', xml, '--json'], {}, await cli());
        assert.ok(
          loaded.some((u) => u.endsWith('/src/commands/validate/run.ts')),
          'validate did not run',
        );
        assert.deepEqual(
          loaded.filter((u) => /\/node_modules\/(ora|cli-progress)\//.test(u)),
          [],
        );
        // A local command: no schema library, no backend or config adapter (RunState.markLocal).
        assert.deepEqual(
          loaded.filter((u) =>
            /\/node_modules\/(zod|undici|conf)\/|\/src\/factory-ports\.ts$|\/src\/adapters\/(backend-api|config-store|http|openapi)\.ts$/.test(
              u,
            ),
          ),
          [],
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it(`whoami with the server and API key in the environment reads the config file without conf or ajv (${how})`, async () => {
      const backend = await startBackendDouble();
      const dir = await mkdtemp(join(tmpdir(), 'startup-'));
      try {
        // A profile in the file, so the read parses something.
        await writeFile(
          join(dir, 'config.json'),
          JSON.stringify({ profiles: { default: {} }, credentials: {} }),
        );
        const env = { APPLE_IMPORT_CONFIG_DIR: dir, APPLE_IMPORT_SERVER: backend.url };
        const loaded = await loadedBy(
          ['whoami', '--json'],
          { ...env, APPLE_IMPORT_API_KEY: backend.createApiKey() },
          await cli(),
        );
        assert.ok(
          loaded.some((u) => u.endsWith('/src/adapters/config-store.ts')),
          'whoami did not read the config',
        );
        assert.deepEqual(
          loaded.filter((u) => CONF.test(u)),
          [],
        );
        // The log would see conf if it were loaded: a write loads it.
        const written = await loadedBy(['config', 'set', 'server', backend.url], env, await cli());
        assert.ok(written.some((u) => /\/node_modules\/conf\//.test(u)));
      } finally {
        await backend.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }

  it('the built CLI runs zod bundled, not from its package', async () => {
    const backend = await startBackendDouble();
    const dir = await mkdtemp(join(tmpdir(), 'startup-'));
    try {
      const env = {
        APPLE_IMPORT_CONFIG_DIR: dir,
        APPLE_IMPORT_SERVER: backend.url,
        APPLE_IMPORT_API_KEY: backend.createApiKey(),
      };
      const files = await filesLoadedBy(['whoami', '--json'], env, await builtCli());
      assert.ok(
        files.flatMap(bundled).some((u) => /\/node_modules\/zod\//.test(u)),
        'whoami did not run zod',
      );
      assert.deepEqual(
        files.filter((u) => /\/node_modules\/zod\//.test(u)),
        [],
      );
      // Every module of ours gets zod from that one file.
      const src = await readdir(join('src'), { recursive: true });
      const direct = src.filter(
        (f) =>
          f.endsWith('.ts') &&
          f !== join('vendor', 'zod.ts') &&
          /from 'zod'/.test(readFileSync(join('src', f), 'utf8')),
      );
      assert.deepEqual(direct, [], 'import zod from src/vendor/zod.ts');
    } finally {
      await backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('help types lists exactly the --types aliases the filters accept', async () => {
    const r = await runCli(['help', 'types']);
    assert.equal(r.code, 0);
    const listed = r.stdout
      .slice(r.stdout.indexOf('aliases:') + 'aliases:'.length)
      .split(/[\s,]+/)
      .filter(Boolean);
    assert.deepEqual(
      listed,
      aliasHelp().split(', '),
      'update TYPE_ALIAS_HELP in src/commands/filter-help.ts',
    );
  });
});
