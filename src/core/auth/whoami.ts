import type { BackendApi, Developer } from '../../adapters/backend-api.js';
import type { ServerInfo } from '../../adapters/openapi.js';
import { describeBackend, viewBackend } from '../upload/s3/backend.js';
import type { Credential, Session } from './session.js';

export interface WhoamiResult {
  credential: Pick<Credential, 'kind' | 'source'>;
  /** When the access token expires, for a login or a token with an `exp`. */
  expiresAt: number | undefined;
  /** The developer behind a login or token; an API key carries no identity. */
  identity: Developer | undefined;
  /** What the server advertises for uploads, in one line (or why that is not known). */
  backend: string;
}

export interface WhoamiPorts {
  session: Session;
  backend: Pick<BackendApi, 'me' | 'listUsers'>;
  /** The server's openapi document, read (it takes no credential). */
  serverInfo(signal: AbortSignal): Promise<ServerInfo>;
  signal: AbortSignal;
}

/** Proves the credential works, says what it is and where it comes from, and what the server offers. */
export async function whoami(ports: WhoamiPorts): Promise<WhoamiResult> {
  // What the server advertises takes no credential, so it is read during the credential's round trip
  // instead of after it; a credential that fails is still what the run reports.
  const stop = new AbortController();
  const view = viewBackend(ports.serverInfo, AbortSignal.any([ports.signal, stop.signal]));
  view.catch(() => {});
  const proof = await proveCredential(ports).catch((err: unknown) => {
    stop.abort();
    throw err;
  });
  return { ...proof, backend: describeBackend(await view) };
}

async function proveCredential(ports: WhoamiPorts): Promise<Omit<WhoamiResult, 'backend'>> {
  const credential = ports.session.require();
  let identity: Developer | undefined;
  if (credential.kind === 'api-key') {
    // contract §9.1: an API key cannot call /auth/me; an authorised GET /users proves it works.
    await ports.backend.listUsers({ query: { page: 1, limit: 1 }, signal: ports.signal });
  } else {
    identity = await ports.backend.me({ signal: ports.signal });
  }
  // A login may have been refreshed by the call.
  const current = ports.session.credential();
  const expiresAt =
    current?.kind === 'login'
      ? current.stored.expiresAt
      : current?.kind === 'token'
        ? current.expiresAt
        : undefined;
  return { credential: { kind: credential.kind, source: credential.source }, expiresAt, identity };
}
