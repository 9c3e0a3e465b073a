import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { writeFileAtomically, writeTextAtomically } from './adapters/atomic-file.js';
import type { AuthApi, BackendApi } from './adapters/backend-api.js';
import { type Clock, systemClock } from './adapters/clock.js';
import type { ConfigStore } from './adapters/config-store.js';
import type { DirectApi } from './adapters/direct-api.js';
import type { ExportSource } from './adapters/export-source.js';
import { type LockOwner, withFileLock } from './adapters/file-lock.js';
import type { HttpClient } from './adapters/http.js';
import type { ImportApi } from './adapters/import-api.js';
import type { LedgerFiles } from './adapters/ledger.js';
import type { OpenApiReader } from './adapters/openapi.js';
import type { S3PostOptions, S3PostResult } from './adapters/s3-post.js';
import type { S3PutOptions } from './adapters/s3-put.js';
import { type Env, parseEnv } from './config/env.js';
import { type GlobalOptions, isLoopback, resolveSettings, type Settings } from './config/settings.js';
import type { Session } from './core/auth/session.js';
import type { SyncFeed } from './core/sync/follow.js';
import type { SdkCredential } from './core/upload/sdk/auth.js';
import type { SdkRoute, UploadPorts } from './core/upload/types.js';
import { type Io, refineIo, usableWidth } from './io/io.js';
import { Output, type Verbosity } from './io/output.js';
import { Redactor } from './io/redact.js';

/** The adapters that load zod (factory-ports.ts), handed to createFactory unless the command is local. */
export type Ports = typeof import('./factory-ports.js');

/** What the process hands to main(): the only way the outside world reaches the program. */
export interface System {
  env: Record<string, string | undefined>;
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Aborted on SIGINT. */
  signal?: AbortSignal;
  clock?: Clock;
  /** undici dispatcher override (tests use short keep-alive). */
  dispatcher?: Dispatcher;
  /** Overrides TTY detection, for tests. */
  tty?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  /** This process's pid and a liveness probe for other pids (the cross-process lock's owner). */
  host?: LockOwner;
}

/** Writing files so that nobody sees half of one (adapters/atomic-file.ts). */
export interface AtomicFiles {
  write(
    file: string,
    fill: (tmpPath: string) => Promise<void>,
    opts?: { replace?: boolean },
  ): Promise<{ bytes: number }>;
  writeText(file: string, text: string): Promise<void>;
}

/**
 * Every port a command may use, built once the global flags are parsed (GitHub CLI's Factory): the only
 * place adapters are constructed. The cheap parts are made at once; the rest on first use, once per run.
 * Clients to the backend carry the session's credential themselves (refreshed, and retried once after a
 * 401), so no call site handles auth headers.
 */
export interface Factory {
  readonly version: string;
  readonly env: Env;
  readonly io: Io;
  readonly out: Output;
  readonly redactor: Redactor;
  /** The run's interrupt (Ctrl-C). */
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly globals: GlobalOptions;
  readonly userAgent: string;
  /** Settings resolved flag > env > profile > default; `user` is the command's `--user`. */
  settings(flags?: { user?: string | undefined }): Settings;
  configStore(): ConfigStore;
  session(): Session;
  /** Login, refresh, revoke, and proving an API key: the routes that take no stored credential. */
  authApi(): AuthApi;
  /** The developer's and the users' routes. */
  backend(): BackendApi;
  /** The S3 import routes (presign). */
  imports(): ImportApi;
  /** The direct import route, on a client the run's interrupt does not tear down (the sender decides). */
  directImports(): DirectApi;
  /** One user's sync-status feed. */
  syncFeed(userId: string): SyncFeed;
  /** The SDK sync route for a user, with an API key or an SDK token (minted from a login). */
  sdkRoute(userId: string): SdkRoute;
  /** The ledger's folder in the config directory. */
  ledgerFiles(): LedgerFiles;
  /** Resolves an export path (xml, zip or folder). */
  openExport(path: string): Promise<ExportSource>;
  /** One presigned POST to S3 (node:http, loaded on first use). */
  s3Post(opts: S3PostOptions): Promise<S3PostResult>;
  /** One part's presigned PUT to S3. */
  s3Put(opts: S3PutOptions): Promise<S3PostResult>;
  /** What servers advertise in /openapi.json, cached per server in the config folder. */
  openApi(): OpenApiReader;
  /** Everything an upload method uses (core/upload/types.ts). */
  uploadPorts(): UploadPorts;
  readonly files: AtomicFiles;
}

