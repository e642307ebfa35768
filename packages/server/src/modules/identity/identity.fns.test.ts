import { describe, expect, it } from 'vitest';
import { LatchkeyError } from '../../errors.js';
import {
  type UserClaims,
  classifyVerifyError,
  claimsDiffer,
  discoveryUrl,
  isHttpAllowed,
  parseIssuer,
  readDiscovery,
  readUserClaims,
} from './identity.fns.js';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof LatchkeyError ? [err.code, err.details] : err;
  }
  return 'no error';
};

describe('parseIssuer', () => {
  it('accepts https, and http only for allowed hosts', () => {
    expect(parseIssuer('https://login.example.com', []).host).toBe('login.example.com');
    expect(parseIssuer('http://127.0.0.1:9000', ['127.0.0.1:9000']).port).toBe('9000');
    expect(code(() => parseIssuer('http://127.0.0.1:9000', ['127.0.0.2']))).toEqual([
      'invalid_request',
      { field: 'issuer' },
    ]);
  });
  it('refuses userinfo, query, fragment, other schemes and non-URLs', () => {
    for (const bad of ['https://u:p@x.test', 'https://x.test?a=1', 'https://x.test#f', 'ftp://x.test', 'x.test', '']) {
      expect(code(() => parseIssuer(bad, []))).toEqual(['invalid_request', { field: 'issuer' }]);
    }
  });
});

describe('discovery', () => {
  it('appends the well-known path after removing a trailing slash (OIDC Discovery §4.1)', () => {
    expect(discoveryUrl('https://x.test').href).toBe('https://x.test/.well-known/openid-configuration');
    expect(discoveryUrl('https://x.test/tenant/').href).toBe('https://x.test/tenant/.well-known/openid-configuration');
  });
  it('needs the exact issuer and an https jwks_uri', () => {
    const iss = 'https://x.test';
    expect(readDiscovery({ issuer: iss, jwks_uri: 'https://x.test/jwks' }, iss, [])).toBe('https://x.test/jwks');
    const reason = (doc: unknown, hosts: string[] = []) =>
      (code(() => readDiscovery(doc, iss, hosts)) as [string, { reason: string }])[1].reason;
    expect(reason({ issuer: `${iss}/`, jwks_uri: 'https://x.test/jwks' })).toBe('issuer_mismatch');
    expect(reason({ issuer: iss })).toBe('jwks_uri_missing');
    expect(reason({ issuer: iss, jwks_uri: 'http://x.test/jwks' })).toBe('jwks_uri_not_https');
    expect(reason({ issuer: iss, jwks_uri: 'not a url' })).toBe('jwks_uri_invalid');
    expect(reason([])).toBe('not_json_object');
    expect(readDiscovery({ issuer: iss, jwks_uri: 'http://x.test/jwks' }, iss, ['x.test'])).toBe('http://x.test/jwks');
  });
  it('matches http hosts with or without the port', () => {
    expect(isHttpAllowed(new URL('http://h.test/x'), ['h.test:80'])).toBe(true);
    expect(isHttpAllowed(new URL('http://h.test:81/x'), ['h.test:80'])).toBe(false);
    expect(isHttpAllowed(new URL('http://[::1]:81/x'), ['::1'])).toBe(true);
  });
});

describe('readUserClaims', () => {
  const m = { userIdClaim: 'sub', emailClaim: 'email', groupsClaim: 'groups' };
  it('maps the configured claims, bounding and normalizing groups', () => {
    expect(readUserClaims({ sub: 'u1', email: 'a@x.test', groups: ['b', 'a', 'a', 3, ''] }, m)).toEqual({
      subject: 'u1',
      email: 'a@x.test',
      groups: ['a', 'b'],
    });
    expect(readUserClaims({ sub: 'u1', groups: 'solo' }, m)).toEqual({ subject: 'u1', email: null, groups: ['solo'] });
    const many = Array.from({ length: 500 }, (_, i) => `g${String(i).padStart(3, '0')}`);
    expect((readUserClaims({ sub: 'u1', groups: many }, m) as UserClaims).groups).toHaveLength(200);
    expect(
      (readUserClaims({ sub: 'u1', email: 'a@x.test' }, { ...m, emailClaim: null }) as UserClaims).email,
    ).toBeNull();
  });
  it('refuses a missing or unusable user id', () => {
    expect(readUserClaims({}, m)).toBe('user_id_claim_missing');
    expect(readUserClaims({ sub: 42 }, m)).toBe('user_id_claim_missing');
    expect(readUserClaims({ sub: 'x'.repeat(256) }, m)).toBe('user_id_claim_too_long');
    expect(readUserClaims({ oid: 'u2' }, { ...m, userIdClaim: 'oid' })).toMatchObject({ subject: 'u2' });
  });
  it('compares mappings', () => {
    expect(claimsDiffer(m, { ...m })).toBe(false);
    expect(claimsDiffer(m, { ...m, groupsClaim: null })).toBe(true);
  });
});

describe('classifyVerifyError', () => {
  it('tells key-fetch failures from bad tokens', () => {
    expect(classifyVerifyError({ name: 'IdpFetchError', code: 'egress_denied' })).toEqual({
      kind: 'unavailable',
      reason: 'egress_denied',
    });
    expect(classifyVerifyError({ code: 'ERR_JWKS_TIMEOUT' }).kind).toBe('unavailable');
    expect(classifyVerifyError({ code: 'ERR_JOSE_GENERIC' }).kind).toBe('unavailable');
    for (const c of ['ERR_JWT_EXPIRED', 'ERR_JWKS_NO_MATCHING_KEY', 'ERR_JOSE_ALG_NOT_ALLOWED', 'ERR_JWS_INVALID']) {
      expect(classifyVerifyError({ code: c })).toEqual({ kind: 'invalid', reason: c });
    }
    expect(classifyVerifyError(new TypeError('x'))).toEqual({ kind: 'invalid', reason: 'TypeError' });
  });
});
