import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';

const API_KEY = `sk-${'ef'.repeat(16)}`;
const env = { APPLE_IMPORT_API_KEY: API_KEY };

describe('--user by email', () => {
  let double: BackendDouble;
  let cli: CliEnv;
  before(async () => {
    double = await startBackendDouble({ seed: { apiKeys: [API_KEY] } });
    cli = await CliEnv.create(double.url);
  });
  after(async () => {
    await double.close();
    await cli.dispose();
  });

  it('finds the one user with that email, whatever its case, and uses the id', async () => {
    const user = double.createUser({ email: 'Dana.Lee@Example.com' });
    double.createUser({ email: 'dana.leeson@example.com' });
    for (const given of ['Dana.Lee@Example.com', 'dana.lee@example.com']) {
      const r = await cli.run(['status', '--user', given, '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /does not exist|matches/);
    }
    const wrongId = await cli.run(['status', '--user', user.id.replace(/^./, '0'), '--json'], { env });
    assert.equal(wrongId.code, 2);
  });

  it('an email nobody has: exit 2 and one JSON error naming it', async () => {
    const r = await cli.run(['status', '--user', 'nobody@example.com', '--json'], { env });
    assert.equal(r.code, 2);
    const doc = JSON.parse(r.stdout) as { error: { message: string; exitCode: number } };
    assert.equal(doc.error.exitCode, 2);
    assert.match(doc.error.message, /^User nobody@example\.com does not exist on /);
  });

  it('an email two users share (in different case): exit 2, both ids listed', async () => {
    const a = double.createUser({ email: 'twin@example.com' });
    const b = double.createUser({ email: 'TWIN@example.com' });
    const r = await cli.run(['upload', 'missing.xml', '--user', 'Twin@Example.com'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /Twin@Example\.com matches 2 users/);
    assert.match(r.stderr, new RegExp(a.id));
    assert.match(r.stderr, new RegExp(b.id));
  });

  it('something neither an id nor an email: exit 2 with a hint', async () => {
    const r = await cli.run(['status', '--user', 'dana'], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /a user id \(a UUID\) or an email, not "dana"/);
  });
});
