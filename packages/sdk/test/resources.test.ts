/**
 * Keys, managed secrets, grants and audit against a real local HTTP server: what goes on the wire
 * (method, path, query, snake_case body valid for the contract's zod schema, signature headers) and
 * what comes back (camelCase, Dates, frozen).
 */
import * as api from '@latchkey/api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { App, GrantNotFoundError, LatchkeyValueError } from '../src/index.js';
import { wireAuditEvent, wireGrant, wireKey, wireSecret } from './helpers/fixtures.js';
import { GRANT_ID, TEST_API_KEY, TS, sendError, sendJson, startServer, type TestServer } from './helpers/server.js';

let server: TestServer;
let app: App;

beforeAll(async () => {
  server = await startServer();
  app = new App({ apiKey: TEST_API_KEY, baseUrl: server.url });
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

function isDeepFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || v instanceof Date || ArrayBuffer.isView(v)) return true;
  return Object.isFrozen(v) && Object.values(v).every(isDeepFrozen);
}

function last() {
  const r = server.requests.at(-1);
  if (r === undefined) throw new Error('no request recorded');
  return r;
}

describe('keys', () => {
  it('mint sends a MintKeyBody and returns { key, apiKey } in camelCase, frozen', async () => {
    server.handle((_, res) => sendJson(res, 201, { key: wireKey, api_key: 'lk_app_newkey' }));
    const result = await app.keys.mint({
      name: 'worker',
      scopes: ['proxy:execute'],
      expiresAt: new Date(TS),
      signedOnly: true,
      cidrs: ['10.0.0.0/8'],
    });
    const req = last();
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/keys');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.json).toEqual({
      name: 'worker',
      scopes: ['proxy:execute'],
      expires_at: TS,
      signed_only: true,
      cidrs: ['10.0.0.0/8'],
    });
    expect(api.MintKeyBody.strict().parse(req.json)).toBeTruthy();
    expect(result.apiKey).toBe('lk_app_newkey');
    expect(result.key).toEqual({
      keyId: wireKey.key_id,
      keyPrefix: wireKey.key_prefix,
      kind: 'app',
      name: 'worker',
      scopes: ['proxy:execute'],
      cidrs: ['10.0.0.0/8'],
      status: 'active',
      signedOnly: true,
      rateLimitRpm: 600,
      createdAt: new Date(TS),
      expiresAt: null,
      revokedAt: null,
    });
    expect(isDeepFrozen(result)).toBe(true);
  });

  it('list sends limit/offset and maps the page', async () => {
    server.handle((_, res) => sendJson(res, 200, { keys: [wireKey], total: 1, limit: 10, offset: 0, has_more: false }));
    const page = await app.keys.list({ limit: 10 });
    expect(last().url).toBe('/v1/keys?limit=10&offset=0');
    expect(page.total).toBe(1);
    expect(page.hasMore).toBe(false);
    expect(page.keys[0]?.keyId).toBe(wireKey.key_id);
    expect(isDeepFrozen(page)).toBe(true);
  });

  it('revoke posts to /v1/keys/{key_id}/revoke without a body', async () => {
    server.handle((_, res) => sendJson(res, 200, { ...wireKey, status: 'revoked', revoked_at: TS }));
    const k = await app.keys.revoke(wireKey.key_id);
    const req = last();
    expect(req.method).toBe('POST');
    expect(req.url).toBe(`/v1/keys/${wireKey.key_id}/revoke`);
    expect(req.body.length).toBe(0);
    expect(req.headers['content-type']).toBeUndefined();
    expect(req.headers['signature-input']).toContain('("@method" "@target-uri")');
    expect(k.revokedAt).toEqual(new Date(TS));
  });

  it('rejects bad arguments before any I/O', async () => {
    await expect(app.keys.mint({ scopes: [] })).rejects.toBeInstanceOf(LatchkeyValueError);
    await expect(app.keys.mint({ scopes: ['x'], expiresAt: 'not a date' })).rejects.toBeInstanceOf(LatchkeyValueError);
    await expect(app.keys.list({ limit: 501 })).rejects.toBeInstanceOf(LatchkeyValueError);
    expect(server.requests).toHaveLength(0);
  });
});

