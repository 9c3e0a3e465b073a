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

/** Set and not blank: the value trimmed; an empty or blank variable counts as unset. */
function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function parseEnv(raw: Record<string, string | undefined>): Env {
  // Plain string checks: this runs on every command, and a schema library costs more to load than all of it.
  const ci = raw.CI !== undefined && raw.CI !== '' && raw.CI !== '0' && raw.CI.toLowerCase() !== 'false';
  const debug = nonEmpty(raw.APPLE_IMPORT_DEBUG);
  return {
    server: nonEmpty(raw.APPLE_IMPORT_SERVER),
    profile: nonEmpty(raw.APPLE_IMPORT_PROFILE),
    apiKey: nonEmpty(raw.APPLE_IMPORT_API_KEY),
    token: nonEmpty(raw.APPLE_IMPORT_TOKEN),
    user: nonEmpty(raw.APPLE_IMPORT_USER),
    configDir: nonEmpty(raw.APPLE_IMPORT_CONFIG_DIR),
    // no-color.org: present and not empty disables color.
    noColor: raw.NO_COLOR !== undefined && raw.NO_COLOR !== '',
    forceColor: raw.FORCE_COLOR,
    ci,
    term: raw.TERM,
    debug: debug !== undefined && debug !== '0',
  };
}