export function baseIo(system: System): Io {
  const stdinIsTTY = system.tty?.stdin ?? Boolean(system.stdin.isTTY);
  const stdoutIsTTY = system.tty?.stdout ?? Boolean(system.stdout.isTTY);
  const stderrIsTTY = system.tty?.stderr ?? Boolean(system.stderr.isTTY);
  return {
    stdin: system.stdin,
    stdout: system.stdout,
    stderr: system.stderr,
    stdinIsTTY,
    stdoutIsTTY,
    stderrIsTTY,
    stdoutColor: false,
    stderrColor: false,
    interactive: false,
    progress: 'none',
    stderrColumns: system.stderr.columns,
    columns: usableWidth(system.stderr.columns) ?? usableWidth(system.stdout.columns) ?? 80,
  };
}

export function createFactory(
  system: System,
  globals: GlobalOptions,
  version: string,
  redactor = new Redactor(),
  ports?: Ports,
): Factory {
  return new AppFactory(system, globals, version, redactor, ports);
}

class AppFactory implements Factory {
  readonly env: Env;
  readonly io: Io;
  readonly out: Output;
  readonly signal: AbortSignal;
  readonly clock: Clock;
  readonly userAgent: string;
  readonly files: AtomicFiles = { write: writeFileAtomically, writeText: writeTextAtomically };
  private readonly dispatcher: Dispatcher | undefined;
  private readonly host: LockOwner | undefined;
  private readonly settingsByUser = new Map<string, Settings>();
  private store: ConfigStore | undefined;
  private http: HttpClient | undefined;
  private sessionPart: Session | undefined;
  private authed: HttpClient | undefined;
  private uninterruptible: HttpClient | undefined;
  private ledger: LedgerFiles | undefined;
  private openApiReader: OpenApiReader | undefined;

  constructor(
    system: System,
    readonly globals: GlobalOptions,
    readonly version: string,
    readonly redactor: Redactor,
    private readonly loaded?: Ports,
  ) {
    this.env = parseEnv(system.env);
    this.io = refineIo(
      baseIo(system),
      { noColorEnv: this.env.noColor, forceColor: this.env.forceColor, ci: this.env.ci, term: this.env.term },
      { color: globals.color, quiet: globals.quiet, json: globals.json, progress: globals.progress },
    );
    const debug = globals.debug || this.env.debug;
    const verbosity: Verbosity = debug
      ? 'debug'
      : globals.quiet
        ? 'quiet'
        : globals.verbose
          ? 'verbose'
          : 'normal';
    for (const s of [globals.apiKey, globals.token, this.env.apiKey, this.env.token]) redactor.add(s);
    this.out = new Output(this.io, redactor, verbosity, globals.json);
    this.signal = system.signal ?? new AbortController().signal;
    this.clock = system.clock ?? systemClock;
    this.dispatcher = system.dispatcher;
    this.host = system.host;
    this.userAgent = `apple-import/${version}`;
  }

  /** The backend and config adapters; a local command (RunState.markLocal) has none and must not ask. */
  private get ports(): Ports {
    if (this.loaded === undefined)
      throw new Error('internal: a command marked local asked for a backend or config adapter');
    return this.loaded;
  }

  settings(flags: { user?: string | undefined } = {}): Settings {
    const key = flags.user ?? '';
    let s = this.settingsByUser.get(key);
    if (!s) {
      s = resolveSettings({ ...this.globals, user: flags.user }, this.env, this.configStore());
      this.settingsByUser.set(key, s);
    }
    return s;
  }

  configStore(): ConfigStore {
    this.store ??= new this.ports.ConfigStore(this.env.configDir);
    return this.store;
  }

  private server(): string {
    return this.settings().server.value;
  }

  /** The anonymous client, built once; a plain-http server other than loopback gets a warning then. */
  private anonymous(): HttpClient {
    if (this.http) return this.http;
    const server = this.server();
    if (server.startsWith('http://') && !isLoopback(server) && !this.globals.insecure) {
      this.out.warn(
        `${server} uses plain http: credentials travel unencrypted (use --insecure to silence this).`,
      );
    }
    this.http = this.newClient(true);
    return this.http;
  }

  private newClient(interruptible: boolean): HttpClient {
    return new this.ports.HttpClient({
      baseUrl: this.server(),
      dispatcher: this.dispatcher,
      ...(interruptible ? { signal: this.signal } : {}),
      userAgent: this.userAgent,
      debug: (m) => this.out.debug(m),
    });
  }

  authApi(): AuthApi {
    return new this.ports.AuthApi(this.anonymous());
  }

