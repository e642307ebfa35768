import { describe, expect, it } from 'vitest';
import { LatchkeyError } from '../../errors.js';
import { extractGatewayKey } from './gateway-key.js';
import { checkGatewayPath, gatewayTarget, joinGatewayUrl } from './steps/gateway-url.js';

const KEY = `lk_app_${'A1b2C3'.repeat(7)}x`;
const AGENT_KEY = `lk_agent_${'Z9y8X7'.repeat(7)}w`;

function refused(fn: () => unknown): LatchkeyError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LatchkeyError);
    return err as LatchkeyError;
  }
  throw new Error('expected a LatchkeyError');
}

describe('joinGatewayUrl', () => {
  it('joins with exactly one slash and keeps the base path prefix', () => {
    const cases: [string, string, string, string][] = [
      ['https://api.openai.com/v1', '/chat/completions', '', 'https://api.openai.com/v1/chat/completions'],
      ['https://api.openai.com/v1', '//chat/completions', '', 'https://api.openai.com/v1/chat/completions'],
      ['https://api.stripe.com', '/v1/balance', '', 'https://api.stripe.com/v1/balance'],
      ['https://slack.com/api', '/chat.postMessage', '?x=1', 'https://slack.com/api/chat.postMessage?x=1'],
      ['https://api.openai.com/v1', '', '', 'https://api.openai.com/v1'],
      ['https://api.openai.com/v1', '/', '', 'https://api.openai.com/v1/'],
      ['https://api.stripe.com', '', '', 'https://api.stripe.com/'],
      [
        'http://127.0.0.2:8080/v1',
        '/models',
        '?limit=2&after=m%201',
        'http://127.0.0.2:8080/v1/models?limit=2&after=m%201',
      ],
      [
        'https://gitlab.example/api/v4',
        '/projects/group%2Fproj',
        '',
        'https://gitlab.example/api/v4/projects/group%2Fproj',
      ],
    ];
    for (const [base, path, search, want] of cases) expect(joinGatewayUrl(base, path, search).href).toBe(want);
  });

  it('never leaves the base path, even for a path that slipped past the check', () => {
    expect(refused(() => joinGatewayUrl('https://api.openai.com/v1', '/../admin', '')).code).toBe('invalid_request');
    expect(refused(() => joinGatewayUrl('https://api.openai.com/v1', '/%2e%2e/admin', '')).code).toBe(
      'invalid_request',
    );
  });
});

describe('checkGatewayPath', () => {
  it('accepts ordinary paths, encoded slashes and dots inside names', () => {
    for (const p of [
      '',
      '/',
      '/v1/chat/completions',
      '/a/b.c/..d/e..',
      '/projects/group%2Fproj',
      '/%2e%2e%2e',
      '/.well-known/x',
    ])
      expect(checkGatewayPath(p)).toBe(p);
  });

  it('refuses dot-segments in every spelling (400 invalid_request)', () => {
    for (const p of [
      '/..',
      '/../x',
      '/a/../../x',
      '/./x',
      '/%2e%2e/x',
      '/%2E%2e/x',
      '/.%2e/x',
      '/%2e./x',
      '/%2e/x',
      '/a/..%2fx',
      '/a/..%2Fx',
      '/a/..%5cx',
      '/a/..;jsessionid=1/x',
      '/a\\..\\x',
      '/a#frag',
      '/a b',
    ]) {
      const err = refused(() => checkGatewayPath(p));
      expect(err.code, p).toBe('invalid_request');
      expect(err.details).toEqual({ field: 'path' });
    }
  });
});

describe('gatewayTarget', () => {
  it('needs a base URL (400) and a gateway path (TypeError)', () => {
    expect(refused(() => gatewayTarget(null, { path: '/x', search: '' })).details).toEqual({ field: 'base_url' });
    expect(() => gatewayTarget('https://a.example', undefined)).toThrow(TypeError);
    expect(gatewayTarget('https://a.example/v2', { path: '/x', search: '?q=1' }).href).toBe(
      'https://a.example/v2/x?q=1',
    );
  });
});

describe('extractGatewayKey', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

  it('finds the key wherever vendor SDKs put theirs', () => {
    expect(extractGatewayKey({ authorization: `Bearer ${KEY}` })).toBe(KEY);
    expect(extractGatewayKey({ authorization: `bearer  ${KEY} ` })).toBe(KEY);
    expect(extractGatewayKey({ authorization: `token ${KEY}` })).toBe(KEY);
    expect(extractGatewayKey({ authorization: basic(`${KEY}:`) })).toBe(KEY);
    expect(extractGatewayKey({ authorization: basic(`api:${KEY}`) })).toBe(KEY);
    expect(extractGatewayKey({ authorization: KEY })).toBe(KEY);
    expect(extractGatewayKey({ 'x-api-key': KEY })).toBe(KEY);
    expect(extractGatewayKey({ 'api-key': AGENT_KEY })).toBe(AGENT_KEY);
    expect(extractGatewayKey({ 'x-goog-api-key': KEY })).toBe(KEY);
  });

  it('takes the first Latchkey-looking value in header order and ignores everything else', () => {
    expect(extractGatewayKey({ authorization: 'Bearer sk-real-provider-key', 'x-api-key': KEY })).toBe(KEY);
    expect(extractGatewayKey({ authorization: `Bearer ${KEY}`, 'x-api-key': AGENT_KEY })).toBe(KEY);
    expect(extractGatewayKey({ authorization: 'Bearer sk-real', 'x-api-key': 'sk-ant-real' })).toBeUndefined();
    expect(extractGatewayKey({ cookie: `k=${KEY}`, 'x-other': KEY })).toBeUndefined();
    expect(extractGatewayKey({ authorization: `Bearer ${KEY}extra!` })).toBeUndefined();
    expect(extractGatewayKey({ authorization: 'Basic !!!not-base64' })).toBeUndefined();
    expect(extractGatewayKey({})).toBeUndefined();
  });
});
