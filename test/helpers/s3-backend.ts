import {
  type BackendDouble,
  type BackendDoubleOptions,
  startBackendDouble,
} from '../../src/sandbox/backend/index.js';
import { type Radosgw, type RadosgwOptions, startRadosgw } from './radosgw.js';

export interface S3Backend {
  rgw: Radosgw;
  backend: BackendDouble;
  stop(): Promise<void>;
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
    const backend = await startBackendDouble({
      ...backendOpts,
      s3: {
        endpoint: rgw.endpoint,
        bucket: rgw.bucket,
        region: rgw.region,
        accessKeyId: rgw.accessKeyId,
        secretAccessKey: rgw.secretAccessKey,
      },
    });
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