  session(): Session {
    if (this.sessionPart) return this.sessionPart;
    const settings = this.settings();
    const store = this.configStore();
    const auth = this.authApi();
    const lockPath = join(store.dir, 'credentials.lock');
    this.sessionPart = new this.ports.Session({
      server: settings.server.value,
      profile: settings.profile.value,
      clock: this.clock,
      flag: {
        apiKey: settings.apiKey?.value,
        apiKeySource: sourceOf(settings.apiKey),
        token: settings.token?.value,
        tokenSource: sourceOf(settings.token),
      },
      store,
      refresh: (refreshToken) => auth.refresh({ refreshToken, signal: this.signal }),
      withLock: (fn) =>
        withFileLock(
          lockPath,
          { clock: this.clock, signal: this.signal, ...(this.host ? { owner: this.host } : {}) },
          fn,
        ),
      registerSecret: (s) => this.redactor.add(s),
    });
    return this.sessionPart;
  }

  private authedClient(): HttpClient {
    this.authed ??= this.anonymous().withAuth(this.session());
    return this.authed;
  }

  backend(): BackendApi {
    return new this.ports.BackendApi(this.authedClient());
  }

  imports(): ImportApi {
    return new this.ports.ImportApi(this.authedClient());
  }

  directImports(): DirectApi {
    this.anonymous();
    this.uninterruptible ??= this.newClient(false).withAuth(this.session());
    return new this.ports.DirectApi(this.uninterruptible);
  }

  syncFeed(userId: string): SyncFeed {
    const api = new this.ports.SyncApi(this.authedClient());
    return {
      stream: (replay, signal, onOpen) => api.stream({ userId, replay, signal, onOpen }),
      recent: (limit, signal) => api.recent({ userId, limit, signal }),
    };
  }

  private sdkCredential(): SdkCredential {
    const c = this.session().require();
    if (c.kind === 'api-key') return { kind: 'api-key', apiKey: c.apiKey };
    return { kind: 'bearer', token: c.kind === 'token' ? c.token : c.stored.accessToken };
  }

  sdkRoute(userId: string): SdkRoute {
    const minting = new this.ports.SdkApi(this.authedClient());
    const credential = () => this.sdkCredential();
    const auth = new this.ports.SdkAuthorizer(
      {
        credential,
        mint: (id) => minting.mintToken(id, this.signal),
        clock: this.clock,
        registerSecret: (s) => this.redactor.add(s),
      },
      userId,
    );
    // The sender decides when Ctrl-C tears a request down (core/upload/sdk/sender.ts).
    this.anonymous();
    const api = new this.ports.SdkApi(this.newClient(false).withAuth(auth));
    return {
      sync: (body, requestId, signal) => api.sync({ userId, body, requestId, signal }),
      mode: () => auth.mode,
    };
  }

  ledgerFiles(): LedgerFiles {
    this.ledger ??= new this.ports.LedgerFiles(join(this.configStore().dir, 'ledger'));
    return this.ledger;
  }

  async openExport(path: string): Promise<ExportSource> {
    const { openExport } = await import('./adapters/export-source.js');
    return openExport(path);
  }

  async s3Post(opts: S3PostOptions): Promise<S3PostResult> {
    const { postToS3 } = await import('./adapters/s3-post.js');
    return postToS3(opts);
  }

  async s3Put(opts: S3PutOptions): Promise<S3PostResult> {
    const { putPartToS3 } = await import('./adapters/s3-put.js');
    return putPartToS3(opts);
  }

  openApi(): OpenApiReader {
    this.openApiReader ??= new this.ports.OpenApiReader(
      this.anonymous(),
      join(this.configStore().dir, 'servers'),
      () => this.clock.now(),
    );
    return this.openApiReader;
  }

  uploadPorts(): UploadPorts {
    const server = this.server();
    return {
      users: this.backend(),
      summaries: this.backend(),
      openExport: (p) => this.openExport(p),
      ledger: this.ledgerFiles(),
      clock: this.clock,
      signal: this.signal,
      userAgent: this.userAgent,
      imports: this.imports(),
      s3Post: (o) => this.s3Post(o),
      s3Put: (o) => this.s3Put(o),
      serverInfo: (signal) => this.openApi().read(server, signal),
      learnCompletionMode: (mode) => this.openApi().learnCompletionMode(server, mode),
      directImports: this.directImports(),
      feed: (userId) => this.syncFeed(userId),
      sdk: (userId) => this.sdkRoute(userId),
      sdkTokenUser: () => this.ports.SdkAuthorizer.tokenUser(this.sdkCredential()),
      batchOutput: async (path, format) =>
        (await import('./adapters/batch-output.js')).openBatchOutput(path, format),
    };
  }
}

function sourceOf(r: { source: string } | undefined): 'flag' | 'env' | undefined {
  return r === undefined ? undefined : r.source === 'env' ? 'env' : 'flag';
}
