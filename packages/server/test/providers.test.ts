/**
 * The provider catalog, per-app custom templates and managed-secret tests, over a real socket.
 * Catalog hosts do not resolve here, so the test call runs against a custom template whose
 * secret's base URL is a loopback upstream (allowed through LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const CANARY = 'probe-CANARY-0123456789abcdef';
const UPSTREAM_SECRET_BODY = 'upstream-private-body-do-not-return';

let s: TestServer;
let up: Upstream;
let readOnlyKey: string;

/** A custom managed-secret template whose test endpoint is GET /me?probe=1. */
function acmeTemplate(id = 'acme-api'): Record<string, unknown> {
  return {
    id,
    kind: 'managed_secret',
    display_name: 'Acme API',
    category: 'devtools',
    docs_url: 'https://docs.acme.test/auth',
    credential_type: 'bearer',
    allowed_hosts: ['api.acme.test'],
    base_url: 'https://api.acme.test',
    test_endpoint: {
      method: 'GET',
      path: '/me?probe=1',
      expect_status: 200,
      expect_json_field_true: 'ok',
      headers: { 'X-Probe': 'yes' },
    },
    last4_visible: true,
  };
}

/** A custom OAuth provider entry. */
function acmeOAuth(): Record<string, unknown> {
  return {
    id: 'acme-oauth',
    kind: 'oauth2',
    display_name: 'Acme (OAuth)',
    category: 'devtools',
    docs_url: 'https://docs.acme.test/oauth',
    authorization_endpoint: 'https://auth.acme.test/authorize',
    token_endpoint: 'https://auth.acme.test/token',
    scope_separator: ' ',
    pkce: 'required',
    default_scopes: ['read'],
    token_auth_method: 'client_secret_basic',
    allowed_hosts: ['api.acme.test'],
    base_url: 'https://api.acme.test',
  };
}

beforeAll(async () => {
  up = await startUpstream((req, res) => {
    const good = req.headers.authorization === `Bearer ${CANARY}`;
    res.writeHead(good ? 200 : 401, { 'content-type': 'application/json', 'x-upstream': UPSTREAM_SECRET_BODY });
    res.end(JSON.stringify({ ok: good, note: UPSTREAM_SECRET_BODY }));
  });
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: up.host });
  const minted = await api(s.baseUrl, s.appKey, 'POST', '/v1/keys', { name: 'audit only', scopes: ['audit:read'] });
  expect(minted.status, minted.text).toBe(201);
  readOnlyKey = minted.body.api_key;
});

afterAll(async () => {
  await s?.close();
  await up?.close();
});

describe('GET /v1/providers/catalog', () => {
  it('refuses an unauthenticated request', async () => {
    const r = await api(s.baseUrl, null, 'GET', '/v1/providers/catalog');
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthorized');
  });

  it('refuses a key without providers:read', async () => {
    const r = await api(s.baseUrl, readOnlyKey, 'GET', '/v1/providers/catalog');
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('insufficient_scope');
    expect(r.body.error.details.required_scope).toBe('providers:read');
  });

  it('lists both kinds as data', async () => {
    const r = await api(s.baseUrl, s.appKey, 'GET', '/v1/providers/catalog');
    expect(r.status, r.text).toBe(200);
    const kinds = (r.body.templates as { kind: string }[]).map((t) => t.kind);
    expect(kinds.filter((k) => k === 'managed_secret').length).toBeGreaterThanOrEqual(30);
    expect(kinds.filter((k) => k === 'oauth2').length).toBeGreaterThanOrEqual(15);
    expect(r.body.total).toBe(kinds.length);
    const stripe = (r.body.templates as { id: string }[]).find((t) => t.id === 'stripe');
    expect(stripe).toMatchObject({
      kind: 'managed_secret',
      credential_type: 'bearer',
      base_url: 'https://api.stripe.com',
    });
  });

  it('filters by kind and category', async () => {
    const oauth = await api(s.baseUrl, s.appKey, 'GET', '/v1/providers/catalog?kind=oauth2');
    expect(oauth.status).toBe(200);
    expect((oauth.body.templates as { kind: string }[]).every((t) => t.kind === 'oauth2')).toBe(true);
    const google = (oauth.body.templates as { id: string }[]).find((t) => t.id === 'google');
    expect(google).toMatchObject({
      token_endpoint: 'https://oauth2.googleapis.com/token',
      authorization_params: { access_type: 'offline', prompt: 'consent' },
    });
    const email = await api(s.baseUrl, s.appKey, 'GET', '/v1/providers/catalog?kind=managed_secret&category=email');
    expect((email.body.templates as { id: string }[]).map((t) => t.id)).toEqual(
      expect.arrayContaining(['mailgun', 'postmark', 'sendgrid']),
    );
    expect((email.body.templates as { category: string }[]).every((t) => t.category === 'email')).toBe(true);
  });

  it('answers bad filters with a typed 400', async () => {
    const r = await api(s.baseUrl, s.appKey, 'GET', '/v1/providers/catalog?kind=saml');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
  });
});

