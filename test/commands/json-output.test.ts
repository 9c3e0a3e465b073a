import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { COMMANDS } from '../../src/commands/index.js';
import { RunState } from '../../src/commands/types.js';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';
import { assertMatchesSchema, checkJsonOutput, errorDocument, schemaNames } from '../helpers/json-schemas.js';

/**
 * `--json` prints exactly one document on every exit: the command's own, or `{"error": {…}}`. runCli holds
 * every --json run of the suite to docs/schemas/; these cases are the failures a script meets first.
 */
describe('--json: one document on every exit', () => {
  let backend: BackendDouble;
  let env: CliEnv;
  let dir: string;
  let xml: string;
  let key: string;
  let userId: string;

  before(async () => {
    backend = await startBackendDouble();
    key = backend.createApiKey('ci');
    userId = backend.createUser({ email: 'dana@example.com' }).id;
    env = await CliEnv.create(backend.url);
    dir = await mkdtemp(join(tmpdir(), 'json-output-'));
    xml = join(dir, 'export.xml');
    await writeExportFile(xml, { days: 2, seed: 4 });
  });
  after(async () => {
    await env.dispose();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('every command publishes a schema under docs/schemas/, and the error document has one', () => {
    const program = new Command();
    const state = new RunState(
      { env: {}, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
      '0',
    );
    for (const register of COMMANDS) register(program, state);
    const names = program.commands.map((c) => c.name()).sort();
    assert.deepEqual(schemaNames().sort(), names);
    assert.ok(existsSync(join(import.meta.dirname, '..', '..', 'docs', 'schemas', 'error.schema.json')));
  });

  const failures: [string, () => string[], Record<string, string>, string, number][] = [
    [
      'a missing file (validate)',
      () => ['validate', join(dir, 'missing.zip'), '--json'],
      {},
      'INPUT_NOT_FOUND',
      3,
    ],
    [
      'a missing file (upload)',
      () => ['upload', join(dir, 'missing.xml'), '--user', userId, '--json'],
      { APPLE_IMPORT_API_KEY: 'KEY' },
      'INPUT_NOT_FOUND',
      3,
    ],
    [
      'an unknown user (upload)',
      () => ['upload', xml, '--user', '00000000-0000-4000-8000-000000000000', '--json'],
      { APPLE_IMPORT_API_KEY: 'KEY' },
      'USAGE',
      2,
    ],
    [
      'a bad API key (users)',
      () => ['users', '--json'],
      { APPLE_IMPORT_API_KEY: `sk-${'0'.repeat(32)}` },
      'AUTH_INVALID',
      4,
    ],
    ['no login (whoami)', () => ['whoami', '--json'], {}, 'AUTH_REQUIRED', 4],
    [
      'an unreachable server (users)',
      () => ['users', '--json'],
      { APPLE_IMPORT_SERVER: 'http://127.0.0.1:9', APPLE_IMPORT_API_KEY: 'KEY' },
      'NETWORK_ERROR',
      1,
    ],
    ['an unknown flag', () => ['upload', xml, '--json', '--frobnicate'], {}, 'USAGE', 2],
    ['an unknown command', () => ['--json', 'frobnicate'], {}, 'USAGE', 2],
    ['a bad value', () => ['validate', xml, '--json', '--since', 'yesterday'], {}, 'USAGE', 2],
  ];
  for (const [what, args, extra, code, exitCode] of failures) {
    it(`${what}: exit ${exitCode} and the error document on stdout, the message on stderr`, async () => {
      const e = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, v === 'KEY' ? key : v]));
      const r = await env.run(args(), { env: e });
      assert.equal(r.code, exitCode, r.stderr);
      const doc = errorDocument(r.stdout);
      assert.equal(doc.code, code);
      assert.equal(doc.exitCode, exitCode);
      assert.ok(r.stderr.includes(`error: ${doc.message}`), r.stderr);
      if (doc.hint) assert.ok(r.stderr.includes(doc.hint), r.stderr);
    });
  }

  it('a usage error hints at the help of the command that was mistyped', async () => {
    const r = await env.run(['upload', xml, '--json', '--frobnicate']);
    assert.equal(errorDocument(r.stdout).hint, "run 'apple-import upload --help' for usage");
    const c = await env.run(['config', 'get']);
    assert.match(c.stderr, /hint: run 'apple-import config get --help' for usage/);
  });

  it('logout with and without a stored credential', async () => {
    const e = { env: { APPLE_IMPORT_API_KEY: undefined } };
    const none = await env.run(['logout', '--json'], e);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(JSON.parse(none.stdout).loggedOut, false);
    const login = await env.run(['login', '--api-key-stdin', '--json'], { ...e, stdin: key });
    assert.equal(login.code, 0, login.stderr);
    const out = await env.run(['logout', '--json'], e);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(JSON.parse(out.stdout), {
      server: backend.url,
      profile: 'default',
      loggedOut: true,
      revoke: 'not-applicable',
    });
  });

  it('the check fails a document that strays from its schema, two documents, or none', () => {
    assert.throws(() => assertMatchesSchema('upload', { method: 's3', user: 'x' }), /upload\.schema\.json/);
    assert.throws(
      () => assertMatchesSchema('error', { error: { code: 'USAGE', exitCode: 2, message: 'm' } }),
      /hint/,
    );
    assert.throws(() => checkJsonOutput(['whoami', '--json'], 0, '{}\n{}\n'), /exactly one JSON document/);
    assert.throws(() => checkJsonOutput(['whoami', '--json'], 4, ''), /exactly one JSON document/);
    assert.throws(
      () =>
        checkJsonOutput(
          ['whoami', '--json'],
          1,
          JSON.stringify({ error: { code: 'AUTH_REQUIRED', exitCode: 4, message: 'm', hint: null } }),
        ),
      /says exit 4, the run exited 1/,
    );
  });
});
