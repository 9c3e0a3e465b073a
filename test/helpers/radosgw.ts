// A real S3 (Ceph radosgw) for tests that need POST-policy enforcement; see docs/s3-testing-with-radosgw.md.
// The daemons daemonise themselves, so they are not our children: we track them by PID and must kill them
// ourselves, including when a test file forgets to call stop() or the test process dies.
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

export const RGW_ACCESS_KEY_ID = 'AKIATESTKEY0000000000';
export const RGW_SECRET_ACCESS_KEY = 'testsecretkey0000000000000000000000000000';

export type RadosgwStore = 'memstore' | 'bluestore';

export interface RadosgwOptions {
  /** memstore (default) starts in ~1.3 s but keeps objects in OSD RAM; use bluestore for hundreds of MB. */
  store?: RadosgwStore;
  /** Bucket created before start resolves. */
  bucket?: string;
}

export interface Radosgw {
  /** http://127.0.0.1:PORT; path-style only. */
  endpoint: string;
  region: 'us-east-1';
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  store: RadosgwStore;
  /** Wall time of the successful start, including the bucket creation. */
  startMs: number;
  /** How many attempts the start took (1, or 2 after the doc's intermittent failure). */
  attempts: number;
  /** The cluster's daemons (mon, mgr, osd, radosgw), for the benchmark's CPU accounting. */
  pids: readonly number[];
  createBucket(name: string): Promise<void>;
  getObject(key: string, bucket?: string): Promise<Buffer>;
  /** Streams an object without buffering it, for large uploads. */
  objectStream(key: string, bucket?: string): Promise<Readable>;
  /** Keys under `prefix` (first 1000), to prove that nothing was stored. */
  listKeys(prefix: string, bucket?: string): Promise<string[]>;
  stop(): Promise<void>;
}

const SCRIPT = fileURLToPath(new URL('./ceph-up.sh', import.meta.url));
const START_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 15_000;

interface Cluster {
  dir: string;
  pids: number[];
  watchdog: number | undefined;
}

/** Clusters not yet stopped; the exit and signal hooks kill these. */
const live = new Set<Cluster>();
let hooksInstalled = false;

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function killClusterSync(c: Cluster): void {
  // The watchdog first, so it cannot later kill a PID that has been reused.
  if (c.watchdog !== undefined) killQuietly(c.watchdog);
  for (const pid of c.pids) killQuietly(pid);
  rmSync(c.dir, { recursive: true, force: true });
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // 'exit' covers a test file that never calls stop(); it must be synchronous.
  process.on('exit', () => {
    for (const c of live) killClusterSync(c);
    live.clear();
  });
  // Signals skip 'exit'; clean up, then die of the same signal so the exit status stays honest.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      for (const c of live) killClusterSync(c);
      live.clear();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * A detached shell that outlives a SIGKILLed test process: once our PID is gone it kills the daemons.
 * stop() and the exit hook kill it first, so it only acts when nothing else could.
 */
function spawnWatchdog(dir: string, pids: number[]): number | undefined {
  const script =
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done; shift; d=$1; shift; kill -9 "$@" 2>/dev/null; rm -rf "$d"';
  const child = spawn('bash', ['-c', script, 'rgw-watchdog', String(process.pid), dir, ...pids.map(String)], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** A zombie still answers kill(pid, 0), but it holds no ports or memory: treat it as gone. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isRunning);
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(isRunning);
  }
  return alive;
}

async function tail(file: string, lines: number): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '(missing)';
  }
}

async function logTails(cdir: string): Promise<string> {
  const logDir = join(cdir, 'log');
  let names: string[] = [];
  try {
    names = (await readdir(logDir)).sort();
  } catch {
    return `(no log dir at ${logDir})`;
  }
  const parts: string[] = [];
  for (const n of names) parts.push(`--- ${n} (tail) ---\n${await tail(join(logDir, n), 25)}`);
  return parts.join('\n');
}

