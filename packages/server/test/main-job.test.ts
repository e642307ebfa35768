import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { api } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';
import { signedHeaders } from './helpers/signed.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';
import { startVerifyingUpstream } from './helpers/verifying-upstream.js';

const creds = {
  bearer: 'bearer-CANARY-0123456789abcdef',
  apiKey: 'apikey-CANARY-0123456789abcdef',
  basic: { username: 'basic-user-CANARY', password: 'basic-pass-CANARY-0123456789' },
  custom: { account: 'acct-CANARY-42', secret: 'custom-sig-CANARY-0123456789' },
};

let up: Upstream;
let s: TestServer;
const grants: Record<string, string> = {};
const secrets: Record<string, string> = {};

const forward = (grantId: string, target: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  fetch(`${s.baseUrl}/v1/forward`, {
    ...init,
    headers: {
      authorization: `Bearer ${s.appKey}`,
      'latchkey-target': target,
      'latchkey-grant-id': grantId,
      ...(init.headers ?? {}),
    },
  });

beforeAll(async () => {
  up = await startVerifyingUpstream(creds);
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: up.host });
  const host = `${up.host}:${up.port}`;
  const defs = {
    bearer: { slug: 'bearer', type: 'bearer', value: creds.bearer, allowed_hosts: [host] },
    api_key: {
      slug: 'apikey',
      type: 'api_key',
      value: creds.apiKey,
      injection: { header: 'X-Api-Key', format: 'Key {token}' },
      allowed_hosts: [host],
    },
    basic: { slug: 'basic', type: 'basic', value: creds.basic, allowed_hosts: [host] },
    custom: {
      slug: 'custom',
      type: 'custom',
      value: creds.custom,
      injection: {
        headers: [{ name: 'X-Account', format: '{account}' }],
        query: [{ name: 'sig', format: '{secret}' }],
      },
      allowed_hosts: [host],
    },
  };
  for (const [name, def] of Object.entries(defs)) {
    const created = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', def);
    expect(created.status, created.text).toBe(201);
    secrets[name] = created.body.id;
    const g = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${created.body.id}/grants`, {
      principal: { type: 'system', label: name },
    });
    expect(g.status, g.text).toBe(201);
    grants[name] = g.body.grant_id;
  }
});

afterAll(async () => {
  await s?.close();
  await up?.close();
});

const paths: Record<string, string> = { bearer: '/bearer', api_key: '/api-key', basic: '/basic', custom: '/custom' };

describe('every credential type reaches a verifying upstream', () => {
  for (const type of ['bearer', 'api_key', 'basic', 'custom']) {
    test(`${type} through /v1/forward (bearer-authenticated caller)`, async () => {
      const res = await forward(grants[type]!, `${up.url}${paths[type]}`, {
        headers: { authorization: `Bearer ${s.appKey}` },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ ok: true, path: paths[type] });
    });
    test(`${type} through /v1/forward (signed caller, with a body)`, async () => {
      const url = `${s.baseUrl}/v1/forward`;
      const body = new TextEncoder().encode('{"hello":"world"}');
      const headers = signedHeaders(
        s.appKey,
        'POST',
        url,
        {
          'content-type': 'application/json',
          'latchkey-target': `${up.url}${paths[type]}`,
          'latchkey-grant-id': grants[type]!,
        },
        body,
      );
      const res = await fetch(url, { method: 'POST', headers, body });
      expect(res.status).toBe(200);
      expect(up.seen.at(-1)!.body.toString()).toBe('{"hello":"world"}');
      // Latchkey's own signature headers never reach the upstream.
      expect(up.seen.at(-1)!.headers['signature']).toBeUndefined();
      expect(up.seen.at(-1)!.headers['signature-input']).toBeUndefined();
    });
    test(`${type} through /v1/proxy`, async () => {
      const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/proxy', {
        method: 'GET',
        url: `${up.url}${paths[type]}`,
        grant_id: grants[type],
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body.status_code).toBe(200);
      expect(JSON.parse(Buffer.from(r.body.body_b64, 'base64').toString())).toEqual({ ok: true, path: paths[type] });
    });
  }

  test('the caller cannot smuggle its own Authorization or latchkey-* headers upstream', async () => {
    const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/proxy', {
      method: 'GET',
      url: `${up.url}/bearer`,
      grant_id: grants.bearer,
      headers: { Authorization: 'Bearer attacker', 'latchkey-grant-id': 'x', Cookie: 'a=b' },
    });
    expect(r.body.status_code).toBe(200);
    const seen = up.seen.at(-1)!;
    expect(seen.headers.authorization).toBe(`Bearer ${creds.bearer}`);
    expect(seen.headers.cookie).toBeUndefined();
    expect(Object.keys(seen.headers).some((h) => h.startsWith('latchkey-'))).toBe(false);
  });

  test('an upstream that echoes the credential gets it redacted (envelope body and headers, forward headers)', async () => {
    const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/proxy', {
      method: 'GET',
      url: `${up.url}/echo`,
      grant_id: grants.bearer,
    });
    const body = Buffer.from(r.body.body_b64, 'base64').toString();
    expect(body).toContain('[REDACTED]');
    expect(body).not.toContain(creds.bearer);
    expect(r.body.headers['x-echo-auth']).toBe('Bearer [REDACTED]');
    const f = await forward(grants.bearer!, `${up.url}/echo`);
    expect(f.headers.get('x-echo-auth')).toBe('Bearer [REDACTED]');
  });
});

describe('rotation, revocation, deletion', () => {
  test('rotating in place keeps ids and grants; the upstream sees the new value', async () => {
    const rotated = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/rotate`, {
      value: 'wrong-value-0123456789',
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.id).toBe(secrets.bearer);
    expect(rotated.body.version).toBe(2);
    const denied = await forward(grants.bearer!, `${up.url}/bearer`);
    expect(denied.status).toBe(401); // the upstream itself refuses the wrong value
    expect(denied.headers.get('latchkey-error')).toBeNull();
    const back = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/rotate`, {
      value: creds.bearer,
    });
    expect(back.body.version).toBe(3);
    expect((await forward(grants.bearer!, `${up.url}/bearer`)).status).toBe(200);
  });

  test('a revoked grant is refused at once on both doors, and the upstream is not called', async () => {
    const g = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/grants`, {
      principal: { type: 'system' },
    });
    expect((await forward(g.body.grant_id, `${up.url}/bearer`)).status).toBe(200);
    const before = up.seen.length;
    const rev = await api(s.baseUrl, s.appKey, 'POST', `/v1/grants/${g.body.grant_id}/revoke`, { reason: 'test' });
    expect(rev.body.status).toBe('revoked');
    expect(rev.body.revoked_reason).toBe('test');
    const f = await forward(g.body.grant_id, `${up.url}/bearer`);
    expect(f.status).toBe(403);
    expect(f.headers.get('latchkey-error')).toBe('1');
    expect((await f.json()).error.code).toBe('grant_revoked');
    const p = await api(s.baseUrl, s.appKey, 'POST', '/v1/proxy', {
      method: 'GET',
      url: `${up.url}/bearer`,
      grant_id: g.body.grant_id,
    });
    expect(p.body.error.code).toBe('grant_revoked');
    expect(up.seen.length).toBe(before);
  });

  test('revoke accepts a POST without a body (regression: the SDK sends none)', async () => {
    const g = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/grants`, {
      principal: { type: 'system' },
    });
    const res = await fetch(`${s.baseUrl}/v1/grants/${g.body.grant_id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.appKey}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('revoked');
  });

  test('deleting a secret revokes its grants and frees its slug', async () => {
    const c = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'doomed',
      type: 'bearer',
      value: 'doomed-value-0123456789',
      allowed_hosts: [`${up.host}:${up.port}`],
    });
    const g1 = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${c.body.id}/grants`, {
      principal: { type: 'system' },
    });
    const g2 = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${c.body.id}/grants`, {
      principal: { type: 'agent', label: 'bot' },
    });
    const d = await api(s.baseUrl, s.appKey, 'DELETE', `/v1/managed-secrets/${c.body.id}`);
    expect(d.body).toEqual({ id: c.body.id, deleted: true, revoked_grants: 2 });
    expect((await api(s.baseUrl, s.appKey, 'GET', `/v1/grants/${g1.body.grant_id}`)).body.status).toBe('revoked');
    expect((await api(s.baseUrl, s.appKey, 'GET', `/v1/grants/${g2.body.grant_id}`)).body.status).toBe('revoked');
    expect((await api(s.baseUrl, s.appKey, 'GET', `/v1/managed-secrets/${c.body.id}`)).body.error.code).toBe(
      'managed_secret_not_found',
    );
    expect((await forward(g1.body.grant_id, `${up.url}/bearer`)).status).toBe(403);
    const again = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'doomed',
      type: 'bearer',
      value: 'doomed-value-0123456789',
      allowed_hosts: [`${up.host}:${up.port}`],
    });
    expect(again.status).toBe(201);
  });

  test('a duplicate slug is a 409', async () => {
    const r = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'bearer',
      type: 'bearer',
      value: 'x-0123456789abcdef',
      allowed_hosts: ['api.example.com'],
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('managed_secret_slug_exists');
  });
});