describe('custom templates', () => {
  it('refuses unauthenticated requests on every route', async () => {
    for (const [method, path] of [
      ['POST', '/v1/providers/templates'],
      ['GET', '/v1/providers/templates'],
      ['GET', '/v1/providers/templates/acme-api'],
      ['DELETE', '/v1/providers/templates/acme-api'],
    ] as const) {
      const r = await api(s.baseUrl, null, method, path, method === 'POST' ? acmeTemplate() : undefined);
      expect(r.status, `${method} ${path}`).toBe(401);
    }
  });

  it('refuses a key without providers:write', async () => {
    const r = await api(s.baseUrl, readOnlyKey, 'POST', '/v1/providers/templates', acmeTemplate());
    expect(r.status).toBe(403);
    expect(r.body.error.details.required_scope).toBe('providers:write');
  });

  it('rejects an invalid template with every problem listed', async () => {
    const broken = { ...acmeOAuth(), id: 'broken-oauth', token_endpoint: undefined, scope_separator: ';' };
    const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/providers/templates', broken);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    expect(r.body.error.details.errors).toEqual(
      expect.arrayContaining(['/token_endpoint: is required', '/scope_separator: must be one of: " ", ","']),
    );
    const body = await api(s.baseUrl, s.appKey, 'POST', '/v1/providers/templates', ['not', 'an', 'object']);
    expect(body.status).toBe(400);
  });

  it('rejects an id of the catalog', async () => {
    const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/providers/templates', acmeTemplate('stripe'));
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('provider_template_exists');
  });

  it('stores, lists, reads and deletes a template of either kind, and audits the changes', async () => {
    const created = await api(s.baseUrl, s.appKey, 'POST', '/v1/providers/templates', acmeOAuth());
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ id: 'acme-oauth', template: { kind: 'oauth2', pkce: 'required' } });

    const again = await api(s.baseUrl, s.appKey, 'POST', '/v1/providers/templates', acmeOAuth());
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('provider_template_exists');

    const list = await api(s.baseUrl, s.appKey, 'GET', '/v1/providers/templates');
    expect(list.status).toBe(200);
    expect((list.body.templates as { id: string }[]).map((t) => t.id)).toContain('acme-oauth');
    expect(list.body).toMatchObject({ limit: 100, offset: 0, has_more: false });

    const one = await api(s.baseUrl, s.appKey, 'GET', '/v1/providers/templates/acme-oauth');
    expect(one.status).toBe(200);
    expect(one.body.template.token_endpoint).toBe('https://auth.acme.test/token');

    const removed = await api(s.baseUrl, s.appKey, 'DELETE', '/v1/providers/templates/acme-oauth');
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ id: 'acme-oauth', deleted: true });
    const gone = await api(s.baseUrl, s.appKey, 'GET', '/v1/providers/templates/acme-oauth');
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('provider_not_found');
    const twice = await api(s.baseUrl, s.appKey, 'DELETE', '/v1/providers/templates/acme-oauth');
    expect(twice.status).toBe(404);

    const audit = await api(s.baseUrl, s.appKey, 'GET', '/v1/audit?limit=500');
    const events = (audit.body.events as { event: string; provider_id: string | null }[])
      .filter((e) => e.provider_id === 'acme-oauth')
      .map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['provider.template.created', 'provider.template.deleted']));
  });

  it('answers a malformed id with a typed 400', async () => {
    const r = await api(s.baseUrl, s.appKey, 'GET', '/v1/providers/templates/Not_An_Id');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
  });

  it('does not let an OAuth entry back a managed secret', async () => {
    expect((await api(s.baseUrl, s.appKey, 'POST', '/v1/providers/templates', acmeOAuth())).status).toBe(201);
    const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'oauth-backed',
      template_id: 'acme-oauth',
      value: CANARY,
    });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('provider_not_found');
  });
});

