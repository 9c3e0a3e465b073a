/**
 * `npm run bench:startup`: how long a small command keeps the user waiting, the built CLI as a whole
 * process (spawn to exit) next to `node -e 0` (Node's own start-up, the floor) in the same run: `--version`,
 * `validate` of a 1 MB export (`--json`), `whoami` (`--json`) against a warm backend double served from this
 * process, and three uploads (`--force --json`): the 1 MB export by `--method direct`, and a 20 MB one by
 * multipart (a current backend) and by presigned POST (a backend before August 2026), both to the
 * sandbox's S3. For an upload the time from spawn to the first byte of the export reaching the backend or
 * S3 is printed too (pass-through proxies in front of them see it). Runs alternate, the order rotating every round; medians are printed.
 *
 * `--baseline <bin/apple-import.js of another build>` runs every command of that build too, alternating
 * with this one's in the same rounds, for a before/after comparison under the same load.
 *
 * Usage: npm run bench:startup [-- --rounds 15] [-- --baseline /path/to/other/bin/apple-import.js]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { writeExportFile } from '../src/generator/index.js';
import { type BackendDouble, startBackendDouble } from '../src/sandbox/backend/index.js';
import { listen } from '../src/sandbox/listen.js';
import { startS3Server } from '../src/sandbox/s3/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const rounds = roundsAt === -1 ? 15 : Number(args[roundsAt + 1]);
const CLI = join(root, 'bin', 'apple-import.js');
const baselineAt = args.indexOf('--baseline');
const BASELINE = baselineAt === -1 ? undefined : args[baselineAt + 1];

const dir = await mkdtemp(join(tmpdir(), 'bench-startup-'));
const xml = join(dir, 'export.xml');
await writeExportFile(xml, { seed: 1, targetBytes: 1_000_000 });
const big = join(dir, 'export-20mb.xml');
await writeExportFile(big, { seed: 1, targetBytes: 20_000_000 });

/** When the export's first byte reached the backend or S3, for the upload run now in progress. */
let firstByteAt: number | undefined;

/** A pass-through proxy in front of `target` (Host kept, so S3 signatures still match) that sees that byte. */
async function proxyTo(target: string, carriesExport: (method: string, path: string) => boolean) {
  const to = new URL(target);
  const proxy = createServer((req, res) => {
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    if (carriesExport(req.method ?? '', req.url ?? ''))
      req.once('data', () => {
        firstByteAt ??= performance.now();
      });
    req.pipe(upstream);
  });
  return { url: await listen(proxy, 0, '127.0.0.1'), close: () => proxy.close() };
}

const keys = { accessKeyId: 'bench', secretAccessKey: 'bench-secret' };
const s3 = await startS3Server({ bucket: 'bench', region: 'us-east-1', ...keys });
const s3Proxy = await proxyTo(s3.endpoint, (m) => m === 'PUT' || m === 'POST');
const s3Settings = {
  endpoint: s3.endpoint,
  publicEndpoint: s3Proxy.url,
  bucket: 'bench',
  region: 'us-east-1',
  ...keys,
};
const current = await startBackendDouble({ s3: s3Settings });
const before = await startBackendDouble({ s3: s3Settings, generation: '2026-08' });
const currentProxy = await proxyTo(
  current.url,
  (m, path) => m === 'POST' && /\/import\/apple\/xml\/direct/.test(path),
);

function envFor(backend: BackendDouble, server: string, name: string) {
  return {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    NO_COLOR: '1',
    APPLE_IMPORT_CONFIG_DIR: join(dir, `config-${name}`),
    APPLE_IMPORT_SERVER: server,
    APPLE_IMPORT_API_KEY: backend.createApiKey('bench'),
  };
}
const onCurrent = envFor(current, currentProxy.url, 'current');
const onBefore = envFor(before, before.url, 'before');
const userNow = current.createUser({ email: 'dana@example.com' }).id;
const userBefore = before.createUser({ email: 'dana@example.com' }).id;

interface Contender {
  name: string;
  argv: string[];
  env: Record<string, string>;
  firstByte?: boolean;
}
const upload = (file: string, user: string, ...more: string[]) => [
  CLI,
  'upload',
  file,
  '--user',
  user,
  '--force',
  '--full',
  '--json',
  ...more,
];
const ours: Contender[] = [
  { name: 'node -e 0', argv: ['-e', '0'], env: onCurrent },
  { name: '--version', argv: [CLI, '--version'], env: onCurrent },
  { name: 'validate 1 MB --json', argv: [CLI, 'validate', xml, '--json'], env: onCurrent },
  { name: 'whoami --json', argv: [CLI, 'whoami', '--json'], env: onCurrent },
  {
    name: 'upload 1 MB (direct)',
    argv: upload(xml, userNow, '--method', 'direct'),
    env: onCurrent,
    firstByte: true,
  },
  { name: 'upload 20 MB (multipart)', argv: upload(big, userNow), env: onCurrent, firstByte: true },
  { name: 'upload 20 MB (POST)', argv: upload(big, userBefore), env: onBefore, firstByte: true },
];
// The other build's runs come as a block after this one's, in the same order: each run follows the
// same kind of run in both (an upload leaves the sandbox importing what it was sent for a while).
const twinOf = new Map<Contender, Contender>();
for (const c of ours)
  if (BASELINE && c.argv[0] === CLI)
    twinOf.set(c, { ...c, name: `${c.name} [baseline]`, argv: [BASELINE, ...c.argv.slice(1)] });
const contenders: Contender[] = [...ours, ...twinOf.values()];

async function run(c: Contender): Promise<{ ms: number; firstByteMs?: number }> {
  firstByteAt = undefined;
  const start = performance.now();
  const child = spawn(process.execPath, c.argv, { env: c.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const [code] = (await once(child, 'close')) as [number | null];
  const ms = performance.now() - start;
  if (code !== 0) throw new Error(`${c.name} exited ${code}: ${stderr}`);
  if (!c.firstByte) return { ms };
  if (firstByteAt === undefined)
    throw new Error(`${c.name}: no byte of the export reached the backend: ${stderr}`);
  return { ms, firstByteMs: firstByteAt - start };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

try {
  // Warm the server, the page cache and the CLI's cached openapi document first.
  for (const c of contenders) await run(c);
  const times = new Map(contenders.map((c) => [c.name, [] as { ms: number; firstByteMs?: number }[]]));
  for (let r = 0; r < rounds; r++)
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(i + r) % contenders.length]!;
      times.get(c.name)!.push(await run(c));
    }
  console.log(
    `start-up, ${rounds} alternating rounds, medians (load average ${loadavg()[0]!.toFixed(2)} at the end):`,
  );
  const floor = median(times.get('node -e 0')!.map((t) => t.ms));
  for (const c of ours.flatMap((o) => [o, ...(twinOf.has(o) ? [twinOf.get(o)!] : [])])) {
    const ts = times.get(c.name)!;
    const ms = median(ts.map((t) => t.ms));
    const extra = c.name === 'node -e 0' ? '' : `   (${(ms - floor).toFixed(0)} ms over Node's own)`;
    console.log(`  ${c.name.padEnd(37)} whole run ${ms.toFixed(0).padStart(4)} ms${extra}`);
    if (c.firstByte)
      console.log(
        `  ${''.padEnd(37)} first byte of the export at the backend or S3 ${median(ts.map((t) => t.firstByteMs!)).toFixed(0)} ms after spawn`,
      );
  }
} finally {
  currentProxy.close();
  s3Proxy.close();
  await current.close();
  await before.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
}
