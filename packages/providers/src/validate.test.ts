import { describe, expect, it } from 'vitest';
import { validateTemplate } from './validate.js';

/** A valid api_key template; each case below breaks one thing. */
function apiKeyTemplate(): Record<string, unknown> {
  return {
    id: 'acme',
    kind: 'managed_secret',
    display_name: 'Acme',
    category: 'devtools',
    docs_url: 'https://docs.acme.example/auth',
    credential_type: 'api_key',
    injection: { header: 'X-Acme-Key', format: '{token}' },
    allowed_hosts: ['api.acme.example', '*.eu.acme.example'],
    base_url: 'https://api.acme.example/v2',
    test_endpoint: { method: 'GET', path: '/v2/me', expect_status: 200 },
    last4_visible: true,
  };
}

function customTemplate(): Record<string, unknown> {
  return {
    ...apiKeyTemplate(),
    credential_type: 'custom',
    injection: {
      fields: [
        { name: 'account_id', label: 'Account ID' },
        { name: 'api_key', label: 'API key' },
      ],
      headers: [{ name: 'X-Account', format: '{account_id}' }],
      query: [{ name: 'key', format: '{api_key}' }],
    },
  };
}

function errorsOf(input: unknown): readonly string[] {
  const result = validateTemplate(input);
  return result.ok ? [] : result.errors;
}

describe('validateTemplate accepts', () => {
  it('a complete api_key template and returns a frozen copy', () => {
    const input = apiKeyTemplate();
    const result = validateTemplate(input);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.template).toEqual(input);
    expect(result.template).not.toBe(input);
    expect(Object.isFrozen(result.template)).toBe(true);
    expect(Object.isFrozen(result.template.allowed_hosts)).toBe(true);
    expect(Object.isFrozen(input)).toBe(false);
  });

  it('a multi-field custom template', () => {
    expect(errorsOf(customTemplate())).toEqual([]);
  });

  it('a generic custom template with no hosts and no injection', () => {
    expect(
      errorsOf({
        id: 'custom',
        kind: 'managed_secret',
        display_name: 'Custom',
        category: 'custom',
        credential_type: 'custom',
        allowed_hosts: [],
        last4_visible: false,
      }),
    ).toEqual([]);
  });

  it('bearer and basic templates without injection', () => {
    expect(errorsOf({ ...apiKeyTemplate(), credential_type: 'bearer', injection: undefined })).toEqual([]);
    expect(errorsOf({ ...apiKeyTemplate(), credential_type: 'basic', injection: { username_label: 'SID' } })).toEqual(
      [],
    );
  });
});

