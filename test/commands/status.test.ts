import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';

const API_KEY = `sk-${'cd'.repeat(16)}`;
const env = { APPLE_IMPORT_API_KEY: API_KEY };

interface StreamedEvent {
  stage: string;
  event_id: string;
  metadata: { filename: string };
}

function jsonLines(stdout: string): StreamedEvent[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StreamedEvent);
}

describe('status', () => {
  let double: BackendDouble;
  let cli: CliEnv;
  let dir = '';
  let file = '';
  before(async () => {
    double = await startBackendDouble({ seed: { apiKeys: [API_KEY] }, directDelayMs: 5 });
    cli = await CliEnv.create(double.url);
    dir = await mkdtemp(join(tmpdir(), 'status-test-'));
    file = join(dir, 'export.xml');
    await writeExportFile(file, { seed: 2, days: 1 });
  });
  after(async () => {
    await double.close();
    await cli.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  /** A user with one direct batch imported (a started and a completed event). */
  async function userWithOneImport(): Promise<string> {
    const user = double.createUser({ email: `s${Math.random()}@example.com` });
    const up = await cli.run(['upload', file, '--user', user.id, '--method', 'direct', '--wait'], { env });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /completed, \d+ items processed/);
    return user.id;
  }

  it('says so when a user has no recent events', async () => {
    const user = double.createUser({ email: 'empty@example.com' });
    const r = await cli.run(['status', '--user', user.id], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /No recent events/);
  });

  it('lists recent events as they happened, oldest first, in JSON and text alike', async () => {
    const userId = await userWithOneImport();
    const json = await cli.run(['status', '--user', userId, '--json'], { env });
    assert.equal(json.code, 0, json.stderr);
    const events = JSON.parse(json.stdout) as StreamedEvent[];
    assert.deepEqual(
      events.map((e) => e.stage),
      ['started', 'completed'],
    );
    assert.match(events[0]?.metadata.filename ?? '', /^apple-import-[0-9a-f]{8}-[0-9a-f]{8}-b00001\.xml$/);
    const text = await cli.run(['status', '--user', userId], { env });
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /xml_import\/apple {2}started apple-import-/);
    assert.match(lines[1] ?? '', /xml_import\/apple {2}completed apple-import-.* items=\d+/);
    // --local-time: the same instants, in this machine's zone with its offset.
    const local = await cli.run(['status', '--user', userId, '--local-time'], { env });
    assert.equal(local.code, 0, local.stderr);
    const shown = local.stdout
      .trim()
      .split('\n')
      .map((l) => /^(\S+ \S+ [+-]\d\d:\d\d) {2}/.exec(l)?.[1]);
    const seconds = (t: string) => Math.floor(new Date(t).getTime() / 1000);
    assert.deepEqual(
      shown.map((s) => seconds(s!.replace(' ', 'T').replace(' ', ''))),
      events.map((e) => seconds((e as unknown as { timestamp: string }).timestamp)),
    );
  });

  it('--follow replays, reconnects after a dropped stream, prints new events live and each once, and Ctrl-C ends it with 130', async () => {
    const userId = await userWithOneImport();
    const controller = new AbortController();
    // The first stream request fails: the follow loop reconnects, and the replay brings the two events.
    double.faults.drop(1, { path: /\/sync\/stream$/ });
    const following = cli.start(['status', '--user', userId, '--follow', '--json'], {
      env,
      signal: controller.signal,
    });
    await following.waitFor((out) => jsonLines(out).length === 2);
    // Another export: the same one sent again would fail on the server (its workouts are there already).
    const other = join(dir, 'other.xml');
    await writeExportFile(other, { seed: 3, days: 1, startDate: '2024-06-01' });
    const again = await cli.run(['upload', other, '--user', userId, '--method', 'direct'], { env });
    assert.equal(again.code, 0, again.stderr);
    await following.waitFor((out) => jsonLines(out).length >= 4);
    controller.abort();
    const followed = await following.done;
    assert.equal(followed.code, 130);
    const lines = jsonLines(followed.stdout);
    assert.equal(new Set(lines.map((l) => l.event_id)).size, lines.length, 'no event printed twice');
    assert.deepEqual(
      lines.map((l) => l.stage),
      ['started', 'completed', 'started', 'completed'],
    );
    assert.notEqual(lines[2]?.metadata.filename, lines[0]?.metadata.filename, 'the new batch arrived live');
  });

  it('a user id that is not a UUID is a usage error', async () => {
    const bad = await cli.run(['status', '--user', 'not-a-uuid'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--user must be a user id \(a UUID\)/);
  });

  it('--limit outside 1–200 is a usage error', async () => {
    const user = double.createUser({ email: 'limit@example.com' });
    const bad = await cli.run(['status', '--user', user.id, '--limit', '500'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--limit must be a whole number from 1 to 200/);
  });
});
