import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type Conf from 'conf';
import envPaths from 'env-paths';
import { AppError } from '../errors.js';
import { z } from '../vendor/zod.js';
import { configReadError, configWriteError, isFsError } from './fs-errors.js';

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
 *
 * Reads parse the file here: conf's import (ajv, semver, atomically…) costs ~50 ms, and the zod schema is
 * the validation that counts anyway. conf is loaded on the first write only, for its atomic 0600 writes.
 * Every read goes to the file, so it sees a write made a moment before (by this process or another).
 */
export class ConfigStore {
  /** Derived as conf derives it from the options below (checked when conf is loaded). */
  readonly path: string;
  private conf: Conf<ConfigFile> | undefined;

  constructor(private readonly configDir: string | undefined) {
    this.path = resolve(configDir ?? envPaths('apple-import', { suffix: '' }).config, 'config.json');
  }

  get dir(): string {
    return dirname(this.path);
  }

  private read(): ConfigFile {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (err) {
      // Nothing is created for a read: the file appears with the first write.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return { profiles: {}, credentials: {} };
      throw configReadError('the config file', this.path, err);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw this.invalid((err as Error).message);
    }
    const parsed = fileSchema.safeParse(data);
    if (!parsed.success) throw this.invalid(parsed.error.message);
    return parsed.data;
  }

  private invalid(details: string): AppError {
    return new AppError('CONFIG_INVALID', `The config file ${this.path} is not valid.`, {
      hint: 'Fix or delete it; `apple-import config path` prints where it is.',
      details,
    });
  }

  /**
   * conf, loaded and opened on the first write. The caller reads and sets after this resolves, with no
   * await in between, so nothing in this process interleaves with its read-modify-write.
   */
  private async writer(): Promise<Conf<ConfigFile>> {
    if (this.conf) return this.conf;
    // conf's constructor parses the file too; an invalid one is reported as CONFIG_INVALID, not its SyntaxError.
    this.read();
    const { default: Conf } = await import('conf');
    const conf = this.writing(() => {
      if (this.configDir) mkdirSync(this.configDir, { recursive: true, mode: 0o700 });
      return new Conf<ConfigFile>({
        ...(this.configDir ? { cwd: this.configDir } : { projectName: 'apple-import', projectSuffix: '' }),
        configName: 'config',
        configFileMode: 0o600,
        defaults: { profiles: {}, credentials: {} },
      });
    });
    if (conf.path !== this.path) {
      // Writes would land in a file the reads never look at.
      throw new Error(`conf writes ${conf.path}, but the config is read from ${this.path}`);
    }
    this.conf ??= conf;
    return this.conf;
  }

  /**
   * Runs a write of the config file: a read-only, full or missing folder is CONFIG_WRITE_FAILED saying
   * where. conf writes through atomically (a temp file renamed over the old one), so a failed write
   * leaves the previous file whole.
   */
  private writing<T>(write: () => T): T {
    try {
      return write();
    } catch (err) {
      if (isFsError(err)) throw configWriteError('the config file', this.path, err, { dir: this.dir });
      throw err;
    }
  }

  profile(name: string): ProfileSettings {
    return this.read().profiles[name] ?? {};
  }

  profiles(): Record<string, ProfileSettings> {
    return this.read().profiles;
  }

  async setProfileValue(name: string, key: keyof ProfileSettings, value: string | undefined): Promise<void> {
    const conf = await this.writer();
    const profiles = { ...this.read().profiles };
    const next: ProfileSettings = { ...profiles[name] };
    if (value === undefined) delete next[key];
    else next[key] = value;
    profiles[name] = next;
    this.writing(() => conf.set('profiles', profiles));
  }

  credential(profile: string, server: string): StoredCredential | undefined {
    return this.read().credentials[profile]?.[server];
  }

  /** Every (profile, server) that holds a credential, to point a "not logged in" at the login there is. */
  logins(): { profile: string; server: string }[] {
    return Object.entries(this.read().credentials).flatMap(([profile, byServer]) =>
      Object.keys(byServer).map((server) => ({ profile, server })),
    );
  }

  async saveCredential(profile: string, server: string, credential: StoredCredential): Promise<void> {
    const conf = await this.writer();
    const all = { ...this.read().credentials };
    all[profile] = { ...all[profile], [server]: credential };
    this.writing(() => conf.set('credentials', all));
  }

  async deleteCredential(profile: string, server: string): Promise<boolean> {
    // Nothing to delete needs no conf.
    if (this.credential(profile, server) === undefined) return false;
    const conf = await this.writer();
    const all = { ...this.read().credentials };
    const forProfile = { ...all[profile] };
    if (!(server in forProfile)) return false;
    delete forProfile[server];
    all[profile] = forProfile;
    this.writing(() => conf.set('credentials', all));
    return true;
  }
}