describe('validateTemplate rejects', () => {
  it.each<[string, (t: Record<string, unknown>) => void, string[]]>([
    ['a missing required field', (t) => delete t.display_name, ['/display_name: is required']],
    ['an unknown field', (t) => (t.colour = 'red'), ['/colour: is not allowed here']],
    [
      'a bad id',
      (t) => (t.id = 'Acme_API'),
      ['/id: must be lowercase letters and digits, optionally joined by single hyphens (e.g. "my-api")'],
    ],
    ['an unknown kind', (t) => (t.kind = 'saml'), ['/kind: must be one of: "managed_secret", "oauth2"']],
    [
      'an unknown credential type',
      (t) => (t.credential_type = 'aws_sigv4a'),
      ['/credential_type: must be one of: "bearer", "api_key", "basic", "custom", "aws_sigv4"'],
    ],
    ['an http docs_url', (t) => (t.docs_url = 'http://docs.acme.example'), ['/docs_url: must be an https:// URL']],
    ['last4_visible as a string', (t) => (t.last4_visible = 'yes'), ['/last4_visible: must be boolean']],
    ['an api_key without injection', (t) => delete t.injection, ['/injection: is required']],
    [
      'an api_key injection without header',
      (t) => (t.injection = { format: '{token}' }),
      ['/injection/header: is required'],
    ],
    [
      'a bad header name',
      (t) => (t.injection = { header: 'X Acme', format: '{token}' }),
      ['/injection/header: is not a valid HTTP header name'],
    ],
    [
      'a format without {token}',
      (t) => (t.injection = { header: 'X-Key', format: 'key' }),
      ['/injection/format: must contain {token} exactly once (found 0)'],
    ],
    [
      'a format with {token} twice',
      (t) => (t.injection = { header: 'X-Key', format: '{token}{token}' }),
      ['/injection/format: must contain {token} exactly once (found 2)'],
    ],
    [
      'a format with another placeholder',
      (t) => (t.injection = { header: 'X-Key', format: '{token}:{secret}' }),
      ['/injection/format: only {token} is allowed here, found {secret}'],
    ],
    [
      'a format with a stray brace',
      (t) => (t.injection = { header: 'X-Key', format: '{token}}' }),
      ['/injection/format: has an unmatched "{" or "}"'],
    ],
    [
      'an injected Host header',
      (t) => (t.injection = { header: 'Host', format: '{token}' }),
      ['/injection/header: "Host" cannot be injected (framing, hop-by-hop or Latchkey header)'],
    ],
    [
      'an injected latchkey-* header',
      (t) => (t.injection = { header: 'latchkey-grant-id', format: '{token}' }),
      ['/injection/header: "latchkey-grant-id" cannot be injected (framing, hop-by-hop or Latchkey header)'],
    ],
    [
      'a bearer template with injection settings',
      (t) => {
        t.credential_type = 'bearer';
      },
      ['/injection/header: is not allowed here', '/injection/format: is not allowed here'],
    ],
    [
      'the bare wildcard',
      (t) => (t.allowed_hosts = ['*']),
      [
        '/allowed_hosts/0: a wildcard is only allowed as a leading "*." followed by a host name',
        '/base_url: host "api.acme.example" is not in allowed_hosts',
      ],
    ],
    [
      'a one-label wildcard',
      (t) => (t.allowed_hosts = ['api.acme.example', '*.com']),
      ['/allowed_hosts/1: a wildcard needs at least two labels after "*.", as in "*.example.com"'],
    ],
    [
      'an uppercase host',
      (t) => (t.allowed_hosts = ['API.acme.example']),
      ['/allowed_hosts/0: write host patterns in lowercase without a trailing dot'],
    ],
    [
      'a URL instead of a host',
      (t) => (t.allowed_hosts = ['api.acme.example', 'https://acme.example']),
      [
        '/allowed_hosts/1: must be a host name (letters, digits, hyphens and dots), an IP address or "*.suffix"; no scheme, port or path',
      ],
    ],
    [
      'duplicate hosts',
      (t) => (t.allowed_hosts = ['api.acme.example', 'api.acme.example']),
      ['/allowed_hosts: must NOT have duplicate items (items ## 1 and 0 are identical)'],
    ],
    [
      'a base_url outside allowed_hosts',
      (t) => (t.base_url = 'https://acme.example'),
      ['/base_url: host "acme.example" is not in allowed_hosts'],
    ],
    [
      'a base_url with a trailing slash',
      (t) => (t.base_url = 'https://api.acme.example/'),
      ['/base_url: must not end with "/"'],
    ],
    [
      'a base_url with a query',
      (t) => (t.base_url = 'https://api.acme.example/v2?x=1'),
      ['/base_url: must not have a query or a fragment'],
    ],
    [
      'a base_url with credentials',
      (t) => (t.base_url = 'https://u:p@api.acme.example'),
      ['/base_url: must not contain credentials'],
    ],
    [
      'fixed hosts without base_url and docs_url',
      (t) => {
        delete t.base_url;
        delete t.docs_url;
        delete t.test_endpoint;
      },
      ['/docs_url: is required', '/base_url: is required'],
    ],
    [
      'a test_endpoint without base_url',
      (t) => {
        t.allowed_hosts = [];
        delete t.base_url;
      },
      ['/base_url: is required when "test_endpoint" is present'],
    ],
    [
      'a base_url with no allowed hosts',
      (t) => {
        t.allowed_hosts = [];
      },
      ['/base_url: needs allowed_hosts that include its host'],
    ],
    [
      'a relative test path',
      (t) => (t.test_endpoint = { method: 'GET', path: 'v2/me', expect_status: 200 }),
      ['/test_endpoint/path: must start with "/" and contain no spaces or fragment'],
    ],
    [
      'a non-2xx expected status',
      (t) => (t.test_endpoint = { method: 'GET', path: '/v2/me', expect_status: 401 }),
      ['/test_endpoint/expect_status: must be <= 299'],
    ],
    [
      'a credential header in test headers',
      (t) => (t.test_endpoint = { method: 'GET', path: '/v2/me', expect_status: 200, headers: { 'x-acme-key': 'k' } }),
      ['/test_endpoint/headers/x-acme-key: "x-acme-key" carries the credential; only the injection sets it'],
    ],
    [
      'a malformed test header name',
      (t) => (t.test_endpoint = { method: 'GET', path: '/v2/me', expect_status: 200, headers: { 'bad header': 'v' } }),
      ['/test_endpoint/headers/bad header: is not a valid HTTP header name'],
    ],
    [
      'a JSON check on HEAD',
      (t) => (t.test_endpoint = { method: 'HEAD', path: '/v2/me', expect_status: 200, expect_json_field_true: 'ok' }),
      ['/test_endpoint/expect_json_field_true: a HEAD response has no body to check'],
    ],
    [
      'Authorization documented as a required header',
      (t) => (t.required_headers = [{ name: 'Authorization', description: 'the key' }]),
      ['/required_headers/0/name: "Authorization" carries the credential; only the injection sets it'],
    ],
    ['an empty value_hint', (t) => (t.value_hint = {}), ['/value_hint: must NOT have fewer than 1 properties']],
  ])('%s', (_name, breakIt, expected) => {
    const template = apiKeyTemplate();
    breakIt(template);
    expect(errorsOf(template)).toEqual(expected);
  });

  it('non-objects', () => {
    expect(errorsOf(null)).toEqual(['/: must be object']);
    expect(errorsOf('stripe')).toEqual(['/: must be object']);
    expect(errorsOf([])).toEqual(['/: must be object']);
  });

  it('reports every problem at once', () => {
    const template = apiKeyTemplate();
    template.id = 'Bad Id';
    template.allowed_hosts = ['*.com'];
    template.injection = { header: 'X-Key', format: 'nothing' };
    delete template.display_name;
    expect(errorsOf(template)).toEqual([
      '/display_name: is required',
      '/id: must be lowercase letters and digits, optionally joined by single hyphens (e.g. "my-api")',
      '/allowed_hosts/0: a wildcard needs at least two labels after "*.", as in "*.example.com"',
      '/base_url: host "api.acme.example" is not in allowed_hosts',
      '/injection/format: must contain {token} exactly once (found 0)',
    ]);
  });
});

