import { describe, expect, it } from 'vitest';
import { validateTemplate } from './validate.js';

/** A valid oauth2 entry; each case below breaks one thing. */
function oauthTemplate(): Record<string, unknown> {
  return {
    id: 'acme-oauth',
    kind: 'oauth2',
    display_name: 'Acme',
    category: 'productivity',
    docs_url: 'https://docs.acme.example/oauth',
    authorization_endpoint: 'https://auth.acme.example/authorize',
    token_endpoint: 'https://auth.acme.example/token',
    revocation_endpoint: 'https://auth.acme.example/revoke',
    scope_separator: ' ',
    pkce: 'supported',
    default_scopes: ['read', 'offline_access'],
    token_auth_method: 'client_secret_basic',
    authorization_params: { access_type: 'offline' },
    refresh: { rotates_refresh_token: true, refresh_token_expires: false, requires_scope: 'offline_access' },
    allowed_hosts: ['api.acme.example'],
    base_url: 'https://api.acme.example/v1',
  };
}

function errorsOf(input: unknown): readonly string[] {
  const result = validateTemplate(input);
  return result.ok ? [] : result.errors;
}

describe('validateTemplate accepts oauth2 entries', () => {
  it('a complete entry, returned frozen', () => {
    const result = validateTemplate(oauthTemplate());
    expect(result.ok ? [] : result.errors).toEqual([]);
    if (result.ok) {
      expect(result.template.kind).toBe('oauth2');
      expect(Object.isFrozen(result.template)).toBe(true);
    }
  });

  it('a minimal entry: no revocation, no refresh, no scopes, per-tenant hosts without base_url', () => {
    const t = oauthTemplate();
    for (const k of ['revocation_endpoint', 'authorization_params', 'refresh', 'base_url']) delete t[k];
    t.default_scopes = [];
    t.allowed_hosts = ['*.acme.example'];
    expect(errorsOf(t)).toEqual([]);
  });

  it('comma-separated scopes', () => {
    expect(errorsOf({ ...oauthTemplate(), scope_separator: ',', default_scopes: ['read', 'write'] })).toEqual([]);
  });
});

describe('validateTemplate rejects broken oauth2 entries', () => {
  it.each<[string, (t: Record<string, unknown>) => void, string[]]>([
    ['a missing token_endpoint', (t) => delete t.token_endpoint, ['/token_endpoint: is required']],
    [
      'a missing authorization_endpoint',
      (t) => delete t.authorization_endpoint,
      ['/authorization_endpoint: is required'],
    ],
    [
      'an http token endpoint',
      (t) => (t.token_endpoint = 'http://auth.acme.example/token'),
      ['/token_endpoint: must be an https:// URL'],
    ],
    [
      'an http authorization endpoint',
      (t) => (t.authorization_endpoint = 'http://auth.acme.example/authorize'),
      ['/authorization_endpoint: must be an https:// URL'],
    ],
    [
      'an http revocation endpoint',
      (t) => (t.revocation_endpoint = 'http://auth.acme.example/revoke'),
      ['/revocation_endpoint: must be an https:// URL'],
    ],
    ['a bad separator', (t) => (t.scope_separator = ';'), ['/scope_separator: must be one of: " ", ","']],
    [
      'an unknown PKCE mode',
      (t) => (t.pkce = 'maybe'),
      ['/pkce: must be one of: "required", "supported", "unsupported"'],
    ],
    [
      'an unknown token auth method',
      (t) => (t.token_auth_method = 'private_key_jwt'),
      ['/token_auth_method: must be one of: "client_secret_basic", "client_secret_post"'],
    ],
    [
      'a scope with a space',
      (t) => (t.default_scopes = ['read write']),
      ['/default_scopes/0: must be one scope: printable ASCII without spaces, quotes or backslashes'],
    ],
    [
      'a malformed authorization parameter name',
      (t) => (t.authorization_params = { 'a b': 'x' }),
      ['/authorization_params/a b: is not a valid parameter name (letters, digits, "_", "." or "-")'],
    ],
    [
      'a scope holding the comma separator',
      (t) => {
        t.scope_separator = ',';
        t.default_scopes = ['read,write'];
      },
      ['/default_scopes/0: contains the scope separator ","'],
    ],
    [
      'an authorization parameter Latchkey sets itself',
      (t) => (t.authorization_params = { redirect_uri: 'https://evil.example/cb' }),
      ['/authorization_params/redirect_uri: "redirect_uri" is set by Latchkey and cannot be overridden'],
    ],
    [
      'credentials in an endpoint',
      (t) => (t.token_endpoint = 'https://id:secret@auth.acme.example/token'),
      ['/token_endpoint: must not contain credentials'],
    ],
    [
      'a fragment in an endpoint',
      (t) => (t.authorization_endpoint = 'https://auth.acme.example/authorize#x'),
      ['/authorization_endpoint: must not have a fragment'],
    ],
    [
      'refresh behaviour without its flags',
      (t) => (t.refresh = {}),
      ['/refresh/rotates_refresh_token: is required', '/refresh/refresh_token_expires: is required'],
    ],
    ['a managed-secret field', (t) => (t.credential_type = 'bearer'), ['/credential_type: is not allowed here']],
    ['a missing docs_url', (t) => delete t.docs_url, ['/docs_url: is required']],
    [
      'a base_url outside allowed_hosts',
      (t) => (t.base_url = 'https://api.other.example'),
      ['/base_url: host "api.other.example" is not in allowed_hosts'],
    ],
    ['exact hosts without base_url', (t) => delete t.base_url, ['/base_url: is required']],
    [
      'Authorization documented as a required header',
      (t) => (t.required_headers = [{ name: 'Authorization', description: 'token' }]),
      ['/required_headers/0/name: "Authorization" carries the credential; only the injection sets it'],
    ],
  ])('%s', (_name, breakIt, expected) => {
    const t = oauthTemplate();
    breakIt(t);
    expect(errorsOf(t)).toEqual(expected);
  });
});