describe('managed secrets', () => {
  beforeEach(() => server.handle((_, res) => sendJson(res, 200, wireSecret)));

  it('create sends a strict CreateSecretBody, value and injection verbatim', async () => {
    const s = await app.managedSecrets.create({
      slug: 'stripe',
      name: 'Stripe',
      templateId: 'stripe',
      type: 'custom',
      value: { client_id: 'abc', Client_Secret_X: 'def' },
      injection: { headers: [{ name: 'X-Client-Id', format: '{client_id}' }] },
      allowedHosts: ['api.stripe.com'],
    });
    const req = last();
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/managed-secrets');
    expect(req.json).toEqual({
      slug: 'stripe',
      name: 'Stripe',
      template_id: 'stripe',
      type: 'custom',
      value: { client_id: 'abc', Client_Secret_X: 'def' },
      injection: { headers: [{ name: 'X-Client-Id', format: '{client_id}' }] },
      allowed_hosts: ['api.stripe.com'],
    });
    expect(() => api.CreateSecretBody.parse({ ...(req.json as object), value: { client_id: 'abc' } })).not.toThrow();
    expect(s).toMatchObject({
      id: wireSecret.id,
      templateId: null,
      allowedHosts: ['api.stripe.com'],
      baseUrl: null,
      injection: { headers: [{ name: 'x-client-id', format: '{client_id}' }] },
      createdAt: new Date(TS),
      rotatedAt: null,
    });
    expect(isDeepFrozen(s)).toBe(true);
  });

  it('get, update, rotate and delete use the right method, path and body', async () => {
    await app.managedSecrets.get('ms_abcdefgh1234');
    expect([last().method, last().url]).toEqual(['GET', '/v1/managed-secrets/ms_abcdefgh1234']);

    await app.managedSecrets.update('ms_abcdefgh1234', { description: null, allowedHosts: ['*.example.com'] });
    expect([last().method, last().url]).toEqual(['PATCH', '/v1/managed-secrets/ms_abcdefgh1234']);
    expect(last().json).toEqual({ description: null, allowed_hosts: ['*.example.com'] });
    expect(() => api.UpdateSecretBody.parse(last().json)).not.toThrow();

    await app.managedSecrets.rotate('ms_abcdefgh1234', { username: 'u', password: 'p' });
    expect([last().method, last().url]).toEqual(['POST', '/v1/managed-secrets/ms_abcdefgh1234/rotate']);
    expect(api.RotateSecretBody.parse(last().json)).toEqual({ value: { username: 'u', password: 'p' } });

    server.handle((_, res) => sendJson(res, 200, { id: 'ms_abcdefgh1234', deleted: true, revoked_grants: 3 }));
    const d = await app.managedSecrets.delete('ms_abcdefgh1234');
    expect([last().method, last().url]).toEqual(['DELETE', '/v1/managed-secrets/ms_abcdefgh1234']);
    expect(d).toEqual({ id: 'ms_abcdefgh1234', deleted: true, revokedGrants: 3 });
    expect(Object.isFrozen(d)).toBe(true);
  });

  it('encodes ids as one path segment', async () => {
    await app.managedSecrets.get('../keys?x=1');
    expect(last().url).toBe('/v1/managed-secrets/..%2Fkeys%3Fx%3D1');
  });

  it('list maps managed_secrets', async () => {
    server.handle((_, res) =>
      sendJson(res, 200, { managed_secrets: [wireSecret], total: 5, limit: 1, offset: 2, has_more: true }),
    );
    const page = await app.managedSecrets.list({ limit: 1, offset: 2 });
    expect(last().url).toBe('/v1/managed-secrets?limit=1&offset=2');
    expect(page).toMatchObject({ total: 5, limit: 1, offset: 2, hasMore: true });
    expect(page.managedSecrets[0]?.slug).toBe('stripe');
  });
});

