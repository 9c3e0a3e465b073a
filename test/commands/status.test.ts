import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { writeExportFile } from '../../src/generator/index.js';
import { startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';

const API_KEY = `sk-${'cd'.repeat(16)}`;
const env = { APPLE_IMPORT_API_KEY: API_KEY };

describe('status', () => {
  it('lists recent events and follows the stream until interrupted', async () => {
    const double = await startBackendDouble({ seed: { apiKeys: [API_KEY] }, directDelayMs: 5 });
    const user = double.createUser({ email: 'status@example.com' });
    const cli = await CliEnv.create(double.url);
    const dir = await mkdtemp(join(tmpdir(), 'status-test-'));
    try {
      const empty = await cli.run(['status', '--user', user.id], { env });
      assert.equal(empty.code, 0, empty.stderr);
      assert.match(empty.stderr, /No recent events/);

      const file = join(dir, 'export.xml');
      await writeExportFile(file, { seed: 2, days: 1 });
      const up = await cli.run(['upload', file, '--user', user.id, '--method', 'direct', '--wait'], { env });
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stderr, /completed, \d+ items processed/);

      const recent = await cli.run(['status', '--user', user.id, '--json'], { env });
      assert.equal(recent.code, 0, recent.stderr);
      const events = JSON.parse(recent.stdout) as { stage: string; metadata: { filename: string } }[];
      assert.deepEqual(
        events.map((e) => e.stage),
        ['completed', 'started'],
      );
      assert.match(events[0]?.metadata.filename ?? '', /^ai-[0-9a-f]{8}-00001\.xml$/);

      const plain = await cli.run(['status', '--user', user.id], { env });
      assert.match(plain.stdout, /xml_import\/apple {2}started ai-/);

      // --follow replays, then streams; a new event arrives live; Ctrl-C ends it with 130.
      const controller = new AbortController();
      double.faults.drop(1, { path: /\/sync\/stream$/ });
      const following = cli.run(['status', '--user', user.id, '--follow', '--json'], {
        env,
        signal: controller.signal,
      });
      await new Promise((r) => setTimeout(r, 800));
      const again = await cli.run(['upload', file, '--user', user.id, '--method', 'direct', '--force'], {
        env,
      });
      assert.equal(again.code, 0, again.stderr);
      await new Promise((r) => setTimeout(r, 300));
      controller.abort();
      const followed = await following;
      assert.equal(followed.code, 130);
      const lines = followed.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { stage: string; event_id: string });
      assert.equal(new Set(lines.map((l) => l.event_id)).size, lines.length, 'no event printed twice');
      assert.equal(lines.length, 4);

      const bad = await cli.run(['status', '--user', 'not-a-uuid'], { env });
      assert.equal(bad.code, 2);
    } finally {
      await double.close();
      await cli.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
