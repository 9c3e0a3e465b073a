// `apple-import sandbox`: the backend double plus the local S3 endpoint, wired as a real deployment wires them:
// the backend signs URLs for the S3 endpoint, and each object S3 stores (a `.xml` key, as the AWS guide's
// event filter has it) is reported to the backend, standing in for S3 → SNS → `/sns/notification`. What the
// backend then does depends on its generation and completion mode, exactly as a real server's would: a
// current server in client mode imports only multipart uploads finished with `/complete`, in sns mode every
// object; a server before August 2026 imports every object (without sync events, as it did).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import {
  type BackendDouble,
  type CompletionMode,
  type Generation,
  type S3ImportTask,
  startBackendDouble,
} from './backend/index.js';
import { type S3Server, type StoredObject, startS3Server } from './s3/server.js';

/** The CLI's default server is http://localhost:8000, so that is where the sandbox serves when it can. */
export const DEFAULT_SANDBOX_PORT = 8000;

export interface SandboxOptions {
  /** Loopback only by default; the credentials it prints travel in clear. */
  host?: string;
  /**
   * Backend port. Absent: 8000 when free, else any free port (`info.port_note` says so). Given (0 = any free
   * port): that port, or a UsageError when it is taken.
   */
  port?: number;
  /** The port tried first when `port` is absent; default 8000 (tests set their own). */
  defaultPort?: number;
  /** S3 endpoint port; 0 (default) picks a free one. */
  s3Port?: number;
  /**
   * Where objects and the sandbox's accounts, API key, users and logins live; kept across restarts (the same
   * credentials and users come back). Default: a temp dir removed on close.
   */
  dataDir?: string;
  /** Which backend to be; default `current`. */
  generation?: Generation;
  /** A current backend's completion mode; default `client`. */
  completionMode?: CompletionMode;
  /**
   * The double keeps every imported row in memory, so an S3 object bigger than this fails its import with a
   * reason saying so. Default 256 MiB.
   */
  maxImportBytes?: number;
  /** One call per S3 import task, once it has finished or was skipped. */
  onImport?: (event: SandboxImportEvent) => void;
}

export interface SandboxImportEvent {
  key: string;
  /** The object's size when the sandbox's S3 holds it. */
  size: number | null;
  /** First key segment (contract §2.6). */
  userId: string;
  status: 'completed' | 'failed' | 'skipped';
  /** Items the import parsed (records, workouts, sleep samples) when completed. */
  items: number | null;
  /** Why it failed or was skipped. */
  reason: string | null;
}

export interface SandboxUser {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
}

/** Everything a client needs; also the `--json` document. */
export interface SandboxInfo {
  url: string;
  api_key: string;
  developer: { email: string; password: string };
  users: SandboxUser[];
  s3: { endpoint: string; bucket: string; region: string };
  /** What kind of backend this is, as a client detects it from /openapi.json. */
  backend: { generation: Generation; completion_mode: CompletionMode | null; max_file_size: number };
  data_dir: string;
  /** Whether data_dir outlives the sandbox (given with --data-dir). */
  data_dir_kept: boolean;
  /** Set when the default port was taken and another one is used. */
  port_note: string | null;
  commands: { env: string; login: string };
}

export interface Sandbox {
  info: SandboxInfo;
  backend: BackendDouble;
  s3: S3Server;
  /** Resolves when every import queued so far (S3 objects, direct uploads, SDK batches) has finished. */
  idle(): Promise<void>;
  /** Stops both servers (a running import ends unfinished); removes the data dir unless it was given. */
  close(): Promise<void>;
}

export const SANDBOX_BUCKET = 'apple-health-uploads';
export const SANDBOX_REGION = 'us-east-1';
const DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024;

const SEED_USERS = [
  { email: 'dana@example.com', first_name: 'Dana', last_name: 'Sandbox' },
  { email: 'sam@example.com', first_name: 'Sam', last_name: 'Sandbox' },
] as const;

/** The credentials a kept data dir reuses, so saved logins, keys and presigned URLs stay valid. */
interface Identity {
  accessKeyId: string;
  secretAccessKey: string;
  developer: { email: string; password: string };
  apiKey: string | null;
  users: SandboxUser[];
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

function newIdentity(): Identity {
  return {
    accessKeyId: `AKIASANDBOX${randomBytes(5).toString('hex').toUpperCase()}`.slice(0, 20),
    secretAccessKey: randomBytes(30).toString('base64url'),
    developer: { email: 'developer@sandbox.local', password: randomBytes(12).toString('base64url') },
    apiKey: null,
    users: [],
  };
}

async function loadIdentity(file: string | null): Promise<Identity> {
  if (!file) return newIdentity();
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Identity;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return newIdentity();
    throw err;
  }
}

