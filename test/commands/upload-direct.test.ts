import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SaxesParser } from 'saxes';
import { openExport } from '../../src/adapters/export-source.js';
import { scanExport } from '../../src/core/reader/read-export.js';
import type { ExportElement } from '../../src/core/reader/types.js';
import { writeExportFile } from '../../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { CliEnv } from '../helpers/cli-env.js';
import { steppingClock } from '../helpers/fake-clock.js';

const API_KEY = `sk-${'ab'.repeat(16)}`;
const IMPORTED = new Set([
  'HKCategoryTypeIdentifierSleepAnalysis',
  ...(await import('../../src/core/selection/mapped-types.js')).MAPPED_QUANTITY_TYPES.keys(),
]);

/** Canonical key of a Record (attrs only) or Workout (attrs + WorkoutStatistics), independent of order. */
function keyOf(name: string, attrs: Record<string, string>, stats: Record<string, string>[] = []): string {
  const sort = (a: Record<string, string>) =>
    JSON.stringify(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : 1)));
  return `${name}|${sort(attrs)}|${stats.map(sort).sort().join(',')}`;
}

/** Expected side: the shared reader over the source (tolerant of the broken DTD and control characters). */
async function sourceSamples(
  path: string,
): Promise<{ distinct: Set<string>; topLevel: number; members: number }> {
  const distinct = new Set<string>();
  let topLevel = 0;
  let members = 0;
  const strip = (s: string) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
  const clean = (a: Record<string, string>) =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, strip(v)]));
  const add = (el: ExportElement, counts: boolean) => {
    if (el.name === 'Record' && IMPORTED.has(el.attrs.type ?? '')) {
      distinct.add(keyOf('Record', clean(el.attrs)));
      if (counts) topLevel++;
      else members++;
    } else if (el.name === 'Workout') {
      const stats = el.children.filter((c) => c.name === 'WorkoutStatistics').map((c) => clean(c.attrs));
      distinct.add(keyOf('Workout', clean(el.attrs), stats));
      if (counts) topLevel++;
    }
  };
  const source = await openExport(path);
  await scanExport(source.open(), {
    onElement: (el) => {
      if (el.name === 'Correlation') for (const c of el.children) add(c, false);
      else add(el, true);
    },
  });
  return { distinct, topLevel, members };
}

/** Received side: every batch the double got, parsed with saxes (strict, independent of our reader). */
function receivedSamples(double: BackendDouble): {
  keys: string[];
  files: string[];
  sizes: number[];
  counts: number[];
} {
  const keys: string[] = [];
  const files: string[] = [];
  const sizes: number[] = [];
  const counts: number[] = [];
  for (const upload of double.state.directUploads) {
    files.push(upload.filename);
    sizes.push(upload.bytes.length);
    const parser = new SaxesParser();
    let open: { attrs: Record<string, string>; stats: Record<string, string>[] } | null = null;
    let depth = 0;
    let n = 0;
    parser.on('error', (e) => {
      throw e;
    });
    parser.on('doctype', () => assert.fail('a batch must not carry a DOCTYPE'));
    parser.on('opentag', (t) => {
      depth++;
      const attrs = t.attributes as Record<string, string>;
      assert.notEqual(t.name, 'Me', 'Me must not be sent');
      if (t.name === 'Record' && depth === 2) {
        keys.push(keyOf('Record', attrs));
        n++;
      }
      if (t.name === 'Workout') open = { attrs, stats: [] };
      if (t.name === 'WorkoutStatistics' && open) open.stats.push(attrs);
    });
    parser.on('closetag', (t) => {
      depth--;
      if (t.name === 'Workout' && open) {
        keys.push(keyOf('Workout', open.attrs, open.stats));
        n++;
        open = null;
      }
    });
    parser.write(upload.bytes.toString('utf8')).close();
    counts.push(n);
  }
  return { keys, files, sizes, counts };
}

interface Setup {
  double: BackendDouble;
  cli: CliEnv;
  userId: string;
  dir: string;
}