describe('POST /v1/managed-secrets/{id}/test', () => {
  let secretId: string;

  beforeAll(async () => {
    const t = await api(s.baseUrl, s.appKey, 'POST', '/v1/providers/templates', acmeTemplate());
    expect(t.status, t.text).toBe(201);
    const created = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'acme-probe',
      template_id: 'acme-api',
      value: CANARY,
      allowed_hosts: [`${up.host}:${up.port}`],
      base_url: up.url,
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.template_id).toBe('acme-api');
    secretId = created.body.id;
  });

  it('refuses an unauthenticated request', async () => {
    const r = await api(s.baseUrl, null, 'POST', `/v1/managed-secrets/${secretId}/test`);
    expect(r.status).toBe(401);
  });

  it('refuses a key without secrets:write', async () => {
    const r = await api(s.baseUrl, readOnlyKey, 'POST', `/v1/managed-secrets/${secretId}/test`);
    expect(r.status).toBe(403);
  });

  it('calls the test endpoint with the credential and reports ok without the body', async () => {
    const before = up.seen.length;
    const r = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/test`);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toEqual({ ok: true, status_code: 200, error_code: null });
    expect(r.text).not.toContain(UPSTREAM_SECRET_BODY);
    expect(r.text).not.toContain(CANARY);
    expect(r.headers.get('x-upstream')).toBeNull();
    expect(up.seen.length).toBe(before + 1);
    const seen = up.seen.at(-1)!;
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/me?probe=1');
    expect(seen.headers.authorization).toBe(`Bearer ${CANARY}`);
    expect(seen.headers['x-probe']).toBe('yes');
  });

  it('audits the call as a probe of this secret', async () => {
    const r = await api(s.baseUrl, s.appKey, 'GET', `/v1/audit?managed_secret_id=${secretId}`);
    const probe = (
      r.body.events as { event: string; details: Record<string, unknown> | null; status_code: number }[]
    ).find((e) => e.event === 'proxy.request.completed');
    expect(probe).toMatchObject({ status_code: 200, details: { front_door: 'probe' } });
    expect(r.text).not.toContain(CANARY);
  });

  it('reports a rejected credential', async () => {
    const rotated = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/rotate`, {
      value: 'wrong-value-0123456789',
    });
    expect(rotated.status).toBe(200);
    const r = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/test`);
    expect(r.body).toEqual({ ok: false, status_code: 401, error_code: null });
    await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/rotate`, { value: CANARY });
  });

  it('reports an unreachable upstream without throwing', async () => {
    const closed = await startUpstream(undefined, '127.0.0.3');
    const url = closed.url;
    await closed.close();
    const created = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'acme-down',
      template_id: 'acme-api',
      value: CANARY,
      allowed_hosts: [new URL(url).host],
      base_url: url,
    });
    expect(created.status, created.text).toBe(201);
    const r = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${created.body.id}/test`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: false, status_code: null });
    expect(r.body.error_code).toMatch(/^(upstream_unreachable|egress_denied|policy_violation)$/);
  });

  it('answers 409 for a secret without a test endpoint and 404 for an unknown one', async () => {
    const plain = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'no-template',
      type: 'bearer',
      value: CANARY,
      allowed_hosts: ['api.example.com'],
    });
    expect(plain.status).toBe(201);
    const r = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${plain.body.id}/test`);
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('managed_secret_not_testable');

    const unknown = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets/ms_000000000000000000000000/test');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('managed_secret_not_found');

    const bad = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets/not-a-secret/test');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });

  it('stops testing once the template is deleted, while the secret keeps working', async () => {
    expect((await api(s.baseUrl, s.appKey, 'DELETE', '/v1/providers/templates/acme-api')).status).toBe(200);
    const r = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/test`);
    expect(r.status).toBe(409);
    expect((await api(s.baseUrl, s.appKey, 'GET', `/v1/managed-secrets/${secretId}`)).status).toBe(200);
  });
});