describe('grant policy and principals', () => {
  test('default_ttl_seconds makes the grant expire; status is derived from the clock', async () => {
    const g = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/grants`, {
      principal: { type: 'system' },
      grant_policy: { default_ttl_seconds: 1, max_ttl_seconds: 60 },
    });
    expect(g.status).toBe(201);
    expect(g.body.status).toBe('active');
    expect((await forward(g.body.grant_id, `${up.url}/bearer`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const f = await forward(g.body.grant_id, `${up.url}/bearer`);
    expect(f.status).toBe(403);
    expect((await f.json()).error.code).toBe('grant_expired');
    expect((await api(s.baseUrl, s.appKey, 'GET', `/v1/grants/${g.body.grant_id}`)).body.status).toBe('expired');
  });

  test('contradictory policies are refused with the field named', async () => {
    const past = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/grants`, {
      principal: { type: 'system' },
      grant_policy: { expires_at: '2000-01-01T00:00:00Z' },
    });
    expect(past.status).toBe(400);
    expect(past.body.error.details.field).toBe('grant_policy.expires_at');
    const over = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/grants`, {
      principal: { type: 'system' },
      grant_policy: { default_ttl_seconds: 100, max_ttl_seconds: 10 },
    });
    expect(over.body.error.details.field).toBe('grant_policy.default_ttl_seconds');
    const beyond = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/grants`, {
      principal: { type: 'system' },
      grant_policy: { expires_at: new Date(Date.now() + 3600_000).toISOString(), max_ttl_seconds: 60 },
    });
    expect(beyond.body.error.details.field).toBe('grant_policy.expires_at');
  });

  test('user and group principals are refused with a clear 400 until identity exists', async () => {
    for (const principal of [
      { type: 'user', user_token: 'x' },
      { type: 'group', external_group_id: 'eng' },
    ]) {
      const r = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secrets.bearer}/grants`, { principal });
      expect(r.status).toBe(400);
      expect(r.body.error.code).toBe('principal_not_supported');
    }
  });

  test('GET /v1/grants is paginated and filterable', async () => {
    const page = await api(s.baseUrl, s.appKey, 'GET', '/v1/grants?limit=2&offset=0');
    expect(page.body.grants).toHaveLength(2);
    expect(page.body.limit).toBe(2);
    expect(page.body.total).toBeGreaterThan(4);
    expect(page.body.has_more).toBe(true);
    expect(page.body.grants[0].grant_kind).toBe('managed_secret');
    const revoked = await api(s.baseUrl, s.appKey, 'GET', '/v1/grants?status=revoked');
    expect(revoked.body.grants.length).toBeGreaterThan(0);
    expect(revoked.body.grants.every((g: { status: string }) => g.status === 'revoked')).toBe(true);
  });
});

describe('tenancy, keys and authentication', () => {
  test("another app's key sees none of this app's objects (404, never 403)", async () => {
    const other = await s.lk.services.apps.createApp('other');
    const { apiKey } = await s.lk.services.keys.mint(
      other.id,
      { scopes: ['*'], signed_only: false },
      { keyPrefix: null },
    );
    expect((await api(s.baseUrl, apiKey, 'GET', `/v1/managed-secrets/${secrets.bearer}`)).status).toBe(404);
    expect((await api(s.baseUrl, apiKey, 'GET', `/v1/grants/${grants.bearer}`)).status).toBe(404);
    const f = await fetch(`${s.baseUrl}/v1/forward`, {
      headers: {
        authorization: `Bearer ${apiKey}`,
        'latchkey-target': `${up.url}/bearer`,
        'latchkey-grant-id': grants.bearer!,
      },
    });
    expect(f.status).toBe(404);
    expect((await f.json()).error.code).toBe('grant_not_found');
    expect((await api(s.baseUrl, apiKey, 'GET', '/v1/grants')).body.total).toBe(0);
    // A lookup of this app's credential on behalf of the other app finds nothing, and caches no
    // miss that would hide the credential from its own app.
    expect(await s.lk.services.secrets.getCredential(other.id, secrets.bearer!)).toBeUndefined();
    expect((await s.lk.services.secrets.getCredential(s.appId, secrets.bearer!))?.secretId).toBe(secrets.bearer);
  });

  test('a key without proxy:execute cannot call APIs; scopes are enforced per route', async () => {
    const minted = await api(s.baseUrl, s.appKey, 'POST', '/v1/keys', { name: 'reader', scopes: ['grants:read'] });
    expect(minted.status).toBe(201);
    expect(minted.body.api_key).toMatch(/^lk_app_[0-9A-Za-z]{40,}$/);
    const k = minted.body.api_key as string;
    expect((await api(s.baseUrl, k, 'GET', '/v1/grants')).status).toBe(200);
    const w = await api(s.baseUrl, k, 'POST', `/v1/managed-secrets/${secrets.bearer}/grants`, {
      principal: { type: 'system' },
    });
    expect(w.status).toBe(403);
    expect(w.body.error.details.required_scope).toBe('grants:write');
    const f = await fetch(`${s.baseUrl}/v1/forward`, {
      headers: {
        authorization: `Bearer ${k}`,
        'latchkey-target': `${up.url}/bearer`,
        'latchkey-grant-id': grants.bearer!,
      },
    });
    expect(f.status).toBe(403);
    expect((await f.json()).error.code).toBe('insufficient_scope');
    // listing shows metadata only, never the key
    const list = await api(s.baseUrl, s.appKey, 'GET', '/v1/keys');
    expect(list.text).not.toContain(k);
    expect(list.body.keys.some((x: { key_prefix: string }) => x.key_prefix === k.slice(0, 12))).toBe(true);
  });

  test('a revoked key gets key_revoked; signed_only keys refuse bearer use', async () => {
    const m = await api(s.baseUrl, s.appKey, 'POST', '/v1/keys', { scopes: ['grants:read'], signed_only: true });
    const k = m.body.api_key as string;
    const bearer = await api(s.baseUrl, k, 'GET', '/v1/grants');
    expect(bearer.body.error.code).toBe('signed_request_required');
    const url = `${s.baseUrl}/v1/grants`;
    expect((await fetch(url, { headers: signedHeaders(k, 'GET', url) })).status).toBe(200);
    await api(s.baseUrl, s.appKey, 'POST', `/v1/keys/${m.body.key.key_id}/revoke`);
    const after = await fetch(url, { headers: signedHeaders(k, 'GET', url) });
    expect(after.status).toBe(401);
    expect((await after.json()).error.code).toBe('key_revoked');
  });

  test('replay, clock skew, tampering and an unknown key all get the same 401 body', async () => {
    const url = `${s.baseUrl}/v1/grants`;
    const strip = (b: { error: Record<string, unknown> }): Record<string, unknown> => ({
      ...b.error,
      request_id: undefined,
    });
    const headers = signedHeaders(s.appKey, 'GET', url);
    expect((await fetch(url, { headers })).status).toBe(200);
    const replay = await fetch(url, { headers });
    const skew = await fetch(url, {
      headers: signedHeaders(s.appKey, 'GET', url, {}, undefined, Date.now() - 3600_000),
    });
    const tampered = await fetch(`${url}?status=active`, { headers: signedHeaders(s.appKey, 'GET', url) });
    const unknown = await fetch(url, { headers: signedHeaders('lk_app_' + 'A'.repeat(43), 'GET', url) });
    const bodies = [];
    for (const r of [replay, skew, tampered, unknown]) {
      expect(r.status).toBe(401);
      bodies.push(strip(await r.json()));
    }
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect((bodies[0] as Record<string, unknown>).code).toBe('unauthorized');
  });

  test('latchkey-* headers are covered by the signature: retargeting or adding one is refused', async () => {
    const url = `${s.baseUrl}/v1/forward`;
    const base = { 'latchkey-target': `${up.url}/bearer`, 'latchkey-grant-id': grants.bearer! };
    const good = signedHeaders(s.appKey, 'GET', url, base);
    expect(good['signature-input']).toContain('"latchkey-grant-id" "latchkey-target"');
    const before = up.seen.length;
    const retargeted = await fetch(url, { headers: { ...good, 'latchkey-target': `${up.url}/echo` } });
    expect(retargeted.status).toBe(401);
    const added = await fetch(url, {
      headers: { ...signedHeaders(s.appKey, 'GET', url, base), 'latchkey-reason': 'x' },
    });
    expect(added.status).toBe(401);
    expect(up.seen.length).toBe(before);
    expect((await fetch(url, { headers: signedHeaders(s.appKey, 'GET', url, base) })).status).toBe(200);
  });

  test('a signed body that does not match its Content-Digest is refused before any upstream call', async () => {
    const url = `${s.baseUrl}/v1/forward`;
    const before = up.seen.length;
    const headers = signedHeaders(
      s.appKey,
      'POST',
      url,
      { 'content-type': 'text/plain', 'latchkey-target': `${up.url}/bearer`, 'latchkey-grant-id': grants.bearer! },
      new TextEncoder().encode('original'),
    );
    const r = await fetch(url, { method: 'POST', headers, body: 'tampered' });
    expect(r.status).toBe(401);
    expect(up.seen.length).toBe(before);
  });
});

describe('upstream behaviour', () => {
  test('typed upstream errors: unreachable → 502, slow → 504', async () => {
    const dead = await startUpstream(undefined, '127.0.0.5');
    const deadPort = dead.port;
    await dead.close();
    const c = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'dead',
      type: 'bearer',
      value: 'dead-value-0123456789',
      allowed_hosts: [`127.0.0.5:${deadPort}`],
    });
    const g = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${c.body.id}/grants`, {
      principal: { type: 'system' },
    });
    const http = await fetch(`${s.baseUrl}/v1/forward`, {
      headers: {
        authorization: `Bearer ${s.appKey}`,
        'latchkey-target': `https://127.0.0.5:${deadPort}/`,
        'latchkey-grant-id': g.body.grant_id,
      },
    });
    expect(http.status).toBe(502);
    const body = await http.json();
    expect(body.error.code).toBe('upstream_unreachable');
    expect(JSON.stringify(body)).not.toContain(String(deadPort));
  });

  test('a slow upstream times out with 504 upstream_timeout', async () => {
    const slow = await startUpstream((_req, res) => {
      setTimeout(() => {
        res.writeHead(200);
        res.end('late');
      }, 2000);
    }, '127.0.0.6');
    const s2 = await startServer({
      LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: slow.host,
      LATCHKEY_UPSTREAM_HEADERS_TIMEOUT_MS: '300',
    });
    try {
      const c = await api(s2.baseUrl, s2.appKey, 'POST', '/v1/managed-secrets', {
        slug: 'slow',
        type: 'bearer',
        value: 'slow-value-0123456789',
        allowed_hosts: [`${slow.host}:${slow.port}`],
      });
      const g = await api(s2.baseUrl, s2.appKey, 'POST', `/v1/managed-secrets/${c.body.id}/grants`, {
        principal: { type: 'system' },
      });
      const r = await api(s2.baseUrl, s2.appKey, 'POST', '/v1/proxy', {
        method: 'GET',
        url: `${slow.url}/`,
        grant_id: g.body.grant_id,
      });
      expect(r.status).toBe(504);
      expect(r.body.error.code).toBe('upstream_timeout');
    } finally {
      await s2.close();
      await slow.close();
    }
  });

  test('forward streams: the first chunk arrives before the upstream finishes (SSE)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sse = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      void gate.then(() => res.end('data: last\n\n'));
    }, '127.0.0.7');
    const c = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
      slug: 'sse',
      type: 'bearer',
      value: 'sse-value-0123456789',
      allowed_hosts: [`${sse.host}:${sse.port}`],
    });
    const g = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${c.body.id}/grants`, {
      principal: { type: 'system' },
    });
    const s3 = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: sse.host });
    await s3.close();
    const res = await fetch(`${s.baseUrl}/v1/forward`, {
      headers: {
        authorization: `Bearer ${s.appKey}`,
        'latchkey-target': `http://${sse.host}:${sse.port}/stream`,
        'latchkey-grant-id': g.body.grant_id,
      },
    });
    expect(res.status).toBe(403); // http is not allowed for this host on this server
    await sse.close();
    release();
  });

  test('the envelope caps the body and says so', async () => {
    const big = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(5000));
    }, '127.0.0.8');
    const s2 = await startServer({
      LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: big.host,
      LATCHKEY_PROXY_MAX_RESPONSE_BYTES: '1024',
    });
    try {
      const c = await api(s2.baseUrl, s2.appKey, 'POST', '/v1/managed-secrets', {
        slug: 'big',
        type: 'bearer',
        value: 'big-value-0123456789',
        allowed_hosts: [`${big.host}:${big.port}`],
      });
      const g = await api(s2.baseUrl, s2.appKey, 'POST', `/v1/managed-secrets/${c.body.id}/grants`, {
        principal: { type: 'system' },
      });
      const r = await api(s2.baseUrl, s2.appKey, 'POST', '/v1/proxy', {
        method: 'GET',
        url: `${big.url}/`,
        grant_id: g.body.grant_id,
      });
      expect(r.body.body_truncated).toBe(true);
      expect(Buffer.from(r.body.body_b64, 'base64').length).toBe(1024);
      const f = await fetch(`${s2.baseUrl}/v1/forward`, {
        headers: {
          authorization: `Bearer ${s2.appKey}`,
          'latchkey-target': `${big.url}/`,
          'latchkey-grant-id': g.body.grant_id,
        },
      });
      expect((await f.text()).length).toBe(5000); // forward passes any size through
    } finally {
      await s2.close();
      await big.close();
    }
  });
});
