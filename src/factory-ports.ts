/**
 * The adapters a command that talks to a backend (or reads the config file) needs, with what they load:
 * zod and its schemas above all. factory.ts builds them from here; commands that work on local files
 * only (RunState.markLocal) never load this module, so their start-up does not pay for it.
 */
export { AuthApi, BackendApi } from './adapters/backend-api.js';
export { ConfigStore } from './adapters/config-store.js';
export { DirectApi } from './adapters/direct-api.js';
export { HttpClient } from './adapters/http.js';
export { ImportApi } from './adapters/import-api.js';
export { LedgerFiles } from './adapters/ledger.js';
export { OpenApiReader } from './adapters/openapi.js';
export { SdkApi } from './adapters/sdk-api.js';
export { SyncApi } from './adapters/sync-api.js';
export { Session } from './core/auth/session.js';
export { SdkAuthorizer } from './core/upload/sdk/auth.js';
