// `apple-import sandbox`: the backend double plus the local S3 endpoint, wired together the way a real
// deployment wires S3 → SNS → `process_aws_upload` (contract §2.6), so an S3 upload is imported without AWS.
// Deviation on purpose: the real S3 path emits no sync events (§2.6 step 5); the sandbox emits the direct
// path's started/completed/failed events so `apple-import status` can show what happened.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type BackendDouble, startBackendDouble } from './backend/index.js';
import { canonicalUuid } from './backend/validation.js';
import { type S3Server, type StoredObject, startS3Server } from './s3/server.js';

export interface SandboxOptions {
  /** Loopback only by default; the credentials it prints travel in clear. */
  host?: string;
  /** Backend port; 0 (default) picks a free one. */
  port?: number;
  /** S3 endpoint port; 0 (default) picks a free one. */
  s3Port?: number;
  /** Where uploaded objects are kept; default a temp dir removed on close. */
  dataDir?: string;
  /**
   * The import task reads an object into memory (the double's parser takes a Buffer, and V8 strings stop at
   * ~512 MiB), so bigger objects get a `failed` event saying so instead of exhausting memory. Default 256 MiB.
   */
  maxImportBytes?: number;
  /** One call per S3 object, once its import has finished or was skipped. */
  onImport?: (event: SandboxImportEvent) => void;
}

export interface SandboxImportEvent {
  key: string;
  size: number;
  /** First key segment (contract §2.6); null when the key has fewer than 3 segments. */
  userId: string | null;
  status: 'completed' | 'failed' | 'skipped';
  /** Items the import stored (records, workouts, sleep samples) when completed. */
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
  data_dir: string;
  /** Whether data_dir outlives the sandbox (given with --data-dir). */
  data_dir_kept: boolean;
  commands: { env: string; login: string };
}

export interface Sandbox {
  info: SandboxInfo;
  backend: BackendDouble;
  s3: S3Server;
  /** Resolves when every import queued so far (S3 objects and direct uploads) has finished. */
  idle(): Promise<void>;
  /** Stops both servers after the running import; removes the data dir unless it was given. */
  close(): Promise<void>;
}

export const SANDBOX_BUCKET = 'apple-health-uploads';
export const SANDBOX_REGION = 'us-east-1';
const DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024;

const SEED_USERS = [
  { email: 'dana@example.com', first_name: 'Dana', last_name: 'Sandbox' },
  { email: 'sam@example.com', first_name: 'Sam', last_name: 'Sandbox' },
] as const;

function shellQuote(s: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const host = opts.host ?? '127.0.0.1';
  const maxImportBytes = opts.maxImportBytes ?? DEFAULT_MAX_IMPORT_BYTES;
  const accessKeyId = `AKIASANDBOX${randomBytes(5).toString('hex').toUpperCase()}`.slice(0, 20);
  const secretAccessKey = randomBytes(30).toString('base64url');
  const developer = { email: 'developer@sandbox.local', password: randomBytes(12).toString('base64url') };

  let backend: BackendDouble | undefined;
  // Imports run one at a time, in upload order, like a single Celery worker.
  let queue: Promise<void> = Promise.resolve();
  const enqueue = (object: StoredObject) => {
    queue = queue.then(() => importObject(object)).catch(() => {});
  };

  const importObject = async (object: StoredObject): Promise<void> => {
    const done = (
      status: SandboxImportEvent['status'],
      userId: string | null,
      rest: Partial<SandboxImportEvent>,
    ) =>
      opts.onImport?.({
        key: object.key,
        size: object.size,
        userId,
        status,
        items: null,
        reason: null,
        ...rest,
      });
    const segments = object.key.split('/');
    const filename = segments.at(-1) ?? object.key;
    // Contract §2.6: the SNS handler needs ≥3 key segments; the AWS guide filters on a `.xml` suffix.
    if (segments.length < 3) return done('skipped', null, { reason: 'key has fewer than 3 segments' });
    if (!object.key.endsWith('.xml')) return done('skipped', null, { reason: 'key does not end in .xml' });
    const keyUser = segments[0] as string;
    const userId = canonicalUuid(keyUser) ?? keyUser;
    if (!backend?.state.users.some((u) => u.id === userId)) {
      // process_aws_upload returns {"status": "skipped"} for an unknown user (§2.6 step 4).
      return done('skipped', keyUser, { reason: `no user ${keyUser}` });
    }
    if (object.size > maxImportBytes) {
      const reason = `object is ${object.size} bytes; the sandbox imports at most ${maxImportBytes} bytes per object`;
      // The task's own failure path, so the failed event looks like any other.
      await backend.importXml(userId, filename, Buffer.alloc(0), { failWith: reason });
      return done('failed', userId, { reason });
    }
    const task = await backend.importXml(userId, filename, await readFile(object.path));
    if (task.status === 'completed') {
      const items = backend.state.syncEvents
        .get(userId)
        ?.findLast((e) => e.stage === 'completed' && e.metadata.filename === filename)?.items_processed;
      return done('completed', userId, { items: typeof items === 'number' ? items : null });
    }
    return done('failed', userId, { reason: task.error ?? 'import failed' });
  };

  const s3 = await startS3Server({
    host,
    port: opts.s3Port ?? 0,
    dataDir: opts.dataDir,
    bucket: SANDBOX_BUCKET,
    region: SANDBOX_REGION,
    accessKeyId,
    secretAccessKey,
    onObjectCreated: enqueue,
  });
  try {
    backend = await startBackendDouble({
      host,
      port: opts.port ?? 0,
      s3: {
        endpoint: s3.endpoint,
        bucket: SANDBOX_BUCKET,
        region: SANDBOX_REGION,
        accessKeyId,
        secretAccessKey,
      },
      seed: { developers: [developer] },
    });
  } catch (err) {
    await s3.close();
    throw err;
  }
  const apiKey = backend.createApiKey('sandbox');
  const users = SEED_USERS.map((u) => {
    const created = backend?.createUser({ ...u }) as { id: string };
    return { id: created.id, ...u };
  });
  const url = backend.url;

  const info: SandboxInfo = {
    url,
    api_key: apiKey,
    developer,
    users,
    s3: { endpoint: s3.endpoint, bucket: SANDBOX_BUCKET, region: SANDBOX_REGION },
    data_dir: s3.dataDir,
    data_dir_kept: opts.dataDir !== undefined,
    commands: {
      env: `export APPLE_IMPORT_SERVER=${shellQuote(url)} APPLE_IMPORT_API_KEY=${shellQuote(apiKey)}`,
      login:
        `printf '%s\\n' ${shellQuote(developer.password)} | apple-import login --server ${shellQuote(url)} ` +
        `--email ${shellQuote(developer.email)} --password-stdin`,
    },
  };

  const started = backend;
  return {
    info,
    backend: started,
    s3,
    idle: async () => {
      await queue;
      await started.idle();
    },
    async close() {
      // Stop taking uploads first, then let the running import finish before the backend goes.
      await s3.close();
      await queue;
      await started.close();
    },
  };
}
