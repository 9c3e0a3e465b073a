import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEnv } from '../../src/config/env.js';
import { DEFAULT_SERVER, normalizeServerUrl, resolveSettings } from '../../src/config/settings.js';

const store = (profiles: Record<string, { server?: string; user?: string }>) => ({
  profile: (name: string) => profiles[name] ?? {},
});

describe('settings precedence: flag > env > profile > default', () => {
  const profiles = {
    default: { server: 'https://profile.example', user: 'profile-user' },
    staging: { server: 'https://staging.example' },
  };
  const cases: {
    name: string;
    flags: { server?: string; profile?: string; user?: string; apiKey?: string };
    env: Record<string, string>;
    expect: { server: [string, string]; profile: [string, string]; user?: [string, string] };
  }[] = [
    {
      name: 'nothing set → defaults and the default profile',
      flags: {},
      env: {},
      expect: {
        server: ['https://profile.example', 'profile'],
        profile: ['default', 'default'],
        user: ['profile-user', 'profile'],
      },
    },
    {
      name: 'env beats profile',
      flags: {},
      env: { APPLE_IMPORT_SERVER: 'https://env.example', APPLE_IMPORT_USER: 'env-user' },
      expect: {
        server: ['https://env.example', 'env'],
        profile: ['default', 'default'],
        user: ['env-user', 'env'],
      },
    },
    {
      name: 'flag beats env',
      flags: { server: 'https://flag.example/', user: 'flag-user' },
      env: { APPLE_IMPORT_SERVER: 'https://env.example', APPLE_IMPORT_USER: 'env-user' },
      expect: {
        server: ['https://flag.example', 'flag'],
        profile: ['default', 'default'],
        user: ['flag-user', 'flag'],
      },
    },
    {
      name: 'profile chosen by env selects its stored server',
      flags: {},
      env: { APPLE_IMPORT_PROFILE: 'staging' },
      expect: { server: ['https://staging.example', 'profile'], profile: ['staging', 'env'] },
    },
    {
      name: 'profile flag beats profile env',
      flags: { profile: 'default' },
      env: { APPLE_IMPORT_PROFILE: 'staging' },
      expect: { server: ['https://profile.example', 'profile'], profile: ['default', 'flag'] },
    },
    {
      name: 'an unknown profile falls back to the default server',
      flags: { profile: 'nope' },
      env: {},
      expect: { server: [DEFAULT_SERVER, 'default'], profile: ['nope', 'flag'] },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const s = resolveSettings(c.flags, parseEnv(c.env), store(profiles));
      assert.deepEqual([s.server.value, s.server.source], c.expect.server);
      assert.deepEqual([s.profile.value, s.profile.source], c.expect.profile);
      if (c.expect.user) assert.deepEqual([s.user?.value, s.user?.source], c.expect.user);
    });
  }

  it('API key: flag beats env; blank env values count as unset', () => {
    const s = resolveSettings({ apiKey: 'sk-flag' }, parseEnv({ APPLE_IMPORT_API_KEY: 'sk-env' }), store({}));
    assert.deepEqual(s.apiKey, { value: 'sk-flag', source: 'flag' });
    const e = resolveSettings({}, parseEnv({ APPLE_IMPORT_API_KEY: '  ' }), store({}));
    assert.equal(e.apiKey, undefined);
  });

  it('server URLs are normalized and bad ones rejected as usage errors', () => {
    assert.equal(normalizeServerUrl('https://x.example/'), 'https://x.example');
    assert.equal(normalizeServerUrl('http://127.0.0.1:8000/base/'), 'http://127.0.0.1:8000/base');
    assert.throws(
      () => normalizeServerUrl('ftp://x'),
      (e: { code?: string }) => e.code === 'USAGE',
    );
    assert.throws(
      () => normalizeServerUrl('not a url'),
      (e: { code?: string }) => e.code === 'USAGE',
    );
  });
});
