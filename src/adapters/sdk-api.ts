import { z } from '../vendor/zod.js';
import { type TokenResponse, tokenResponseSchema } from './backend-api.js';
import { type HttpClient, uploadAnswer } from './http.js';

/** Contract §6.1: 202 `UploadDataResponse` (its counts are always 0; there is no batch id). */
const syncAnswerSchema = z.object({ status_code: z.number(), response: z.string() }).loose();
export type SyncAnswer = z.infer<typeof syncAnswerSchema>;

export interface SyncPostRequest {
  userId: string;
  /** The JSON envelope, as sent. */
  body: Buffer;
  /** Logged by current backends for correlation (current page §2.5). */
  requestId: string;
  signal?: AbortSignal;
}

/**
 * The SDK sync route and the SDK token route. `sync` wants a client carrying an SDK token or an API key
 * (contract §1.6 SDKAuthDep: a developer JWT is refused there); `mintToken` one carrying the developer's
 * JWT (§1.7).
 */
export class SdkApi {
  constructor(private readonly http: HttpClient) {}

  /** `POST /sdk/users/{id}/sync` with one batch (contract §6.1). */
  async sync(req: SyncPostRequest): Promise<SyncAnswer> {
    const spec = {
      method: 'POST' as const,
      path: `/api/v1/sdk/users/${encodeURIComponent(req.userId)}/sync`,
      headers: {
        'content-type': 'application/json',
        'content-length': String(req.body.length),
        'x-request-id': req.requestId,
      },
      body: req.body,
      signal: req.signal,
    };
    return uploadAnswer(await this.http.send(spec), syncAnswerSchema, spec, 'the SDK sync');
  }

  /** `POST /users/{id}/token` with the developer's Bearer token and no body: an SDK token for the user. */
  mintToken(userId: string, signal?: AbortSignal): Promise<TokenResponse> {
    return this.http.json(
      { method: 'POST', path: `/api/v1/users/${encodeURIComponent(userId)}/token`, signal },
      tokenResponseSchema,
    );
  }
}
