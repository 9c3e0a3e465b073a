/**
 * An export that cannot be read, and a config folder that cannot be written, through the real CLI:
 * each is a clear message and a documented exit code, never "unexpected error … report it".
 *
 * Permissions are real: a file of mode 000 and a read-only folder. Root ignores both, so when the
 * tests run as root (as CI does) the CLI runs as `nobody`. A full disk is injected in-process
 * (helpers/fs-faults.ts), since a test cannot count on mounting a small file system.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { withFsFault } from '../helpers/fs-faults.js';
import { errorDocument } from '../helpers/json-schemas.js';
import { runCli } from '../helpers/run-cli.js';
import { writeZipFile } from '../helpers/zip.js';
import { assertNothingSent, assertRefused, backendTraffic, type ChildOptions, runChild } from './helpers.js';

/** Who the CLI runs as so that permissions apply: `nobody` when the tests are root. */
const unprivileged: ChildOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};

describe('unreadable exports and unwritable config folders', () => {
  let backend: BackendDouble;
  let dir: string;
  let xml: string;
  let userId: string;
  let apiKey: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hostile-unreadable-'));
    // Searchable by the unprivileged user; what it may not read is set per case.
    await chmod(dir, 0o755);
    xml = join(dir, 'export.xml');
    await writeExportFile(xml, { days: 2, seed: 5 });
    await chmod(xml, 0o644);
    backend = await startBackendDouble();
    userId = backend.createUser({ email: 'dana@example.com' }).id;
    apiKey = backend.createApiKey();
  });
  after(async () => {
    await backend?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A config folder the unprivileged CLI may write. */
  async function openCfg(): Promise<string> {
    const cfg = await mkdtemp(join(dir, 'cfg-'));
    await chmod(cfg, 0o777);
    return cfg;
  }

  const commands = (path: string) => [
    ['validate', path, '--json'],
    ['upload', path, '--user', userId, '--json'],
    ['upload', path, '--user', userId, '--method', 'direct', '--json'],
  ];

  it('an export file, zip or folder without read permission: exit 3, INPUT_UNREADABLE, permission denied', async () => {
    const locked = join(dir, 'locked.xml');
    await writeFile(locked, await readFile(xml));
    await chmod(locked, 0o000);
    const zip = join(dir, 'locked.zip');
    await writeZipFile(zip, [{ name: 'apple_health_export/export.xml', data: 'x' }]);
    await chmod(zip, 0o000);
    const folder = join(dir, 'locked-folder');
    await mkdir(folder);
    await chmod(folder, 0o000);
    const inner = join(dir, 'unzipped');
    await mkdir(join(inner, 'apple_health_export'), { recursive: true });
    await writeFile(join(inner, 'apple_health_export', 'export.xml'), 'x');
    await chmod(join(inner, 'apple_health_export', 'export.xml'), 0o000);
    await chmod(inner, 0o755);
    await chmod(join(inner, 'apple_health_export'), 0o755);
    const cases: [string, string][] = [
      [locked, locked],
      [zip, zip],
      [folder, folder],
      [inner, join(inner, 'apple_health_export', 'export.xml')],
    ];
    // Every command opens its input the same way: all three on the file, validate on the rest.
    for (const [input, named] of cases) {
      for (const args of input === locked ? commands(input) : commands(input).slice(0, 1)) {
        const before = backendTraffic(backend);
        const r = await runChild(args, {
          ...unprivileged,
          env: {
            APPLE_IMPORT_SERVER: backend.url,
            APPLE_IMPORT_API_KEY: apiKey,
            APPLE_IMPORT_CONFIG_DIR: await openCfg(),
          },
        });
        assertRefused(
          r,
          3,
          'INPUT_UNREADABLE',
          new RegExp(`^error: ${reEscape(named)}: cannot read it: permission denied \\(EACCES\\)$`),
        );
        assert.match(r.stderr, /\nhint: Check its permissions \(ls -l\)/);
        assertNothingSent(backend, before);
        assertBounded(args, r.peakRssMiB);
      }
    }
  });

  it('not a file at all: a FIFO is INPUT_INVALID, a path through a regular file INPUT_NOT_FOUND', async () => {
    const fifo = join(dir, 'export.fifo');
    execFileSync('mkfifo', [fifo]);
    const through = join(xml, 'export.xml');
    for (const [input, code, line] of [
      [fifo, 'INPUT_INVALID', new RegExp(`^error: ${reEscape(fifo)}: not a regular file$`)],
      [through, 'INPUT_NOT_FOUND', new RegExp(`^error: ${reEscape(through)}: no such file or folder$`)],
    ] as const) {
      const r = await runChild(['validate', input, '--json'], {
        env: { APPLE_IMPORT_CONFIG_DIR: await openCfg() },
      });
      assertRefused(r, 3, code, line);
    }
  });

  it('a read-only config folder: login and upload exit 1 with CONFIG_WRITE_FAILED saying where; nothing is sent', async () => {
    const readOnly = await mkdtemp(join(dir, 'ro-'));
    await chmod(readOnly, 0o555);
    const env = { APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_CONFIG_DIR: readOnly };
    const before = backendTraffic(backend);
    // login writes the config file once the server accepted the password.
    const login = await runChild(['login', '--email', 'admin@admin.com', '--password-stdin', '--json'], {
      ...unprivileged,
      env,
      stdin: 'your-secure-password',
    });
    assertRefused(
      login,
      1,
      'CONFIG_WRITE_FAILED',
      new RegExp(
        `^error: Could not write the config file ${reEscape(join(readOnly, 'config.json'))}: permission denied \\(EACCES\\)\\.$`,
      ),
    );
    assert.match(
      login.stderr,
      /\nhint: Make .* writable, or point APPLE_IMPORT_CONFIG_DIR at a folder you may write\./,
    );
    assertBounded(['login'], login.peakRssMiB);
    // The upload ledger lives there too: it is written before anything is sent.
    for (const args of commands(xml).slice(1)) {
      const r = await runChild(args, { ...unprivileged, env: { ...env, APPLE_IMPORT_API_KEY: apiKey } });
      assertRefused(
        r,
        1,
        'CONFIG_WRITE_FAILED',
        new RegExp(
          `^error: Could not write the ledger (folder|entry) ${reEscape(readOnly)}/.*: permission denied \\(EACCES\\)\\.$`,
        ),
      );
      assertBounded(args, r.peakRssMiB);
    }
    assertNothingSent(backend, before);
    assert.deepEqual(await readdir(readOnly), []);
  });

  it('a config folder that cannot be made (ENOENT on mkdir: its parent is a dangling link): exit 1, CONFIG_WRITE_FAILED saying where; nothing is sent', async () => {
    const dangling = join(dir, 'dangling');
    await symlink(join(dir, 'no-such-folder'), dangling);
    const cfg = join(dangling, 'apple-import');
    for (const args of commands(xml).slice(1)) {
      const before = backendTraffic(backend);
      const r = await runChild(args, {
        env: { APPLE_IMPORT_SERVER: backend.url, APPLE_IMPORT_API_KEY: apiKey, APPLE_IMPORT_CONFIG_DIR: cfg },
      });
      assertRefused(
        r,
        1,
        'CONFIG_WRITE_FAILED',
        new RegExp(
          `^error: Could not write the ledger (folder|entry) ${reEscape(cfg)}/.*: a folder on the path does not exist \\(ENOENT\\)\\.$`,
        ),
      );
      assert.match(
        r.stderr,
        /\nhint: Make .* writable, or point APPLE_IMPORT_CONFIG_DIR at a folder you may write\./,
      );
      assertNothingSent(backend, before);
      assertBounded(args, r.peakRssMiB);
    }
  });

  it('a full disk under the config folder (ENOSPC, in-process): exit 1, the ledger left as it was', async () => {
    const cfg = await mkdtemp(join(dir, 'full-'));
    const env = {
      APPLE_IMPORT_SERVER: backend.url,
      APPLE_IMPORT_API_KEY: apiKey,
      APPLE_IMPORT_CONFIG_DIR: cfg,
    };
    for (const args of commands(xml).slice(1)) {
      const before = backendTraffic(backend);
      const { result, hits } = await withFsFault(join(cfg, 'ledger'), 'ENOSPC', () => runCli(args, { env }));
      assert.ok(result, 'the run returned');
      assert.ok(hits.length > 0, 'the fault was hit');
      assert.equal(result.code, 1, result.stderr);
      const first = result.stderr.split('\n').find((l) => l.startsWith('error: ')) ?? '';
      assert.match(
        first,
        /^error: Could not write the ledger entry .*\.json: no space left on the device \(ENOSPC\)\.$/,
      );
      assert.match(result.stderr, /\nhint: Free some space on the disk that holds .*ledger/);
      assert.equal(
        errorDocument(result.stdout).code,
        'CONFIG_WRITE_FAILED',
        'the error is the one --json document',
      );
      assertNothingSent(backend, before);
      const left = await readdir(join(cfg, 'ledger')).catch(() => []);
      assert.ok(
        left.every((n) => !n.endsWith('.tmp')),
        `no temp file left: ${left.join(', ')}`,
      );
    }
  });
});

/** Peak RSS of the child CLI, measured by the child itself (helpers/peak-rss.mjs). */
function assertBounded(args: string[], rss: number): void {
  assert.ok(rss > 0 && rss <= 150, `${args.join(' ')}: peak RSS ${rss} MiB`);
}

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
