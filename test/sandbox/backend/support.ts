import { setTimeout as sleep } from 'node:timers/promises';
import type { BackendDouble } from '../../../src/sandbox/backend/index.js';

export const DEV_EMAIL = 'dev@example.com';
export const DEV_PASSWORD = 'correct horse battery staple';

/** Logs in through the real route and returns the token response. */
export async function login(backend: BackendDouble, email = DEV_EMAIL, password = DEV_PASSWORD) {
  const res = await fetch(`${backend.url}/api/v1/auth/login`, {
    method: 'POST',
    body: new URLSearchParams({ username: email, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return (await res.json()) as {
    access_token: string;
    refresh_token: string;
    expires_in: number;
    token_type: string;
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Polls `check` until it returns a value; fails (not times out silently) after a generous bound. */
export async function waitFor<T>(check: () => T | undefined | null | false, what: string): Promise<T> {
  for (let i = 0; i < 1000; i++) {
    const value = check();
    if (value) return value;
    await sleep(5);
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Sends `xml` as the `file` part of a direct upload. */
export function directUpload(
  backend: BackendDouble,
  userId: string,
  filename: string,
  xml: string | Buffer,
  headers: Record<string, string>,
) {
  const form = new FormData();
  form.append('file', new Blob([xml], { type: 'application/xml' }), filename);
  return fetch(`${backend.url}/api/v1/users/${userId}/import/apple/xml/direct`, {
    method: 'POST',
    body: form,
    headers,
  });
}

/** A small well-formed export with a valid DTD-free prolog. */
export function exportXml(body: string, doctype = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${doctype}<HealthData locale="en_US">\n${body}\n</HealthData>\n`;
}

export const DEVICE =
  '&lt;&lt;HKDevice: 0x283e5c3c0&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,2, software:10.1&gt;';
