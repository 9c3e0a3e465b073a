// The sandbox's S3 path (contract §2.6) goes through the same import thread and queue as direct uploads:
// an object over the import cap fails with its reason, others import in upload order.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Sandbox, type SandboxImportEvent, startSandbox } from '../../src/sandbox/run-sandbox.js';

const EXPORT = `<?xml version="1.0" encoding="UTF-8"?>
<HealthData locale="en_US">
 <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" startDate="2024-01-31 10:00:00 -0800" endDate="2024-01-31 10:00:00 -0800" value="61"/>
 <Record type="HKQuantityTypeIdentifierStepCount" sourceName="Phone" unit="count" startDate="2024-01-31 10:00:00 -0800" endDate="2024-01-31 10:10:00 -0800" value="420"/>
</HealthData>
`;

describe('sandbox: S3 objects are imported by the import thread', () => {
  let sandbox: Sandbox;
  const imports: SandboxImportEvent[] = [];
  const headers = () => ({ 'x-open-wearables-api-key': sandbox.info.api_key });

  async function uploadViaS3(userId: string, filename: string, body: string): Promise<void> {
    const presign = await fetch(`${sandbox.info.url}/api/v1/users/${userId}/import/apple/xml/s3`, {
      method: 'POST',
      headers: { ...headers(), 'content-type': 'application/json' },
      body: JSON.stringify({ filename }),
    });
    assert.equal(presign.status, 200);
    const { upload_url, form_fields } = (await presign.json()) as {
      upload_url: string;
      form_fields: Record<string, string>;
    };
    const form = new FormData();
    for (const [k, v] of Object.entries(form_fields)) form.append(k, v);
    form.append('file', new Blob([body], { type: 'application/xml' }), filename);
    assert.equal((await fetch(upload_url, { method: 'POST', body: form })).status, 204);
  }

  before(async () => {
    sandbox = await startSandbox({ maxImportBytes: EXPORT.length, onImport: (e) => imports.push(e) });
  });
  after(() => sandbox.close());

  it('fails an object over maxImportBytes with the reason and imports the next ones in order', async () => {
    const user = sandbox.info.users[0]!.id;
    await uploadViaS3(user, 'too-big.xml', `${EXPORT} `);
    await uploadViaS3(user, 'fits.xml', EXPORT);
    await sandbox.idle();
    // A direct upload named like the refused object imports normally: the refusal was that object's alone.
    const form = new FormData();
    form.append('file', new Blob([EXPORT], { type: 'application/xml' }), 'too-big.xml');
    const direct = await fetch(`${sandbox.info.url}/api/v1/users/${user}/import/apple/xml/direct`, {
      method: 'POST',
      headers: headers(),
      body: form,
    });
    assert.equal(direct.status, 200);
    await sandbox.idle();

    assert.deepEqual(
      imports.map((e) => [e.key.split('/').at(-1), e.status, e.items]),
      [
        ['too-big.xml', 'failed', null],
        ['fits.xml', 'completed', 2],
      ],
    );
    assert.match(imports[0]?.reason ?? '', /the sandbox imports at most \d+ bytes per object/);
    const events = (sandbox.backend.state.syncEvents.get(user) ?? []).map(
      (e) => `${e.metadata.filename} ${e.stage}`,
    );
    assert.deepEqual(events, [
      'too-big.xml started',
      'too-big.xml failed',
      'fits.xml started',
      'fits.xml completed',
      'too-big.xml started',
      'too-big.xml completed',
    ]);
    assert.equal(sandbox.backend.state.directUploads[0]?.status, 'completed');
  });
});