describe('grants', () => {
  beforeEach(() => server.handle((_, res) => sendJson(res, 201, wireGrant)));

  it.each([
    [{ type: 'system' } as const, { type: 'system' }],
    [
      { type: 'agent', agentId: 'agt_abcdefgh', label: 'bot' } as const,
      { type: 'agent', agent_id: 'agt_abcdefgh', label: 'bot' },
    ],
    [{ type: 'user', userToken: 'eyJ.x.y' } as const, { type: 'user', user_token: 'eyJ.x.y' }],
    [
      { type: 'group', externalGroupId: 'eng', idpId: 'okta' } as const,
      { type: 'group', external_group_id: 'eng', idp_id: 'okta' },
    ],
  ])('createManagedSecretGrant sends principal %o as %o', async (principal, wire) => {
    await app.createManagedSecretGrant('ms_abcdefgh1234', {
      principal,
      grantPolicy: { expiresAt: TS, maxTtlSeconds: 3600, defaultTtlSeconds: 600 },
      label: 'billing',
    });
    const req = last();
    expect([req.method, req.url]).toEqual(['POST', '/v1/managed-secrets/ms_abcdefgh1234/grants']);
    expect(req.json).toEqual({
      principal: wire,
      grant_policy: { expires_at: TS, max_ttl_seconds: 3600, default_ttl_seconds: 600 },
      label: 'billing',
    });
    expect(() => api.CreateGrantBody.parse(req.json)).not.toThrow();
  });

  it('maps a grant to camelCase with Dates, frozen', async () => {
    const g = await app.createManagedSecretGrant('ms_abcdefgh1234', { principal: { type: 'system' } });
    expect(g).toEqual({
      grantId: GRANT_ID,
      grantKind: 'managed_secret',
      managedSecretId: 'ms_abcdefgh1234',
      providerId: null,
      principal: {
        type: 'agent',
        label: 'bot',
        agentId: 'agt_abcdefgh',
        appUserId: null,
        externalGroupId: null,
        idpId: null,
      },
      label: 'billing',
      status: 'active',
      grantPolicy: { expiresAt: new Date(TS), maxTtlSeconds: 3600, defaultTtlSeconds: null },
      createdAt: new Date(TS),
      expiresAt: new Date(TS),
      revokedAt: null,
      revokedReason: null,
    });
    expect(isDeepFrozen(g)).toBe(true);
    expect(() => {
      (g as { status: string }).status = 'revoked';
    }).toThrow(TypeError);
  });

  it('getGrant, listGrants and revokeGrant', async () => {
    server.handle((_, res) => sendJson(res, 200, wireGrant));
    await app.getGrant(GRANT_ID);
    expect([last().method, last().url]).toEqual(['GET', `/v1/grants/${GRANT_ID}`]);

    server.handle((_, res) =>
      sendJson(res, 200, { grants: [wireGrant], total: 1, limit: 100, offset: 0, has_more: false }),
    );
    const page = await app.listGrants({
      managedSecretId: 'ms_abcdefgh1234',
      grantKind: 'managed_secret',
      status: 'active',
    });
    expect(last().url).toBe(
      '/v1/grants?managed_secret_id=ms_abcdefgh1234&grant_kind=managed_secret&status=active&limit=100&offset=0',
    );
    expect(page.grants[0]?.grantId).toBe(GRANT_ID);
    expect(isDeepFrozen(page)).toBe(true);

    server.handle((_, res) =>
      sendJson(res, 200, { ...wireGrant, status: 'revoked', revoked_at: TS, revoked_reason: 'bye' }),
    );
    const revoked = await app.revokeGrant(GRANT_ID, { reason: 'bye' });
    expect([last().method, last().url]).toEqual(['POST', `/v1/grants/${GRANT_ID}/revoke`]);
    expect(api.RevokeGrantBody.parse(last().json)).toEqual({ reason: 'bye' });
    expect(revoked.revokedReason).toBe('bye');
  });

  it('maps grant_not_found to GrantNotFoundError with request id', async () => {
    server.handle((_, res) => sendError(res, 'grant_not_found'));
    const err = await app.getGrant(GRANT_ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GrantNotFoundError);
    expect(err).toMatchObject({ code: 'grant_not_found', status: 404, requestId: 'req_test_1' });
  });

  it('rejects a principal without a known type, and a non-UUID grant id, before any I/O', async () => {
    server.requests.length = 0;
    await expect(
      app.createManagedSecretGrant('ms_abcdefgh1234', { principal: { type: 'robot' } as never }),
    ).rejects.toBeInstanceOf(LatchkeyValueError);
    await expect(
      app.createManagedSecretGrant('ms_abcdefgh1234', { principal: { type: 'user' } as never }),
    ).rejects.toBeInstanceOf(LatchkeyValueError);
    await expect(app.getGrant('not-a-uuid')).rejects.toBeInstanceOf(LatchkeyValueError);
    expect(server.requests).toHaveLength(0);
  });
});

describe('audit', () => {
  it('list sends snake_case filters and maps events without touching context keys', async () => {
    server.handle((_, res) => sendJson(res, 200, { events: [wireAuditEvent], next_cursor: '7', has_more: true }));
    const page = await app.audit.list({
      grantId: GRANT_ID,
      outcome: 'success',
      keyPrefix: 'lk_app_01234',
      since: new Date(TS),
      cursor: '9',
      limit: 1,
    });
    const q = new URL(last().targetUri).searchParams;
    expect(Object.fromEntries(q)).toEqual({
      grant_id: GRANT_ID,
      outcome: 'success',
      key_prefix: 'lk_app_01234',
      since: TS,
      cursor: '9',
      limit: '1',
    });
    expect(() => api.ListAuditQuery.parse(Object.fromEntries(q))).not.toThrow();
    expect(page.nextCursor).toBe('7');
    expect(page.hasMore).toBe(true);
    const e = page.events[0]!;
    expect(e.context).toEqual({ Ticket_ID: 'T-1', 'user-id': 'u1' });
    expect(e.actor).toEqual({ keyPrefix: 'lk_app_01234', caller: 'billing-svc', agentId: null });
    expect(e.trace).toEqual({ runId: 'run1', threadId: null, tool: 'charges', role: null });
    expect(e.details).toEqual({ front_door: 'forward' });
    expect(e.ts).toEqual(new Date(TS));
    expect(e.latencyMs).toBe(12.5);
    expect(isDeepFrozen(page)).toBe(true);
  });

  it('verify maps the chain report', async () => {
    const body = api.AuditVerifyResult.parse({
      ok: false,
      chains: [{ replica_id: 'r1', events: 10, head_hash: 'ab' }],
      first_broken: { replica_id: 'r1', seq: 4, reason: 'hash mismatch' },
    });
    server.handle((_, res) => sendJson(res, 200, body));
    const v = await app.audit.verify();
    expect(last().url).toBe('/v1/audit/verify');
    expect(v).toEqual({
      ok: false,
      chains: [{ replicaId: 'r1', events: 10, headHash: 'ab' }],
      firstBroken: { replicaId: 'r1', seq: 4, reason: 'hash mismatch' },
    });
    expect(isDeepFrozen(v)).toBe(true);
  });
});
