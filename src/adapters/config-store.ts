import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Conf from 'conf';
import { z } from 'zod';
import { AppError } from '../errors.js';

/** Cached credentials for one (profile, server); contract §1.1 (login) and §1.5 (API key). */
export const storedCredentialSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('login'),
    accessToken: z.string(),
    refreshToken: z.string(),
    /** Access-token expiry, epoch ms, from the JWT's `exp` (contract §1.1). */
    expiresAt: z.number(),
    email: z.string().optional(),
    savedAt: z.number(),
  }),
  z.object({ kind: z.literal('api-key'), apiKey: z.string(), savedAt: z.number() }),
]);
export type StoredCredential = z.infer<typeof storedCredentialSchema>;

const profileSchema = z.object({ server: z.string().optional(), user: z.string().optional() }).strict();
export type ProfileSettings = z.infer<typeof profileSchema>;

const fileSchema = z.object({
  profiles: z.record(z.string(), profileSchema).default({}),
  /** profile → server URL → credential. Keyed by server so one profile can hold logins for several. */
  credentials: z.record(z.string(), z.record(z.string(), storedCredentialSchema)).default({}),
});
type ConfigFile = z.infer<typeof fileSchema>;

/**
 * The config file (profiles and cached credentials), written by conf with mode 0600. Server URLs contain
 * dots, which conf treats as paths, so whole top-level objects are read and written.
 */
export class ConfigStore {
  private readonly conf: Conf<ConfigFile>;

  constructor(configDir: string | undefined) {
    if (configDir) mkdirSync(configDir, { recursive: true, mode: 0o700 });
    this.conf = new Conf<ConfigFile>({
      ...(configDir ? { cwd: configDir } : { projectName: 'apple-import', projectSuffix: '' }),
      configName: 'config',
      configFileMode: 0o600,
      defaults: { profiles: {}, credentials: {} },
    });
  }

  get path(): string {
    return this.conf.path;
  }

  get dir(): string {
    return dirname(this.conf.path);
  }

  private read(): ConfigFile {
    const parsed = fileSchema.safeParse(this.conf.store);
    if (!parsed.success) {
      throw new AppError('CONFIG_INVALID', `The config file ${this.conf.path} is not valid.`, {
        hint: 'Fix or delete it; `apple-import config path` prints where it is.',
        details: parsed.error.message,
      });
    }
    return parsed.data;
  }

  profile(name: string): ProfileSettings {
    return this.read().profiles[name] ?? {};
  }

  profiles(): Record<string, ProfileSettings> {
    return this.read().profiles;
  }

  setProfileValue(name: string, key: keyof ProfileSettings, value: string | undefined): void {
    const profiles = { ...this.read().profiles };
    const next: ProfileSettings = { ...profiles[name] };
    if (value === undefined) delete next[key];
    else next[key] = value;
    profiles[name] = next;
    this.conf.set('profiles', profiles);
  }

  credential(profile: string, server: string): StoredCredential | undefined {
    return this.read().credentials[profile]?.[server];
  }

  saveCredential(profile: string, server: string, credential: StoredCredential): void {
    const all = { ...this.read().credentials };
    all[profile] = { ...all[profile], [server]: credential };
    this.conf.set('credentials', all);
  }

  deleteCredential(profile: string, server: string): boolean {
    const all = { ...this.read().credentials };
    const forProfile = { ...all[profile] };
    if (!(server in forProfile)) return false;
    delete forProfile[server];
    all[profile] = forProfile;
    this.conf.set('credentials', all);
    return true;
  }
}
