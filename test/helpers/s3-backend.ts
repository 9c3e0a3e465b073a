import { type BackendDouble, type S3Settings, startBackendDouble } from '../../src/sandbox/backend/index.js';
import { type Radosgw, type RadosgwOptions, startRadosgw } from './radosgw.js';

export interface S3Backend {
  rgw: Radosgw;
  backend: BackendDouble;
  stop(): Promise<void>;
}

/** The double's S3 settings for presigning to `rgw`. */
export function s3SettingsOf(rgw: Radosgw): S3Settings {
  return {
    endpoint: rgw.endpoint,
    bucket: rgw.bucket,
    region: rgw.region,
    accessKeyId: rgw.accessKeyId,
    secretAccessKey: rgw.secretAccessKey,
  };
}

/** The backend double presigning uploads to a real radosgw (bucket `uploads`). */
export async function startS3Backend(opts: RadosgwOptions = {}): Promise<S3Backend> {
  const rgw = await startRadosgw({ bucket: 'uploads', ...opts });
  try {
    const backend = await startBackendDouble({ s3: s3SettingsOf(rgw) });
    return {
      rgw,
      backend,
      stop: async () => {
        await backend.close();
        await rgw.stop();
      },
    };
  } catch (err) {
    await rgw.stop();
    throw err;
  }
}