describe('validateTemplate rejects custom injections', () => {
  it.each<[string, (inj: Record<string, unknown>) => void, string[]]>([
    [
      'an undeclared field placeholder',
      (inj) => (inj.query = [{ name: 'key', format: '{apikey}' }]),
      [
        '/injection/query/0/format: unknown placeholder {apikey}; use {account_id}, {api_key}',
        '/injection/fields/1: field "api_key" is not used by any header or query format',
      ],
    ],
    [
      '{token} when fields are declared',
      (inj) => (inj.headers = [{ name: 'X-Account', format: '{token}' }]),
      [
        '/injection/headers/0/format: unknown placeholder {token}; use {account_id}, {api_key}',
        '/injection/fields/0: field "account_id" is not used by any header or query format',
      ],
    ],
    [
      'a static header',
      (inj) =>
        (inj.headers = [
          { name: 'X-Account', format: '{account_id}' },
          { name: 'X-Static', format: 'v1' },
        ]),
      [
        '/injection/headers/1/format: must reference the secret with a placeholder such as {token}; static headers are not injected',
      ],
    ],
    [
      'duplicate header names',
      (inj) =>
        (inj.headers = [
          { name: 'X-Account', format: '{account_id}' },
          { name: 'x-account', format: '{api_key}' },
        ]),
      ['/injection/headers/1/name: duplicate header "x-account"'],
    ],
    [
      'duplicate field names',
      (inj) =>
        (inj.fields = [
          { name: 'account_id', label: 'A' },
          { name: 'account_id', label: 'B' },
          { name: 'api_key', label: 'K' },
        ]),
      ['/injection/fields/1/name: duplicate field "account_id"'],
    ],
    [
      'a bad field name',
      (inj) => (inj.fields = [{ name: 'Account', label: 'A' }]),
      [
        '/injection/fields/0/name: must start with a lowercase letter and contain only lowercase letters, digits and underscores (max 32)',
        '/injection/headers/0/format: unknown placeholder {account_id}; use {Account}',
        '/injection/query/0/format: unknown placeholder {api_key}; use {Account}',
        '/injection/fields/0: field "Account" is not used by any header or query format',
      ],
    ],
    [
      'fields that nothing uses',
      (inj) => {
        delete inj.headers;
        delete inj.query;
      },
      ['/injection: declares fields but no headers or query parameters use them'],
    ],
    [
      'a hop-by-hop header',
      (inj) => (inj.headers = [{ name: 'Connection', format: '{account_id}' }]),
      ['/injection/headers/0/name: "Connection" cannot be injected (framing, hop-by-hop or Latchkey header)'],
    ],
    [
      'a bad query name',
      (inj) => (inj.query = [{ name: 'api key', format: '{api_key}' }]),
      ['/injection/query/0/name: must be letters, digits, ".", "_", "~" or "-"'],
    ],
  ])('%s', (_name, breakIt, expected) => {
    const template = customTemplate();
    breakIt(template.injection as Record<string, unknown>);
    expect(errorsOf(template)).toEqual(expected);
  });

  it('only {token} without fields', () => {
    const template = customTemplate();
    template.injection = { headers: [{ name: 'X-Key', format: '{key}' }] };
    expect(errorsOf(template)).toEqual(['/injection/headers/0/format: unknown placeholder {key}; use {token}']);
  });
});
