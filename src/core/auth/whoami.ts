import type { BackendApi, Developer } from '../../adapters/backend-api.js';
import type { Credential, Session } from './session.js';

export interface WhoamiResult {
  credential: Pick<Credential, 'kind' | 'source'>;
  /** When the access token expires, for a login or a token with an `exp`. */
  expiresAt: number | undefined;
  /** The developer behind a login or token; an API key carries no identity. */
  identity: Developer | undefined;
}

/** Proves the credential works and says what it is and where it comes from. */
export async function whoami(ports: {
  session: Session;
  backend: Pick<BackendApi, 'me' | 'listUsers'>;
  signal: AbortSignal;
}): Promise<WhoamiResult> {
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