async function setup(opts: { directDelayMs?: number } = {}): Promise<Setup> {
  const double = await startBackendDouble({
    seed: { apiKeys: [API_KEY] },
    directDelayMs: opts.directDelayMs ?? 5,
  });
  const user = double.createUser({ email: `u${Math.random()}@example.com` });
  const cli = await CliEnv.create(double.url);
  const dir = await mkdtemp(join(tmpdir(), 'direct-test-'));
  return { double, cli, userId: user.id, dir };
}

async function teardown(s: Setup): Promise<void> {
  await s.double.close();
  await s.cli.dispose();
  await rm(s.dir, { recursive: true, force: true });
}

const env = { APPLE_IMPORT_API_KEY: API_KEY };

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What the proxy does with the n-th direct upload (1-based); every other request passes through. */
type UploadStep =
  | { kind: 'pass' }
  /** Forwarded at once; the double's answer is handed to `onAnswer`, which delivers it when it likes. */
  | { kind: 'hold-answer'; onAnswer(deliver: () => void): void }
  /**
   * Read in full but not forwarded, and never answered: the proxy stands for a server that has queued the
   * upload but whose worker has not started it (no event on the feed, contract §3.4). `forward` hands it
   * to the double, which starts it after its directDelayMs.
   */
  | { kind: 'hold-request'; onHeld(forward: () => Promise<void>): void };