/** PIDs from whatever pid files exist: a failed start may not have written DIR/pids. */
async function pidsFromRunDir(cdir: string): Promise<number[]> {
  const runDir = join(cdir, 'run');
  let names: string[] = [];
  try {
    names = await readdir(runDir);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const n of names.filter((x) => x.endsWith('.pid'))) {
    const pid = Number((await readFile(join(runDir, n), 'utf8')).trim());
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

interface Attempt {
  cluster: Cluster;
  port: number;
}

async function attemptStart(store: RadosgwStore): Promise<Attempt> {
  const dir = await mkdtemp(join(tmpdir(), 'rgw-'));
  const cdir = join(dir, 'c');
  const [port, monPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    STORE: store,
    MONPORT: String(monPort),
    RGW_ACCESS_KEY: RGW_ACCESS_KEY_ID,
    RGW_SECRET_KEY: RGW_SECRET_ACCESS_KEY,
  };
  const result = await new Promise<{ error: Error | null; stderr: string }>((resolve) => {
    execFile(
      'bash',
      [SCRIPT, cdir, String(port)],
      { env, timeout: START_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 },
      (error, _stdout, stderr) => resolve({ error, stderr: String(stderr) }),
    );
  });
  if (result.error) {
    // The script's trap kills what it started, but not if the script itself was killed on timeout.
    const pids = await pidsFromRunDir(cdir);
    for (const pid of pids) killQuietly(pid);
    await waitGone(pids, STOP_TIMEOUT_MS);
    const detail = [
      // execFile's message repeats the whole stderr; the first line (the command) is enough here.
      `ceph-up.sh failed (store=${store}, rgw port ${port}, mon port ${monPort}): ${result.error.message.split('\n')[0]}`,
      `--- ceph-up.sh stderr (tail) ---\n${result.stderr.split('\n').slice(-20).join('\n')}`,
      await logTails(cdir),
    ].join('\n');
    await rm(dir, { recursive: true, force: true });
    throw new Error(detail);
  }
  const pids = (await readFile(join(cdir, 'pids'), 'utf8'))
    .trim()
    .split(/\s+/)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const cluster: Cluster = { dir, pids, watchdog: undefined };
  live.add(cluster);
  cluster.watchdog = spawnWatchdog(dir, pids);
  return { cluster, port };
}

async function stopCluster(c: Cluster): Promise<void> {
  if (!live.delete(c)) return;
  if (c.watchdog !== undefined) killQuietly(c.watchdog);
  // Throwaway data, so SIGKILL: SIGTERM takes ~6.6 s for the three daemons to exit.
  for (const pid of c.pids) killQuietly(pid);
  const alive = await waitGone(c.pids, STOP_TIMEOUT_MS);
  await rm(c.dir, { recursive: true, force: true });
  if (alive.length > 0) throw new Error(`radosgw daemons still running after SIGKILL: ${alive.join(' ')}`);
}

/**
 * Starts mon + OSD + RGW on free loopback ports and creates a bucket. Retries one failed start (the doc's
 * intermittent OSD failure), then throws with the ceph log tails: CI must fail, never skip, without S3.
 */
export async function startRadosgw(opts: RadosgwOptions = {}): Promise<Radosgw> {
  installHooks();
  const store = opts.store ?? 'memstore';
  const bucket = opts.bucket ?? 'uploads';
  const t0 = performance.now();
  let attempt: Attempt | undefined;
  let attempts = 0;
  const failures: string[] = [];
  while (attempt === undefined && attempts < 2) {
    attempts++;
    try {
      attempt = await attemptStart(store);
    } catch (err) {
      failures.push(`attempt ${attempts}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (attempt === undefined) {
    throw new Error(`radosgw did not start after ${attempts} attempts\n${failures.join('\n\n')}`);
  }
  const { cluster, port } = attempt;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: RGW_ACCESS_KEY_ID, secretAccessKey: RGW_SECRET_ACCESS_KEY },
  });

  const getBody = async (key: string, b: string) => {
    const out = await client.send(new GetObjectCommand({ Bucket: b, Key: key }));
    if (!out.Body) throw new Error(`GetObject ${b}/${key} returned no body`);
    return out.Body;
  };

  const rgw: Radosgw = {
    endpoint,
    region: 'us-east-1',
    accessKeyId: RGW_ACCESS_KEY_ID,
    secretAccessKey: RGW_SECRET_ACCESS_KEY,
    bucket,
    store,
    startMs: 0,
    attempts,
    pids: cluster.pids,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async getObject(key, b = bucket) {
      return Buffer.from(await (await getBody(key, b)).transformToByteArray());
    },
    async objectStream(key, b = bucket) {
      // In Node the SDK's body is an http.IncomingMessage, which is a Readable.
      return (await getBody(key, b)) as unknown as Readable;
    },
    async listKeys(prefix, b = bucket) {
      const out = await client.send(new ListObjectsV2Command({ Bucket: b, Prefix: prefix }));
      return (out.Contents ?? []).map((o) => o.Key ?? '');
    },
    async stop() {
      client.destroy();
      await stopCluster(cluster);
    },
  };
  try {
    await rgw.createBucket(bucket);
  } catch (err) {
    const logs = await logTails(join(cluster.dir, 'c'));
    await rgw.stop().catch(() => {});
    throw new Error(`radosgw started but CreateBucket ${bucket} failed: ${String(err)}\n${logs}`);
  }
  rgw.startMs = Math.round(performance.now() - t0);
  return rgw;
}
