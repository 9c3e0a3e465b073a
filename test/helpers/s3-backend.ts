import {
  type BackendDouble,
  type BackendDoubleOptions,
  type S3Settings,
  startBackendDouble,
} from '../../src/sandbox/backend/index.js';
import { type Radosgw, type RadosgwOptions, startRadosgw } from './radosgw.js';

export interface S3Backend {
  rgw: Radosgw;
  backend: BackendDouble;
  stop(): Promise<void>;
}

/** The double's S3 settings for a radosgw (`publicEndpoint`: where the URLs it presigns point). */
export function s3SettingsOf(rgw: Radosgw, publicEndpoint?: string): S3Settings {
  return {
    endpoint: rgw.endpoint,
    ...(publicEndpoint ? { publicEndpoint } : {}),
    bucket: rgw.bucket,
    region: rgw.region,
    accessKeyId: rgw.accessKeyId,
    secretAccessKey: rgw.secretAccessKey,
  };
}

/**
 * The backend double presigning uploads to a real radosgw (bucket `uploads`); `backend` sets the double's
 * other options (a current backend by default: multipart; `generation: '2026-08'` for the presigned POST).
 */
export async function startS3Backend(
  opts: RadosgwOptions = {},
  backendOpts: Omit<BackendDoubleOptions, 's3'> = {},
): Promise<S3Backend> {
  const rgw = await startRadosgw({ bucket: 'uploads', ...opts });
  try {
    const backend = await startBackendDouble({ ...backendOpts, s3: s3SettingsOf(rgw) });
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