/** A proxy in front of the double that scripts what happens to the direct uploads. */
async function startProxy(
  upstream: string,
  step: (n: number) => UploadStep,
): Promise<{ url: string; close(): Promise<void> }> {
  let uploads = 0;
  const server = createServer((req, res) => {
    // A client that gave up on its request closes the socket under a late answer.
    res.on('error', () => {});
    if (!(req.method === 'POST' && req.url?.endsWith('/direct'))) {
      const upstreamReq = httpRequest(
        `${upstream}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstreamReq.on('error', () => res.destroy());
      req.pipe(upstreamReq);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = () =>
        new Promise<Answer>((resolve, reject) => {
          const upstreamReq = httpRequest(
            `${upstream}${req.url}`,
            { method: 'POST', headers: req.headers },
            (answer) => {
              const parts: Buffer[] = [];
              answer.on('data', (c: Buffer) => parts.push(c));
              answer.on('error', reject);
              answer.on('end', () =>
                resolve({
                  status: answer.statusCode ?? 502,
                  headers: answer.headers,
                  body: Buffer.concat(parts),
                }),
              );
            },
          );
          upstreamReq.on('error', reject);
          upstreamReq.end(Buffer.concat(chunks));
        });
      const deliver = (a: Answer) => {
        res.writeHead(a.status, a.headers);
        res.end(a.body);
      };
      const plan = step(++uploads);
      if (plan.kind === 'hold-request') {
        plan.onHeld(async () => {
          await send();
        });
        return;
      }
      send().then(
        (a) => (plan.kind === 'pass' ? deliver(a) : plan.onAnswer(() => deliver(a))),
        () => res.destroy(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** argv for `upload <file> --user <id> --method direct` */
function directUpload(file: string, userId: string): string[] {
  return ['upload', file, '--user', userId, '--method', 'direct'];
}

describe('upload --method direct', () => {
  for (const seed of [1, 3, 42]) {
    it(`sends every imported sample exactly once, within limits (seed ${seed})`, async () => {
      const s = await setup();
      try {
        const file = join(s.dir, 'export.xml');
        await writeExportFile(file, {
          seed,
          days: 8,
          dtd: 'ios16-unclosed-attlist',
          exportVersion: 12,
          controlChars: 0.2,
          dupExact: 0.05,
        });
        const r = await s.cli.run(
          [...directUpload(file, s.userId), '--batch-bytes', '300000', '--batch-records', '2000', '--json'],
          { env },
        );
        assert.equal(r.code, 0, r.stderr);
        const doc = JSON.parse(r.stdout);
        const got = receivedSamples(s.double);
        const want = await sourceSamples(file);
        assert.ok(got.files.length >= 3, `expected several batches, got ${got.files.length}`);
        assert.equal(new Set(got.files).size, got.files.length, 'filenames unique');
        for (const f of got.files) assert.match(f, /^[A-Za-z0-9._-]+\.xml$/);
        for (const size of got.sizes) assert.ok(size <= 300_000, `batch of ${size} bytes`);
        for (const n of got.counts) assert.ok(n <= 2000, `batch of ${n} records`);
        assert.equal(new Set(got.keys).size, got.keys.length, 'no sample sent twice');
        assert.deepEqual(new Set(got.keys), want.distinct);
        const dup = doc.dropped.duplicate?.total ?? 0;
        const corr = doc.dropped['correlation-copy']?.total ?? 0;
        assert.ok(dup > 0, 'the generator wrote exact duplicates');
        // Every imported sample, top-level or correlation member, is either sent or reported as dropped.
        assert.equal(got.keys.length, want.topLevel + want.members - dup - corr);
        assert.equal(doc.records, got.keys.length);
        // The backend double parsed every batch (it uses the strict rules of contract §5.1). Its imports run
        // after the 200s, off the request loop (contract §3.4), so the last may still be running here.
        await s.double.idle();
        assert.ok(s.double.state.directUploads.every((u) => u.status === 'completed'));
      } finally {
        await teardown(s);
      }
    });
  }

  it('applies --since/--until/--types exactly at the boundaries', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      const head =
        '<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n <ExportDate value="2024-03-05 10:00:00 +0100"/>\n';
      const rec = (type: string, start: string, value = '1') =>
        ` <Record type="HKQuantityTypeIdentifier${type}" sourceName="W" unit="count" creationDate="${start}" startDate="${start}" endDate="${start}" value="${value}"/>\n`;
      const body =
        rec('StepCount', '2024-02-29 23:59:59 +0100') +
        rec('StepCount', '2024-03-01 00:00:00 +0100') +
        rec('StepCount', '2024-03-01 00:00:00 -0500', '2') +
        rec('StepCount', '2024-03-02 23:59:59 -0800') +
        rec('StepCount', '2024-03-03 00:00:00 +0000') +
        rec('HeartRate', '2024-03-01 12:00:00 +0100', '60') +
        rec('DietaryWater', '2024-03-01 12:00:00 +0100', '60');
      const { writeFile } = await import('node:fs/promises');
      await writeFile(file, `${head}${body}</HealthData>\n`);
      const r = await s.cli.run(
        [
          ...directUpload(file, s.userId),
          '--since',
          '2024-03-01',
          '--until',
          '2024-03-02',
          '--types',
          'steps',
          '--json',
        ],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      const got = receivedSamples(s.double).keys.map(
        (k) => JSON.parse(k.split('|')[1] as string) as [string, string][],
      );
      const starts = got.map((attrs) => Object.fromEntries(attrs).startDate).sort();
      assert.deepEqual(starts, [
        '2024-03-01 00:00:00 +0100',
        '2024-03-01 00:00:00 -0500',
        '2024-03-02 23:59:59 -0800',
      ]);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.dropped['filtered-date'].total, 2);
      assert.equal(doc.dropped['filtered-type'].total, 1);
      assert.equal(doc.dropped['not-imported'].total, 1);

      // An instant bound: 2024-03-01T00:00:00+01:00 is 2024-02-29 23:00Z, so the -0500 sample (05:00Z) is after it.
      const r2 = await s.cli.run(
        [
          ...directUpload(file, s.userId),
          '--until',
          '2024-03-01T00:00:00+01:00',
          '--types',
          'StepCount',
          // The first run's records are on the server now; this run is about the filters alone.
          '--full',
          '--dry-run',
          '--json',
        ],
        { env },
      );
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal(JSON.parse(r2.stdout).records, 2);
    } finally {
      await teardown(s);
    }
  });

  it('resumes after an interruption without sending any batch twice', async () => {
    // The double's worker does not get to these imports during the test: they stay queued, so nothing is on
    // the status feed (it shows an import once it starts, contract §3.4) and it cannot tell what was sent.
    const s = await setup({ directDelayMs: 10 * 60_000 });
    const controller = new AbortController();
    const k = 2;
    // Ctrl-C lands after the double has accepted batch k and before its answer reaches the CLI.
    const proxy = await startProxy(s.double.url, (n) =>
      n === k
        ? {
            kind: 'hold-answer',
            onAnswer: (deliver) => {
              controller.abort();
              setImmediate(deliver);
            },
          }
        : { kind: 'pass' },
    );
    try {
      s.cli.server = proxy.url;
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 5, days: 3, dupExact: 0.02 });
      const args = ['upload', file, '--user', s.userId, '--method', 'direct', '--batch-bytes', '200000'];
      const first = await s.cli.run(args, { env, signal: controller.signal });
      assert.equal(first.code, 130, first.stderr);
      assert.equal(s.double.state.directUploads.length, k, 'nothing is sent after the interrupt');
      const second = await s.cli.run(args, { env });
      assert.equal(second.code, 0, second.stderr);
      const got = receivedSamples(s.double);
      assert.equal(new Set(got.keys).size, got.keys.length, 'no sample sent twice');
      const want = await sourceSamples(file);
      assert.deepEqual(new Set(got.keys), want.distinct);
      assert.ok(
        s.double.state.directUploads.every((u) => u.status === 'processing'),
        'no import started, so the feed showed none of them',
      );
      // The first run waited for batch k's answer and recorded its task id; the re-run trusts the ledger.
      const kth = s.double.state.directUploads[k - 1]!;
      // The first Ctrl-C said what happens next; the run ended saying what was done and how to go on.
      assert.match(first.stderr, /Stopping after batch 2 of ~?\d+ \(up to 30 s\); Ctrl-C again to stop now/);
      assert.match(
        first.stderr,
        /\nInterrupted: 2 of ~?\d+ batches sent \([\d,]+ records\)\.\nResume with: apple-import upload \S+ .*--method direct.*\n$/,
      );
      assert.match(first.stderr, new RegExp(`batch ${k} \\(.*\\): queued as task ${kth.taskId}`));
      assert.equal(second.stderr.match(/already sent in an earlier run, skipped/g)?.length, k);
      // The re-run's summary counts what it sent: the records of its own batches, not the skipped ones.
      const recordsOf = (state: RegExp) =>
        [...second.stderr.matchAll(/^batch \d+ \(\S+, ([\d,]+) records?, [^)]*\): (.*)$/gm)]
          .filter((m) => state.test(m[2]!))
          .reduce((sum, m) => sum + Number(m[1]!.replace(/,/g, '')), 0);
      const sentNow = recordsOf(/^queued/);
      assert.ok(sentNow > 0 && recordsOf(/^already sent/) > 0, second.stderr);
      const total = second.stdout.match(/^Sent (\d+) of (\d+) batches \(([\d,]+) records, /m);
      assert.ok(total, second.stdout);
      assert.equal(Number(total[1]), Number(total[2]) - k);
      assert.equal(Number(total[3]!.replace(/,/g, '')), sentNow, second.stdout);
      assert.match(second.stdout, new RegExp(`; ${k} already sent earlier\n`));
      assert.doesNotMatch(second.stderr, /status feed/);
      // A third run finds everything sent.
      const third = await s.cli.run(args, { env });
      assert.equal(third.code, 0, 'already sent in full is not a failure');
      assert.match(third.stderr, /already sent/);
    } finally {
      await proxy.close();
      await teardown(s);
    }
  });

  it('a re-run waits for a batch left pending that the server has queued but not started', async () => {
    const s = await setup();
    const controller = new AbortController();
    const k = 2;
    let forward: (() => Promise<void>) | null = null;
    // Batch k reaches the server in full, but the answer never comes back: its import waits in the queue.
    const proxy = await startProxy(s.double.url, (n) =>
      n === k
        ? {
            kind: 'hold-request',
            onHeld: (f) => {
              forward = f;
              controller.abort();
            },
          }
        : { kind: 'pass' },
    );
    try {
      s.cli.server = proxy.url;
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 5, days: 3, dupExact: 0.02 });
      const args = ['upload', file, '--user', s.userId, '--method', 'direct', '--batch-bytes', '200000'];
      // The wait for the answer after Ctrl-C runs out at once on this clock: batch k stays pending.
      const first = await s.cli.run(args, {
        env,
        signal: controller.signal,
        clock: steppingClock({ from: 'now' }),
      });
      assert.equal(first.code, 130, first.stderr);
      assert.equal(s.double.state.directUploads.length, k - 1);
      assert.ok(forward, 'batch k was held');
      const release = forward as () => Promise<void>;
      // The worker picks batch k up only once the re-run, having looked at the feed and not found it, waits.
      let released = false;
      const clock = steppingClock({
        from: 'now',
        first: async () => {
          released = true;
          await release();
          await s.double.idle();
        },
      });
      const second = await s.cli.run(args, { env, clock });
      assert.equal(second.code, 0, second.stderr);
      // Whatever the re-run did, the queued upload reaches the double in the end.
      if (!released) await release();
      const got = receivedSamples(s.double);
      assert.equal(new Set(got.keys).size, got.keys.length, 'no sample sent twice');
      const want = await sourceSamples(file);
      assert.deepEqual(new Set(got.keys), want.distinct);
      await s.double.idle();
      assert.ok(s.double.state.directUploads.every((u) => u.status === 'completed'));
      assert.match(
        second.stderr,
        new RegExp(`batch ${k} \\(.*\\) was sent when an earlier run stopped.*waiting up to 60 s`),
      );
      assert.match(second.stderr, new RegExp(`batch ${k} \\(.*\\): already sent in an earlier run, skipped`));
      assert.ok(clock.sleeps.length >= 1 && clock.sleeps.every((ms) => ms <= 2_000));
    } finally {
      await proxy.close();
      await teardown(s);
    }
  });

  it('--wait follows completed and failed batches and exits 1 after sending the rest', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 9, days: 2 });
      s.double.failNextDirectImport(/-b00002\.xml$/, 'boom: duplicate key value violates unique constraint');
      const r = await s.cli.run(
        [...directUpload(file, s.userId), '--batch-bytes', '200000', '--wait', '--json'],
        { env },
      );
      assert.equal(r.code, 1, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.ok(doc.batches.length >= 3);
      const states = doc.batches.map((b: { state: string }) => b.state);
      assert.equal(states[1], 'failed');
      assert.ok(states.filter((x: string) => x === 'completed').length === doc.batches.length - 1);
      assert.match(doc.batches[1].error, /boom/);
      assert.ok(doc.batches[0].itemsProcessed > 0);
      // Re-run sends only the failed batch.
      const before = s.double.state.directUploads.length;
      const again = await s.cli.run(
        [...directUpload(file, s.userId), '--batch-bytes', '200000', '--wait', '--json'],
        { env },
      );
      assert.equal(again.code, 0, again.stderr);
      assert.equal(s.double.state.directUploads.length, before + 1);
    } finally {
      await teardown(s);
    }
  });

  it('--fail-fast stops at the first failed batch', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 9, days: 2 });
      s.double.failNextDirectImport(/-b00001\.xml$/, 'first one fails');
      const r = await s.cli.run(
        [...directUpload(file, s.userId), '--batch-bytes', '200000', '--wait', '--fail-fast', '--json'],
        { env },
      );
      assert.equal(r.code, 1, r.stderr);
      assert.equal(s.double.state.directUploads.length, 1);
      assert.equal(JSON.parse(r.stdout).stoppedEarly, true);
    } finally {
      await teardown(s);
    }
  });

  it('--wait survives the status stream being dropped', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 11, days: 2 });
      s.double.faults.drop(2, { path: /\/sync\/stream$/ });
      const r = await s.cli.run(
        [...directUpload(file, s.userId), '--batch-bytes', '300000', '--wait', '--json'],
        { env },
      );
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.ok(doc.batches.every((b: { state: string }) => b.state === 'completed'));
      const streams = s.double.state.requests.filter((q) => q.path.endsWith('/sync/stream'));
      assert.ok(streams.length >= 3);
    } finally {
      await teardown(s);
    }
  });

  it('retries a 503 and then succeeds', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 2, days: 1 });
      s.double.faults.next(
        1,
        { status: 503, headers: { 'retry-after': '0' } },
        { method: 'POST', path: /\/direct$/ },
      );
      const r = await s.cli.run(['upload', file, '--user', s.userId, '--method', 'direct', '--json'], {
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(s.double.state.directUploads.length, 1);
      assert.match(r.stderr, /retrying/);
    } finally {
      await teardown(s);
    }
  });

  it('does not resend a batch whose answer was lost after the server accepted it', async () => {
    const s = await setup();
    // A proxy that forwards the first direct upload, lets the double accept it, then loses the answer.
    let lose = 1;
    const proxy = createServer((req, res) => {
      const upstream = httpRequest(
        `${s.double.url}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          if (req.method === 'POST' && req.url?.endsWith('/direct') && lose > 0) {
            lose--;
            answer.resume();
            answer.on('end', () => req.socket.destroy());
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      s.cli.server = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 2, days: 1 });
      const r = await s.cli.run(['upload', file, '--user', s.userId, '--method', 'direct', '--json'], {
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.batches.length, 1);
      assert.equal(doc.batches[0].taskId, null, 'acceptance learnt from the feed');
      assert.equal(s.double.state.directUploads.length, 1, 'sent exactly once');
      assert.equal(lose, 0);
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      await teardown(s);
    }
  });

  it('unknown user: exit 2, also when the file is missing; missing file: exit 3', async () => {
    const s = await setup();
    try {
      // The user check and the opening of the file run side by side; the user's verdict still comes first.
      const missing = join(s.dir, 'missing.xml');
      const both = await s.cli.run(directUpload(missing, '00000000-0000-4000-8000-000000000000'), { env });
      assert.equal(both.code, 2, both.stderr);
      assert.match(both.stderr, /does not exist/);
      assert.doesNotMatch(both.stderr, /no such file/);
      const f = await s.cli.run(directUpload(missing, s.userId), { env });
      assert.equal(f.code, 3, f.stderr);
      assert.match(f.stderr, /no such file or folder/);
      assert.equal(s.double.state.directUploads.length, 0);
    } finally {
      await teardown(s);
    }
  });

  it('--dry-run sends nothing and prints the plan', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 4, days: 1 });
      const r = await s.cli.run(['upload', file, '--user', s.userId, '--method', 'direct', '--dry-run'], {
        env,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Plan: \d+ batch(es)?, [\d,]+ records?\n/);
      assert.equal(s.double.state.directUploads.length, 0);
    } finally {
      await teardown(s);
    }
  });

  it('--dry-run --out writes each batch document, byte for byte what is sent, and the double imports each', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 4, days: 3 });
      const args = ['upload', file, '--user', s.userId, '--method', 'direct', '--batch-records', '3000'];
      const folder = join(s.dir, 'batches');
      const dry = await s.cli.run([...args, '--dry-run', '--out', folder, '--json'], { env });
      assert.equal(dry.code, 0, dry.stderr);
      const doc = JSON.parse(dry.stdout) as { batches: unknown[]; out: { path: string; layout: string } };
      assert.deepEqual(doc.out, { path: folder, layout: 'folder' });
      assert.equal(s.double.state.directUploads.length, 0, 'nothing sent');
      const names = (await readdir(folder)).sort();
      assert.ok(names.length >= 2, names.join(', '));
      assert.equal(names.length, doc.batches.length);
      assert.match(names[0]!, /^direct-batch-00001\.xml$/);
      const sent = await s.cli.run([...args, '--wait'], { env });
      assert.equal(sent.code, 0, sent.stderr);
      const uploads = s.double.state.directUploads;
      assert.equal(uploads.length, names.length);
      for (const [k, name] of names.entries()) {
        assert.ok((await readFile(join(folder, name))).equals(uploads[k]!.bytes), name);
        assert.equal(uploads[k]!.status, 'completed', name);
      }
      const human = await s.cli.run([...args, '--dry-run', '--out', folder], { env });
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stderr, /Wrote the batches' documents to /);
      // The server has the export now (the ledger says so): the plan is smaller, and the earlier files go.
      const planned = Number(/Plan: (\d+) batch/.exec(human.stdout)?.[1]);
      assert.ok(planned < names.length, human.stdout);
      assert.equal((await readdir(folder)).length, planned, 'the earlier files replaced');
      assert.deepEqual(
        (await readdir(s.dir)).filter((n) => n.endsWith('.tmp')),
        [],
        'no temporary folder left',
      );
    } finally {
      await teardown(s);
    }
  });

  it('--batch-bytes takes a unit (2MiB, 2000kB); a bad size is exit 2 with examples, before anything is read', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 4, days: 1 });
      const plan = (size: string) =>
        s.cli.run(
          ['upload', file, '--user', s.userId, '--method', 'direct', '--dry-run', '--batch-bytes', size],
          {
            env,
          },
        );
      const binary = await plan('2MiB');
      assert.equal(binary.code, 0, binary.stderr);
      assert.match(binary.stderr, /\(direct, batches ≤ 2\.0 MiB and/);
      const decimal = await plan('2000kB');
      assert.equal(decimal.code, 0, decimal.stderr);
      assert.match(decimal.stderr, /\(direct, batches ≤ 1\.9 MiB and/);
      const bad = await plan('2 megs');
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /--batch-bytes must be a size .*such as 5242880, 64MiB or 1GB, not "2 megs"/);
      // The s3 method's size flag is read by the same parser.
      const part = await s.cli.run(['upload', file, '--user', s.userId, '--max-part-size', '1TB'], { env });
      assert.equal(part.code, 2, part.stderr);
      assert.match(part.stderr, /--max-part-size must be a size from 1\.0 KiB to 5\.0 GiB, .*not "1TB"/);
      assert.equal(s.double.state.directUploads.length, 0);
    } finally {
      await teardown(s);
    }
  });

  it('a ledger entry that cannot be read is a clear error with exit 1, and --force starts over', async () => {
    const s = await setup();
    try {
      const file = join(s.dir, 'export.xml');
      await writeExportFile(file, { seed: 4, days: 1 });
      const first = await s.cli.run(directUpload(file, s.userId), { env });
      assert.equal(first.code, 0, first.stderr);
      const ledgerDir = join(s.cli.configDir, 'ledger');
      // The upload's entry (the other file is the record of what this user has, shared/imported.ts).
      let name = '';
      let entry: Record<string, unknown> = {};
      for (const n of await readdir(ledgerDir)) {
        const e = JSON.parse(await readFile(join(ledgerDir, n), 'utf8'));
        if (e.method === 'direct') [name, entry] = [n, e];
      }
      assert.equal(entry.version, 2);
      assert.equal(entry.method, 'direct');
      assert.equal(entry.userId, s.userId);
      assert.notEqual(entry.completedAt, null);
      await writeFile(join(ledgerDir, name as string), '{"version": 2, "batches": [');
      const sent = s.double.state.directUploads.length;
      const broken = await s.cli.run([...directUpload(file, s.userId), '--json'], { env });
      assert.equal(broken.code, 1, broken.stderr);
      assert.match(broken.stderr, new RegExp(`error: The ledger entry .*${name} is corrupt`));
      assert.match(broken.stderr, /hint: delete that file, or run with --force/);
      assert.equal(s.double.state.directUploads.length, sent, 'nothing sent');
      const forced = await s.cli.run([...directUpload(file, s.userId), '--force'], { env });
      assert.equal(forced.code, 0, forced.stderr);
      assert.ok(s.double.state.directUploads.length > sent);
    } finally {
      await teardown(s);
    }
  });
});

void before;
void after;
