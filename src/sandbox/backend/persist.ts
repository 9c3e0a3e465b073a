// What `apple-import sandbox --data-dir` keeps across restarts: accounts, API keys, users, refresh tokens and
// the JWT secret (so saved logins and tokens stay valid). Imported data and sync events are not kept.
// Written atomically (temp file + rename) and readable only by the owner: it holds passwords and keys.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, rename, writeFile } from 'node:fs/promises';
import type { BackendState, Developer, RefreshTokenRow, UserRead } from './state.js';

interface Persisted {
  version: 1;
  jwtSecret: string;
  developers: Developer[];
  users: UserRead[];
  apiKeys: string[];
  refreshTokens: RefreshTokenRow[];
}

/** The saved state, or null when there is none yet; a file that cannot be read is an error, not a reset. */
export function loadState(
  file: string,
): (Omit<Persisted, 'version' | 'jwtSecret'> & { jwtSecret: Buffer }) | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const data = JSON.parse(text) as Persisted;
  if (data.version !== 1) throw new Error(`${file}: unknown sandbox state version ${String(data.version)}`);
  return { ...data, jwtSecret: Buffer.from(data.jwtSecret, 'base64') };
}

/** Saves writes one at a time, the last one winning. */
export class StateWriter {
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly state: BackendState,
    private readonly jwtSecret: Buffer,
  ) {}

  save(): Promise<void> {
    const data: Persisted = {
      version: 1,
      jwtSecret: this.jwtSecret.toString('base64'),
      developers: this.state.developers,
      users: this.state.users,
      apiKeys: [...this.state.apiKeys],
      refreshTokens: [...this.state.refreshTokens.values()],
    };
    const text = JSON.stringify(data, null, 2);
    this.pending = this.pending.then(async () => {
      const tmp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
      await writeFile(tmp, text, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, this.file);
    });
    return this.pending;
  }
}