function isAddressInUse(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

function portInUse(port: number, flag: string): UsageError {
  return new UsageError(`Port ${port} is already in use, so the sandbox cannot listen there.`, {
    hint: `Stop what is using it, or pick another port: ${flag} 0 takes any free one.`,
  });
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const generation = opts.generation ?? 'current';
  const kept = opts.dataDir !== undefined;
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const identityFile = opts.dataDir ? join(opts.dataDir, 'sandbox.json') : null;
  const identity = await loadIdentity(identityFile);

  let backend: BackendDouble | undefined;
  const s3 = await startS3Server({
    host,
    port: opts.s3Port ?? 0,
    dataDir: opts.dataDir,
    bucket: SANDBOX_BUCKET,
    region: SANDBOX_REGION,
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
    // The S3 event notification, filtered on the `.xml` suffix as the backend's AWS guide sets it up.
    onObjectCreated: (object: StoredObject) => {
      if (object.key.endsWith('.xml')) backend?.notifyObjectCreated(object.key);
    },
  }).catch((err: unknown) => {
    if (isAddressInUse(err)) throw portInUse(opts.s3Port ?? 0, '--s3-port');
    throw err;
  });

  // Reports still being put together (they read the object's size); idle() waits for them.
  const reporting = new Set<Promise<void>>();
  const report = async (task: S3ImportTask) => {
    const size = (await s3.stat(task.key).catch(() => undefined))?.size ?? null;
    opts.onImport?.({
      key: task.key,
      size,
      userId: task.userId,
      status: task.status === 'completed' ? 'completed' : task.status === 'skipped' ? 'skipped' : 'failed',
      items: task.status === 'completed' ? task.items : null,
      reason: task.error ?? task.reason ?? null,
    });
  };

  const start = (port: number) =>
    startBackendDouble({
      host,
      port,
      generation,
      completionMode: opts.completionMode,
      s3: {
        endpoint: s3.endpoint,
        bucket: SANDBOX_BUCKET,
        region: SANDBOX_REGION,
        accessKeyId: identity.accessKeyId,
        secretAccessKey: identity.secretAccessKey,
        notifies: true,
      },
      seed: { developers: [identity.developer] },
      maxImportBytes: opts.maxImportBytes ?? DEFAULT_MAX_IMPORT_BYTES,
      onS3Import: (task) => {
        const done = report(task).finally(() => reporting.delete(done));
        reporting.add(done);
      },
      stateFile: opts.dataDir ? join(opts.dataDir, 'sandbox-state.json') : undefined,
    });
  let portNote: string | null = null;
  try {
    if (opts.port !== undefined) {
      backend = await start(opts.port).catch((err: unknown) => {
        throw isAddressInUse(err) ? portInUse(opts.port as number, '--port') : err;
      });
    } else {
      const preferred = opts.defaultPort ?? DEFAULT_SANDBOX_PORT;
      backend = await start(preferred).catch(async (err: unknown) => {
        if (!isAddressInUse(err)) throw err;
        const fallback = await start(0);
        portNote =
          `Port ${preferred} is in use, so the sandbox took ${new URL(fallback.url).port}: point the CLI ` +
          `at the URL it prints (or free ${preferred} and restart).`;
        return fallback;
      });
    }
  } catch (err) {
    await s3.close();
    throw err;
  }
  const double = backend;

  // First start: an API key and two users to try things with; a kept data dir brings the same ones back.
  if (identity.apiKey === null || !double.state.apiKeys.has(identity.apiKey)) {
    identity.apiKey = double.createApiKey('sandbox');
  }
  const known = new Set(double.state.users.map((u) => u.id));
  if (identity.users.length === 0 || !identity.users.every((u) => known.has(u.id))) {
    identity.users = SEED_USERS.map((u) => {
      const existing = double.state.users.find((x) => x.email === u.email);
      return { id: (existing ?? double.createUser({ ...u })).id, ...u };
    });
  }
  if (identityFile) await writeFile(identityFile, JSON.stringify(identity, null, 2), { mode: 0o600 });

  // `localhost` on the default port is exactly the CLI's default server, so no --server is needed.
  const port = new URL(double.url).port;
  const url =
    host === '127.0.0.1' && port === String(DEFAULT_SANDBOX_PORT) ? `http://localhost:${port}` : double.url;
  const apiKey = identity.apiKey;
  const info: SandboxInfo = {
    url,
    api_key: apiKey,
    developer: identity.developer,
    users: identity.users,
    s3: { endpoint: s3.endpoint, bucket: SANDBOX_BUCKET, region: SANDBOX_REGION },
    backend: {
      generation,
      completion_mode: generation === 'current' ? double.completionMode : null,
      max_file_size: generation === 'current' ? 5 * 1024 ** 3 : 1024 ** 3,
    },
    data_dir: s3.dataDir,
    data_dir_kept: kept,
    port_note: portNote,
    commands: {
      env: `export APPLE_IMPORT_SERVER=${shellQuote(url)} APPLE_IMPORT_API_KEY=${shellQuote(apiKey)}`,
      login:
        `printf '%s\\n' ${shellQuote(identity.developer.password)} | apple-import login --server ${shellQuote(url)} ` +
        `--email ${shellQuote(identity.developer.email)} --password-stdin`,
    },
  };

  return {
    info,
    backend: double,
    s3,
    idle: async () => {
      await double.idle();
      await Promise.all(reporting);
    },
    async close() {
      // The backend first: its close ends the running import, which still reads from S3.
      await double.close();
      await s3.close();
    },
  };
}
