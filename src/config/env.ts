import { z } from 'zod';

/**
 * The only module that interprets environment variables. It is handed the env record by bin.ts, so tests
 * pass a plain object instead of mutating process.env.
 */
export interface Env {
  server: string | undefined;
  profile: string | undefined;
  apiKey: string | undefined;
  token: string | undefined;
  user: string | undefined;
  configDir: string | undefined;
  noColor: boolean;
  forceColor: string | undefined;
  ci: boolean;
  term: string | undefined;
  debug: boolean;
}

const nonEmpty = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const schema = z.object({
  APPLE_IMPORT_SERVER: nonEmpty,
  APPLE_IMPORT_PROFILE: nonEmpty,
  APPLE_IMPORT_API_KEY: nonEmpty,
  APPLE_IMPORT_TOKEN: nonEmpty,
  APPLE_IMPORT_USER: nonEmpty,
  APPLE_IMPORT_CONFIG_DIR: nonEmpty,
  APPLE_IMPORT_DEBUG: nonEmpty,
  NO_COLOR: z.string().optional(),
  FORCE_COLOR: z.string().optional(),
  CI: z.string().optional(),
  TERM: z.string().optional(),
});

export function parseEnv(raw: Record<string, string | undefined>): Env {
  const e = schema.parse(raw);
  const ci = e.CI !== undefined && e.CI !== '' && e.CI !== '0' && e.CI.toLowerCase() !== 'false';
  return {
    server: e.APPLE_IMPORT_SERVER,
    profile: e.APPLE_IMPORT_PROFILE,
    apiKey: e.APPLE_IMPORT_API_KEY,
    token: e.APPLE_IMPORT_TOKEN,
    user: e.APPLE_IMPORT_USER,
    configDir: e.APPLE_IMPORT_CONFIG_DIR,
    // no-color.org: present and not empty disables color.
    noColor: e.NO_COLOR !== undefined && e.NO_COLOR !== '',
    forceColor: e.FORCE_COLOR,
    ci,
    term: e.TERM,
    debug: e.APPLE_IMPORT_DEBUG !== undefined && e.APPLE_IMPORT_DEBUG !== '0',
  };
}
