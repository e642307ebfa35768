/**
 * Agents (issue 5, DESIGN §2, §5, §10) over real sockets: the `/v1/agents` management routes, agent
 * keys (`lk_agent_…`) and their lifecycle, the agent runtime boundary on every front door, `latchkey-act-as`
 * (`App.getAgent()`), per-agent rate limits, trace fields in the audit trail, and bad input on every
 * new route. Runs on SQLite and PostgreSQL (DIALECT_SUITES).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CreateAgentBody, ERROR_CODES } from '@latchkey/api';
import {
  Agent,
  AgentInactiveError,
  AgentNameExistsError,
  AgentNotFoundError,
  AgentRevokedError,
  AgentScopeNarrowingError,
  App,
  GrantNotFoundError,
  InsufficientScopeError,
  KeyRevokedError,
  LastActiveKeyError,
  LatchkeyValueError,
  RateLimitedError,
} from '@latchkey/sdk';
import { api, type ApiResponse } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

let s: TestServer;
let up: Upstream;
let secretId: string;
/** A system grant of the app: no agent may reach it. */
let systemGrant: string;
let n = 0;

const uniq = (p = 'bot') => `${p}-${++n}-${randomBytes(3).toString('hex')}`;
const call = <T = any>(
  key: string | null,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => api<T>(s.baseUrl, key, method, path, body, headers);
const app = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  call(s.appKey, method, path, body, headers);

/** Throws unless `r` is the typed error `code` with its registered status. */
function expectError(r: ApiResponse, code: keyof typeof ERROR_CODES): void {
  expect(r.body?.error?.code, r.text).toBe(code);
  expect(r.status).toBe(ERROR_CODES[code].status);
  expect(r.headers.get('latchkey-error')).toBe('1');
}

interface Created {
  id: string;
  name: string;
  key: string;
  keyId: string;
  keyPrefix: string;
}

async function createAgent(body: Record<string, unknown> = {}): Promise<Created> {
  const name = (body['name'] as string | undefined) ?? uniq();
  const r = await app('POST', '/v1/agents', {
    name,
    scopes: ['proxy:execute', 'grants:read', 'grants:write'],
    ...body,
  });
  expect(r.status, r.text).toBe(201);
  return {
    id: r.body.agent.id,
    name,
    key: r.body.api_key,
    keyId: r.body.key.key_id,
    keyPrefix: r.body.key.key_prefix,
  };
}

/** Issues a grant on the test secret to an agent (app key). */
async function grantTo(agentId: string): Promise<string> {
  const r = await app('POST', `/v1/managed-secrets/${secretId}/grants`, {
    principal: { type: 'agent', agent_id: agentId },
  });
  expect(r.status, r.text).toBe(201);
  return r.body.grant_id;
}

const forward = (key: string, grantId: string, headers: Record<string, string> = {}) =>
  fetch(`${s.baseUrl}/v1/forward`, {
    headers: {
      authorization: `Bearer ${key}`,
      'latchkey-target': `${up.url}/echo`,
      'latchkey-grant-id': grantId,
      ...headers,
    },
  });
const envelope = (key: string, grantId: string, headers: Record<string, string> = {}) =>
  call(key, 'POST', '/v1/proxy', { method: 'GET', url: `${up.url}/echo`, grant_id: grantId }, headers);
const gateway = (key: string, grantId: string) =>
  fetch(`${s.baseUrl}/gw/${grantId}/echo`, { headers: { 'x-api-key': key } });

async function countRows(table: 'agents' | 'api_keys' | 'grants' | 'idempotency_keys'): Promise<number> {
  const { c } = await s.lk.store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('c'))
    .executeTakeFirstOrThrow();
  return Number(c);
}

beforeAll(async () => {
  up = await startUpstream();
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: up.host });
  const c = await app('POST', '/v1/managed-secrets', {
    slug: 'agent-target',
    type: 'bearer',
    value: 'agent-secret-CANARY-0123456789',
    allowed_hosts: [`${up.host}:${up.port}`],
    base_url: up.url,
  });
  expect(c.status, c.text).toBe(201);
  secretId = c.body.id;
  systemGrant = (await app('POST', `/v1/managed-secrets/${secretId}/grants`, { principal: { type: 'system' } })).body
    .grant_id;
});

afterAll(async () => {
  await s?.close();
  await up?.close();
});

describe('POST /v1/agents', () => {
  test('the unauthenticated request is 401 unauthorized', async () => {
    expectError(await call(null, 'POST', '/v1/agents', { name: 'x' }), 'unauthorized');
  });

  test('creates the agent and its first key, shown once; the key works as the agent', async () => {
    const name = uniq('research');
    const r = await app('POST', '/v1/agents', {
      name,
      display_name: 'Research bot',
      type: 'agent',
      metadata: { team: 'ml' },
      scopes: ['proxy:execute', 'grants:read', 'proxy:execute'],
      policy: { rate_limit_rpm: 1000 },
    });
    expect(r.status, r.text).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body.idempotent_replay).toBe(false);
    expect(r.body.api_key).toMatch(/^lk_agent_[0-9A-Za-z]{40,}$/);
    expect(r.body.agent).toMatchObject({
      name,
      display_name: 'Research bot',
      type: 'agent',
      status: 'active',
      metadata: { team: 'ml' },
      scopes: ['proxy:execute', 'grants:read'],
      policy: { rate_limit_rpm: 1000 },
      paused_at: null,
      revoked_at: null,
    });
    expect(r.body.agent.id).toMatch(/^agt_/);
    expect(r.body.key).toMatchObject({ kind: 'agent', status: 'active', scopes: ['proxy:execute', 'grants:read'] });
    expect(r.body.key.key_prefix).toBe(r.body.api_key.slice(0, 12));
    const me = await call(r.body.api_key, 'GET', '/v1/agents/me');
    expect(me.status, me.text).toBe(200);
    expect(me.body.agent.id).toBe(r.body.agent.id);
    expect(me.body.key.key_id).toBe(r.body.key.key_id);
    // Shown once: no read path returns the raw key.
    const keys = await app('GET', `/v1/agents/${r.body.agent.id}/keys`);
    expect(keys.text).not.toContain(r.body.api_key);
    // App key lists are app keys only.
    const appKeys = await app('GET', '/v1/keys?limit=500');
    expect(appKeys.body.keys.every((k: { kind: string }) => k.kind === 'app')).toBe(true);
  });

  test('a live name is unique (409 agent_name_exists) and free again once revoked', async () => {
    const a = await createAgent();
    expectError(await app('POST', '/v1/agents', { name: a.name }), 'agent_name_exists');
    expect((await app('POST', `/v1/agents/${a.id}/revoke`)).status).toBe(200);
    const again = await app('POST', '/v1/agents', { name: a.name });
    expect(again.status, again.text).toBe(201);
    expect(again.body.agent.id).not.toBe(a.id);
  });

  test('Idempotency-Key: same body replays the stored answer without the key; a different body is 409', async () => {
    const key = `idem-${randomBytes(8).toString('hex')}`;
    const body = { name: uniq('idem'), scopes: ['proxy:execute'], metadata: { a: '1', b: '2' } };
    const first = await app('POST', '/v1/agents', body, { 'idempotency-key': key });
    expect(first.status, first.text).toBe(201);
    expect(first.body.api_key).toMatch(/^lk_agent_/);
    const agentsBefore = await countRows('agents');
    // Same request, keys in another order: the stored answer, without the raw key.
    const replay = await app(
      'POST',
      '/v1/agents',
      { metadata: { b: '2', a: '1' }, scopes: ['proxy:execute'], name: body.name },
      { 'idempotency-key': key },
    );
    expect(replay.status, replay.text).toBe(201);
    expect(replay.body.idempotent_replay).toBe(true);
    expect(replay.body.api_key).toBeNull();
    expect(replay.body.agent).toEqual(first.body.agent);
    expect(replay.body.key).toEqual(first.body.key);
    expect(await countRows('agents')).toBe(agentsBefore);
    expect(
      (await s.lk.store.db.selectFrom('idempotency_keys').select('response').where('key', '=', key).execute())[0]!
        .response,
    ).not.toContain(first.body.api_key);
    // Same key, different body.
    const reused = await app('POST', '/v1/agents', { ...body, scopes: ['grants:read'] }, { 'idempotency-key': key });
    expectError(reused, 'idempotency_key_reused');
    expect(await countRows('agents')).toBe(agentsBefore);
    // Malformed keys are refused before anything happens.
    for (const bad of ['', 'a'.repeat(256), 'has space']) {
      const r = await app('POST', '/v1/agents', { name: uniq() }, { 'idempotency-key': bad });
      expectError(r, 'invalid_request');
    }
    expect(await countRows('agents')).toBe(agentsBefore);
  });

  test('concurrent requests with one Idempotency-Key create one agent', async () => {
    const key = `race-${randomBytes(8).toString('hex')}`;
    const body = { name: uniq('race') };
    const before = await countRows('agents');
    const rs = await Promise.all([1, 2, 3, 4].map(() => app('POST', '/v1/agents', body, { 'idempotency-key': key })));
    for (const r of rs) expect(r.status, r.text).toBe(201);
    expect(new Set(rs.map((r) => r.body.agent.id)).size).toBe(1);
    expect(rs.filter((r) => r.body.api_key !== null)).toHaveLength(1);
    expect(await countRows('agents')).toBe(before + 1);
  });

  test('agents cannot create agents (403 insufficient_scope), neither with their key nor acting as', async () => {
    const a = await createAgent();
    const before = await countRows('agents');
    expectError(await call(a.key, 'POST', '/v1/agents', { name: uniq() }), 'insufficient_scope');
    expectError(await app('POST', '/v1/agents', { name: uniq() }, { 'latchkey-act-as': a.id }), 'insufficient_scope');
    for (const [m, p] of [
      ['GET', '/v1/agents'],
      ['GET', `/v1/agents/${a.id}`],
      ['POST', `/v1/agents/${a.id}/keys`],
      ['POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`],
      ['POST', '/v1/keys'],
      ['GET', '/v1/audit'],
    ] as const) {
      expectError(await call(a.key, m, p, m === 'POST' ? {} : undefined), 'insufficient_scope');
    }
    expect(await countRows('agents')).toBe(before);
    // An app key without agents:write cannot create either.
    const reader = await app('POST', '/v1/keys', { scopes: ['agents:read'] });
    expectError(await call(reader.body.api_key, 'POST', '/v1/agents', { name: uniq() }), 'insufficient_scope');
  });

  test('an agent cannot be given scopes beyond its allowlist', async () => {
    for (const scopes of [['*'], ['keys:admin'], ['agents:write'], ['secrets:read'], ['audit:read']]) {
      expectError(await app('POST', '/v1/agents', { name: uniq(), scopes }), 'invalid_request');
    }
  });
});

describe('GET /v1/agents, /v1/agents/{id}, /v1/agents/by-name/{name}, PATCH', () => {
  test('every route refuses the unauthenticated request (401)', async () => {
    const a = await createAgent();
    for (const [m, p] of [
      ['GET', '/v1/agents'],
      ['GET', `/v1/agents/${a.id}`],
      ['GET', `/v1/agents/by-name/${a.name}`],
      ['PATCH', `/v1/agents/${a.id}`],
      ['POST', `/v1/agents/${a.id}/pause`],
      ['POST', `/v1/agents/${a.id}/resume`],
      ['POST', `/v1/agents/${a.id}/revoke`],
      ['POST', `/v1/agents/${a.id}/keys`],
      ['GET', `/v1/agents/${a.id}/keys`],
      ['POST', `/v1/agents/${a.id}/keys/${a.keyId}/deprecate`],
      ['POST', `/v1/agents/${a.id}/keys/${a.keyId}/undeprecate`],
      ['POST', `/v1/agents/${a.id}/keys/${a.keyId}/rotate`],
      ['POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`],
      ['GET', '/v1/agents/me'],
    ] as const) {
      expectError(await call(null, m, p, m === 'GET' ? undefined : {}), 'unauthorized');
    }
  });

  test('list paginates with total / has_more and hides revoked agents unless asked', async () => {
    const a = await createAgent();
    await app('POST', `/v1/agents/${a.id}/revoke`);
    const all = await app('GET', '/v1/agents?include_revoked=true&limit=500');
    const live = await app('GET', '/v1/agents?limit=500');
    expect(all.body.total).toBe(await countRows('agents'));
    expect(live.body.total).toBeLessThan(all.body.total);
    expect(all.body.agents.some((x: { id: string }) => x.id === a.id)).toBe(true);
    expect(live.body.agents.some((x: { id: string }) => x.id === a.id)).toBe(false);
    expect(live.body.agents.every((x: { status: string }) => x.status !== 'revoked')).toBe(true);
    const page = await app('GET', '/v1/agents?limit=1&offset=0');
    expect(page.body.agents).toHaveLength(1);
    expect(page.body.has_more).toBe(page.body.total > 1);
    expectError(await app('GET', '/v1/agents?include_revoked=yes'), 'invalid_request');
  });

  test('get, get by name; unknown and other-app agents are 404 agent_not_found', async () => {
    const a = await createAgent({ display_name: 'Named' });
    expect((await app('GET', `/v1/agents/${a.id}`)).body.display_name).toBe('Named');
    expect((await app('GET', `/v1/agents/by-name/${a.name}`)).body.id).toBe(a.id);
    expectError(await app('GET', '/v1/agents/agt_000000000000000000000000'), 'agent_not_found');
    expectError(await app('GET', '/v1/agents/by-name/nobody-here'), 'agent_not_found');
    const other = await s.lk.services.apps.createApp(uniq('other'));
    const { apiKey } = await s.lk.services.keys.mint(
      other.id,
      { scopes: ['*'], signed_only: false },
      { keyPrefix: null },
    );
    expectError(await call(apiKey, 'GET', `/v1/agents/${a.id}`), 'agent_not_found');
    expectError(await call(apiKey, 'GET', `/v1/agents/by-name/${a.name}`), 'agent_not_found');
    expectError(await call(apiKey, 'POST', `/v1/agents/${a.id}/pause`), 'agent_not_found');
    expectError(await call(apiKey, 'GET', '/v1/agents/me', undefined, { 'latchkey-act-as': a.id }), 'agent_not_found');
    expect((await app('GET', `/v1/agents/${a.id}`)).body.status).toBe('active');
  });

  test('update: display name, metadata, policy; scopes only widen and apply to existing keys', async () => {
    const a = await createAgent({ scopes: ['proxy:execute'] });
    expectError(await call(a.key, 'GET', '/v1/grants'), 'insufficient_scope');
    const u = await app('PATCH', `/v1/agents/${a.id}`, {
      display_name: 'Renamed',
      metadata: { env: 'prod' },
      policy: { rate_limit_rpm: 500 },
      scopes: ['proxy:execute', 'grants:read'],
    });
    expect(u.status, u.text).toBe(200);
    expect(u.body).toMatchObject({
      display_name: 'Renamed',
      metadata: { env: 'prod' },
      policy: { rate_limit_rpm: 500 },
      scopes: ['proxy:execute', 'grants:read'],
    });
    // The existing key carries the widened scopes at once.
    expect((await call(a.key, 'GET', '/v1/grants')).status).toBe(200);
    // grants:write covers grants:read: a widening.
    const w = await app('PATCH', `/v1/agents/${a.id}`, { scopes: ['proxy:execute', 'grants:write'] });
    expect(w.status, w.text).toBe(200);
    const narrow = await app('PATCH', `/v1/agents/${a.id}`, { scopes: ['grants:write'] });
    expectError(narrow, 'agent_scope_narrowing_not_supported');
    expect(narrow.body.error.details.missing_scopes).toEqual(['proxy:execute']);
    expect((await app('GET', `/v1/agents/${a.id}`)).body.scopes).toEqual(['proxy:execute', 'grants:write']);
    expect(
      (await app('PATCH', `/v1/agents/${a.id}`, { display_name: null, policy: { rate_limit_rpm: null } })).body,
    ).toMatchObject({ display_name: null, policy: { rate_limit_rpm: null } });
    // The name is immutable.
    expectError(await app('PATCH', `/v1/agents/${a.id}`, { name: 'new-name' }), 'invalid_request');
  });
});

describe('agent lifecycle on every front door', () => {
  test('pause → agent_inactive at once for every call but me(); resume restores', async () => {
    const a = await createAgent();
    const grant = await grantTo(a.id);
    expect((await forward(a.key, grant)).status).toBe(200);
    const p = await app('POST', `/v1/agents/${a.id}/pause`);
    expect(p.body.status).toBe('paused');
    // Right after the pause call returns, on every door.
    expectError(await call(a.key, 'GET', '/v1/grants'), 'agent_inactive');
    const f = await forward(a.key, grant);
    expect(f.status).toBe(403);
    expect((await f.json()).error.code).toBe('agent_inactive');
    expectError(await envelope(a.key, grant), 'agent_inactive');
    const g = await gateway(a.key, grant);
    expect(g.status).toBe(403);
    expect((await g.json()).error.code).toBe('agent_inactive');
    const me = await call(a.key, 'GET', '/v1/agents/me');
    expect(me.status, me.text).toBe(200);
    expect(me.body.agent.status).toBe('paused');
    // Idempotent.
    expect((await app('POST', `/v1/agents/${a.id}/pause`)).body.status).toBe('paused');
    expect((await app('POST', `/v1/agents/${a.id}/resume`)).body.status).toBe('active');
    expect((await forward(a.key, grant)).status).toBe(200);
  });

  test('revoke → agent_revoked for every key (agent checked before the key); final', async () => {
    const a = await createAgent();
    const second = await app('POST', `/v1/agents/${a.id}/keys`, { name: 'second' });
    const grant = await grantTo(a.id);
    const r = await app('POST', `/v1/agents/${a.id}/revoke`);
    expect(r.body.status).toBe('revoked');
    for (const key of [a.key, second.body.api_key as string]) {
      expectError(await call(key, 'GET', '/v1/agents/me'), 'agent_revoked');
      expectError(await envelope(key, grant), 'agent_revoked');
      expect((await (await forward(key, grant)).json()).error.code).toBe('agent_revoked');
    }
    const keys = await app('GET', `/v1/agents/${a.id}/keys`);
    expect(keys.body.keys.every((k: { status: string }) => k.status === 'revoked')).toBe(true);
    expectError(await app('POST', `/v1/agents/${a.id}/resume`), 'agent_revoked');
    expectError(await app('PATCH', `/v1/agents/${a.id}`, { display_name: 'x' }), 'agent_revoked');
    expectError(await app('POST', `/v1/agents/${a.id}/keys`, {}), 'agent_revoked');
    expect((await app('POST', `/v1/agents/${a.id}/revoke`)).body.status).toBe('revoked');
    // A grant to a revoked agent is refused.
    expectError(
      await app('POST', `/v1/managed-secrets/${secretId}/grants`, { principal: { type: 'agent', agent_id: a.id } }),
      'agent_not_found',
    );
  });

  test('a revoked key is key_revoked; the agent keeps working with its other key', async () => {
    const a = await createAgent();
    const second = await app('POST', `/v1/agents/${a.id}/keys`, {});
    const rv = await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`);
    expect(rv.body.status).toBe('revoked');
    expectError(await call(a.key, 'GET', '/v1/agents/me'), 'key_revoked');
    expect((await call(second.body.api_key, 'GET', '/v1/agents/me')).status).toBe(200);
  });
});

describe('agent keys', () => {
  test('mint with CIDRs, expiry and RPM; list shows every key with the agent scopes', async () => {
    const a = await createAgent();
    const far = await app('POST', `/v1/agents/${a.id}/keys`, { cidrs: ['10.0.0.0/8'] });
    expect(far.status, far.text).toBe(201);
    expect(far.body.key.cidrs).toEqual(['10.0.0.0/8']);
    expectError(await call(far.body.api_key, 'GET', '/v1/agents/me'), 'ip_not_allowed');
    const soon = await app('POST', `/v1/agents/${a.id}/keys`, {
      expires_at: new Date(Date.now() + 1500).toISOString(),
      rate_limit_rpm: 100,
    });
    expect(soon.body.key.rate_limit_rpm).toBe(100);
    expect((await call(soon.body.api_key, 'GET', '/v1/agents/me')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expectError(await call(soon.body.api_key, 'GET', '/v1/agents/me'), 'key_expired');
    const list = await app('GET', `/v1/agents/${a.id}/keys?limit=2`);
    expect(list.body.total).toBe(3);
    expect(list.body.has_more).toBe(true);
    expect(list.body.keys[0].scopes).toEqual(['proxy:execute', 'grants:read', 'grants:write']);
    expectError(
      await app('POST', `/v1/agents/${a.id}/keys`, { expires_at: '2000-01-01T00:00:00Z' }),
      'invalid_request',
    );
    expectError(await app('POST', `/v1/agents/${a.id}/keys`, { cidrs: ['999.1.1.1/8'] }), 'invalid_request');
  });

  test('deprecate → latchkey-key-deprecated: true on every response, every door, refusals included', async () => {
    const a = await createAgent();
    const grant = await grantTo(a.id);
    const d = await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/deprecate`);
    expect(d.body.status).toBe('deprecated');
    const dep = (h: Headers) => h.get('latchkey-key-deprecated');
    expect(dep((await call(a.key, 'GET', '/v1/agents/me')).headers)).toBe('true');
    expect(dep((await call(a.key, 'GET', '/v1/grants')).headers)).toBe('true');
    expect(dep((await call(a.key, 'GET', '/v1/grants/00000000-0000-4000-8000-000000000000')).headers)).toBe('true');
    const f = await forward(a.key, grant);
    expect(f.status).toBe(200);
    expect(dep(f.headers)).toBe('true');
    const fe = await forward(a.key, systemGrant);
    expect(fe.status).toBe(404);
    expect(dep(fe.headers)).toBe('true');
    const e = await envelope(a.key, grant);
    expect(e.status).toBe(200);
    expect(dep(e.headers)).toBe('true');
    const g = await gateway(a.key, grant);
    expect(g.status).toBe(200);
    expect(dep(g.headers)).toBe('true');
    const ge = await gateway(a.key, systemGrant);
    expect(ge.status).toBe(404);
    expect(dep(ge.headers)).toBe('true');
    // Undeprecate: the header goes away.
    expect((await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/undeprecate`)).body.status).toBe('active');
    expect(dep((await call(a.key, 'GET', '/v1/agents/me')).headers)).toBeNull();
    expect(dep((await forward(a.key, grant)).headers)).toBeNull();
  });

  test('rotate mints a new key and deprecates the old one for the grace period', async () => {
    const a = await createAgent();
    const rot = await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/rotate`, { grace_seconds: 3600 });
    expect(rot.status, rot.text).toBe(201);
    expect(rot.body.api_key).toMatch(/^lk_agent_/);
    expect(rot.body.previous_key.status).toBe('deprecated');
    const exp = Date.parse(rot.body.previous_key.expires_at);
    expect(exp).toBeGreaterThan(Date.now() + 3500_000);
    expect(exp).toBeLessThan(Date.now() + 3700_000);
    const old = await call(a.key, 'GET', '/v1/agents/me');
    expect(old.status).toBe(200);
    expect(old.headers.get('latchkey-key-deprecated')).toBe('true');
    const fresh = await call(rot.body.api_key, 'GET', '/v1/agents/me');
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('latchkey-key-deprecated')).toBeNull();
    // A zero grace ends the old key now.
    const again = await app('POST', `/v1/agents/${a.id}/keys/${rot.body.key.key_id}/rotate`, { grace_seconds: 0 });
    expect(again.status, again.text).toBe(201);
    expectError(await call(rot.body.api_key, 'GET', '/v1/agents/me'), 'key_expired');
    expectError(await app('POST', `/v1/agents/${a.id}/keys/${rot.body.key.key_id}/rotate`), 'key_not_active');
    expectError(await app('POST', `/v1/agents/${a.id}/keys/${rot.body.key.key_id}/deprecate`), 'key_not_active');
  });

  test('revoking the last active key needs force (409 last_active_key)', async () => {
    const a = await createAgent();
    const before = (await app('GET', `/v1/agents/${a.id}/keys`)).body;
    expectError(await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`), 'last_active_key');
    expectError(await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`, { force: false }), 'last_active_key');
    expect((await app('GET', `/v1/agents/${a.id}/keys`)).body).toEqual(before);
    expect((await call(a.key, 'GET', '/v1/agents/me')).status).toBe(200);
    // A deprecated key is not active: the new key is the last active one.
    const rot = await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/rotate`);
    expect((await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`)).body.status).toBe('revoked');
    expectError(await app('POST', `/v1/agents/${a.id}/keys/${rot.body.key.key_id}/revoke`), 'last_active_key');
    const forced = await app('POST', `/v1/agents/${a.id}/keys/${rot.body.key.key_id}/revoke`, { force: true });
    expect(forced.body.status).toBe('revoked');
    expectError(await call(rot.body.api_key, 'GET', '/v1/agents/me'), 'key_revoked');
    // Idempotent.
    expect((await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`)).body.status).toBe('revoked');
  });

  test("another agent's key id is 404 key_not_found; agent keys are not managed under /v1/keys", async () => {
    const a = await createAgent();
    const b = await createAgent();
    expectError(await app('POST', `/v1/agents/${a.id}/keys/${b.keyId}/deprecate`), 'key_not_found');
    expectError(await app('POST', `/v1/agents/${a.id}/keys/${b.keyId}/revoke`, { force: true }), 'key_not_found');
    expectError(await app('POST', `/v1/keys/${b.keyId}/revoke`), 'key_not_found');
    expect((await call(b.key, 'GET', '/v1/agents/me')).status).toBe(200);
  });
});

describe('the agent boundary', () => {
  test("an agent cannot reach another agent's grant or the app's system grant (404)", async () => {
    const a = await createAgent();
    const b = await createAgent();
    const mine = await grantTo(a.id);
    const theirs = await grantTo(b.id);
    expect((await forward(a.key, mine)).status).toBe(200);
    for (const g of [theirs, systemGrant]) {
      const f = await forward(a.key, g);
      expect(f.status).toBe(404);
      expect((await f.json()).error.code).toBe('grant_not_found');
      expectError(await envelope(a.key, g), 'grant_not_found');
      expect((await gateway(a.key, g)).status).toBe(404);
      expectError(await call(a.key, 'GET', `/v1/grants/${g}`), 'grant_not_found');
      expectError(await call(a.key, 'POST', `/v1/grants/${g}/revoke`, {}), 'grant_not_found');
    }
    expect((await app('GET', `/v1/grants/${theirs}`)).body.status).toBe('active');
    const list = await call(a.key, 'GET', '/v1/grants?limit=500');
    expect(list.body.grants.map((g: { grant_id: string }) => g.grant_id)).toEqual([mine]);
    expect(list.body.total).toBe(1);
    expect((await call(a.key, 'POST', `/v1/grants/${mine}/revoke`, {})).body.status).toBe('revoked');
  });

  test('an agent issues grants only to itself', async () => {
    const a = await createAgent();
    const b = await createAgent();
    const before = await countRows('grants');
    const path = `/v1/managed-secrets/${secretId}/grants`;
    for (const principal of [
      { type: 'system' },
      { type: 'agent', agent_id: b.id },
      { type: 'agent', agent_id: a.id },
      { type: 'user', user_token: 'x' },
      { type: 'group', external_group_id: 'g' },
    ]) {
      expectError(await call(a.key, 'POST', path, { principal }), 'insufficient_scope');
    }
    expect(await countRows('grants')).toBe(before);
    const own = await call(a.key, 'POST', path, { principal: { type: 'agent', label: 'self' } });
    expect(own.status, own.text).toBe(201);
    expect(own.body.principal).toMatchObject({ type: 'agent', agent_id: a.id, label: 'self' });
    expect((await forward(a.key, own.body.grant_id)).status).toBe(200);
    expect((await forward(b.key, own.body.grant_id)).status).toBe(404);
    // App keys may name an agent, which must exist in the app.
    expectError(
      await app('POST', path, { principal: { type: 'agent', agent_id: 'agt_000000000000000000000000' } }),
      'agent_not_found',
    );
    expect(await countRows('grants')).toBe(before + 1);
  });
});

describe('rate limits', () => {
  test('the agent limit is shared by its keys: 429 rate_limited with Retry-After', async () => {
    const a = await createAgent({ policy: { rate_limit_rpm: 3 } });
    const k2 = (await app('POST', `/v1/agents/${a.id}/keys`, {})).body.api_key as string;
    expect((await call(a.key, 'GET', '/v1/agents/me')).status).toBe(200);
    expect((await call(k2, 'GET', '/v1/agents/me')).status).toBe(200);
    expect((await call(a.key, 'GET', '/v1/agents/me')).status).toBe(200);
    for (const k of [k2, a.key]) {
      const r = await call(k, 'GET', '/v1/agents/me');
      expectError(r, 'rate_limited');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Acting as the agent draws on the same budget.
    expectError(await app('GET', '/v1/agents/me', undefined, { 'latchkey-act-as': a.id }), 'rate_limited');
  });

  test('a key limit applies to that key only', async () => {
    const a = await createAgent();
    const slow = (await app('POST', `/v1/agents/${a.id}/keys`, { rate_limit_rpm: 1 })).body.api_key as string;
    expect((await call(slow, 'GET', '/v1/agents/me')).status).toBe(200);
    expectError(await call(slow, 'GET', '/v1/agents/me'), 'rate_limited');
    expect((await call(a.key, 'GET', '/v1/agents/me')).status).toBe(200);
  });
});

describe('SDK: Agent, app.agents, App.getAgent()', () => {
  const sdkApp = () => new App({ apiKey: s.appKey, baseUrl: s.baseUrl });

  test('app.agents manages agents; errors map to their classes', async () => {
    const lk = sdkApp();
    const name = uniq('sdk');
    const created = await lk.agents.create({
      name,
      scopes: ['proxy:execute', 'grants:read'],
      metadata: { owner: 'sdk' },
      idempotencyKey: `sdk-${name}`,
    });
    expect(created.apiKey).toMatch(/^lk_agent_/);
    expect(Object.isFrozen(created)).toBe(true);
    const replay = await lk.agents.create({
      name,
      scopes: ['proxy:execute', 'grants:read'],
      metadata: { owner: 'sdk' },
      idempotencyKey: `sdk-${name}`,
    });
    expect(replay.idempotentReplay).toBe(true);
    expect(replay.apiKey).toBeNull();
    await expect(lk.agents.create({ name })).rejects.toBeInstanceOf(AgentNameExistsError);
    expect((await lk.agents.getByName(name)).id).toBe(created.agent.id);
    expect((await lk.agents.list({ limit: 500 })).agents.some((x) => x.id === created.agent.id)).toBe(true);
    await expect(lk.agents.update(created.agent.id, { scopes: ['grants:read'] })).rejects.toBeInstanceOf(
      AgentScopeNarrowingError,
    );
    const minted = await lk.agents.mintKey(created.agent.id, { name: 'two' });
    await lk.agents.deprecateKey(created.agent.id, minted.key.keyId);
    expect((await lk.agents.undeprecateKey(created.agent.id, minted.key.keyId)).status).toBe('active');
    const rotated = await lk.agents.rotateKey(created.agent.id, minted.key.keyId, { graceSeconds: 60 });
    expect(rotated.previousKey.status).toBe('deprecated');
    expect((await lk.agents.listKeys(created.agent.id)).total).toBe(3);
    await lk.agents.revokeKey(created.agent.id, created.key.keyId);
    await lk.agents.revokeKey(created.agent.id, minted.key.keyId);
    await expect(lk.agents.revokeKey(created.agent.id, rotated.key.keyId)).rejects.toBeInstanceOf(LastActiveKeyError);
    const agent = new Agent({ apiKey: rotated.apiKey, baseUrl: s.baseUrl });
    expect((await agent.me()).agent.name).toBe(name);
    await lk.agents.pause(created.agent.id);
    await expect(agent.listGrants()).rejects.toBeInstanceOf(AgentInactiveError);
    expect((await agent.me()).agent.status).toBe('paused');
    await lk.agents.resume(created.agent.id);
    expect((await agent.listGrants()).total).toBe(0);
    await lk.agents.delete(created.agent.id);
    await expect(agent.me()).rejects.toBeInstanceOf(AgentRevokedError);
    await expect(lk.agents.get('agt_000000000000000000000000')).rejects.toBeInstanceOf(AgentNotFoundError);
    await expect(lk.getAgent('no-such-agent')).rejects.toBeInstanceOf(AgentNotFoundError);
    // Client-side checks, before any I/O.
    expect(() => new Agent({ apiKey: s.appKey, baseUrl: s.baseUrl })).toThrow(LatchkeyValueError);
    await expect(lk.agents.get('not-an-id')).rejects.toBeInstanceOf(LatchkeyValueError);
  });

  test('an agent issues itself grants and calls through them; revoked key → KeyRevokedError', async () => {
    const a = await createAgent();
    const agent = new Agent({ apiKey: a.key, baseUrl: s.baseUrl });
    expect(() => agent.createManagedSecretGrant(secretId, { principal: { type: 'system' } as never })).toThrow(
      LatchkeyValueError,
    );
    const g = await agent.createManagedSecretGrant(secretId, { principal: { type: 'agent', label: 'sdk' } });
    expect(g.principal.agentId).toBe(a.id);
    const res = await agent.request('GET', `${up.url}/echo`, { grantId: g.grantId });
    expect(res.status).toBe(200);
    await expect(agent.getGrant(systemGrant)).rejects.toBeInstanceOf(GrantNotFoundError);
    const r = await agent.proxyRequest({ method: 'GET', url: `${up.url}/echo`, grantId: g.grantId });
    expect(r.statusCode).toBe(200);
    await app('POST', `/v1/agents/${a.id}/keys`, {});
    await app('POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`);
    await expect(agent.me()).rejects.toBeInstanceOf(KeyRevokedError);
  });

  test('trace() fields, the agent id and the key prefix appear in the audit rows', async () => {
    const a = await createAgent();
    const grant = await grantTo(a.id);
    const agent = new Agent({ apiKey: a.key, baseUrl: s.baseUrl });
    const runId = `run-${randomBytes(4).toString('hex')}`;
    await agent.trace({ runId, role: 'planner', threadId: 'thread-7' }, async () => {
      await agent.trace({ runId, tool: 'fetch' }, async () => {
        // Concurrent calls inside the trace keep its fields.
        await Promise.all([
          agent.request('GET', `${up.url}/echo`, { grantId: grant }).then((r) => r.arrayBuffer()),
          agent.proxyRequest({ method: 'GET', url: `${up.url}/echo`, grantId: grant }),
        ]);
      });
    });
    // Outside the trace, no fields.
    await (await agent.request('GET', `${up.url}/echo`, { grantId: grant })).arrayBuffer();
    const rows = await app('GET', `/v1/audit?grant_id=${grant}&event=proxy.request.completed`);
    const events = rows.body.events as {
      actor: { key_prefix: string; agent_id: string };
      trace: { run_id: string | null; role: string | null; thread_id: string | null; tool: string | null };
      details: { front_door: string };
    }[];
    expect(events).toHaveLength(3);
    const traced = events.filter((e) => e.trace.run_id === runId);
    expect(traced).toHaveLength(2);
    expect(new Set(traced.map((e) => e.details.front_door))).toEqual(new Set(['forward', 'proxy']));
    for (const e of traced) {
      expect(e.trace).toEqual({ run_id: runId, role: 'planner', thread_id: 'thread-7', tool: 'fetch' });
    }
    for (const e of events) expect(e.actor).toMatchObject({ key_prefix: a.keyPrefix, agent_id: a.id });
    expect(events.filter((e) => e.trace.run_id === null)).toHaveLength(1);
    // The audit trail filters by agent, and the chain still verifies.
    const byAgent = await app('GET', `/v1/audit?agent_id=${a.id}`);
    expect(byAgent.body.events.length).toBeGreaterThanOrEqual(3);
    expect(byAgent.body.events.every((e: { actor: { agent_id: string } }) => e.actor.agent_id === a.id)).toBe(true);
    const audit = await sdkApp().audit.list({ agentId: a.id, event: 'proxy.request.completed' });
    expect(audit.events.every((e) => e.actor.agentId === a.id)).toBe(true);
    expect((await app('GET', '/v1/audit/verify')).body.ok).toBe(true);
  });

  test('getAgent() has the same boundary as the agent own key, attributed to the app key', async () => {
    const a = await createAgent();
    const b = await createAgent();
    const mine = await grantTo(a.id);
    const theirs = await grantTo(b.id);
    const lk = sdkApp();
    for (const acting of [await lk.getAgent(a.name), await lk.getAgent(a.id)]) {
      expect((await acting.me()).agent.id).toBe(a.id);
      expect((await acting.listGrants()).grants.map((g) => g.grantId)).toEqual([mine]);
      await expect(acting.getGrant(theirs)).rejects.toBeInstanceOf(GrantNotFoundError);
      await expect(acting.getGrant(systemGrant)).rejects.toBeInstanceOf(GrantNotFoundError);
      await expect(
        acting.proxyRequest({ method: 'GET', url: `${up.url}/echo`, grantId: systemGrant }),
      ).rejects.toBeInstanceOf(GrantNotFoundError);
      expect(() =>
        acting.createManagedSecretGrant(secretId, { principal: { type: 'agent', agentId: b.id } as never }),
      ).toThrow(LatchkeyValueError);
      const runId = `act-${randomBytes(4).toString('hex')}`;
      const res = await acting.trace({ runId }, () => acting.request('GET', `${up.url}/echo`, { grantId: mine }));
      expect(res.status).toBe(200);
      const rows = await app('GET', `/v1/audit?grant_id=${mine}&event=proxy.request.completed&limit=1`);
      expect(rows.body.events[0].actor).toMatchObject({ key_prefix: s.appKey.slice(0, 12), agent_id: a.id });
      expect(rows.body.events[0].trace.run_id).toBe(runId);
    }
    // On the wire, acting as the agent has the agent's self-grant rule.
    const asA = { 'latchkey-act-as': a.id };
    const path = `/v1/managed-secrets/${secretId}/grants`;
    expectError(await app('POST', path, { principal: { type: 'agent', agent_id: b.id } }, asA), 'insufficient_scope');
    expectError(await app('POST', path, { principal: { type: 'system' } }, asA), 'insufficient_scope');
    const own = await app('POST', path, { principal: { type: 'agent' } }, asA);
    expect(own.body.principal.agent_id).toBe(a.id);
    const acting = await lk.getAgent(a.id);
    await lk.agents.pause(a.id);
    await expect(acting.listGrants()).rejects.toBeInstanceOf(AgentInactiveError);
    expect((await acting.me()).agent.status).toBe('paused');
    await lk.agents.resume(a.id);
    // Acting needs agents:write.
    const narrow = await lk.keys.mint({ scopes: ['agents:read', 'proxy:execute', 'grants:read'] });
    const weak = await new App({ apiKey: narrow.apiKey, baseUrl: s.baseUrl }).getAgent(a.id);
    await expect(weak.listGrants()).rejects.toBeInstanceOf(InsufficientScopeError);
    // An agent key cannot act as another agent.
    expectError(
      await call(a.key, 'GET', '/v1/agents/me', undefined, { 'latchkey-act-as': b.id }),
      'insufficient_scope',
    );
    expectError(await app('GET', '/v1/agents/me'), 'insufficient_scope');
    expectError(await app('GET', '/v1/agents/me', undefined, { 'latchkey-act-as': 'agt_nope' }), 'agent_not_found');
  });

  test('rate limited calls raise RateLimitedError with retryAfterMs', async () => {
    const a = await createAgent({ policy: { rate_limit_rpm: 1 } });
    const agent = new Agent({ apiKey: a.key, baseUrl: s.baseUrl });
    await agent.me();
    const err = await agent.me().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
  });
});

describe('bad input on every new route: typed 4xx, no state change', () => {
  async function state(): Promise<string> {
    const db = s.lk.store.db;
    const rows = await Promise.all(
      (['agents', 'api_keys', 'grants', 'idempotency_keys'] as const).map((t) =>
        db
          .selectFrom(t as 'agents')
          .selectAll()
          .execute(),
      ),
    );
    return JSON.stringify(rows);
  }

  function expectTyped4xx(r: ApiResponse, ctx: string): void {
    expect(r.status, `${ctx}: ${r.text}`).toBeGreaterThanOrEqual(400);
    expect(r.status, `${ctx}: ${r.text}`).toBeLessThan(500);
    const code = r.body?.error?.code as keyof typeof ERROR_CODES;
    expect(Object.hasOwn(ERROR_CODES, code), `${ctx}: ${r.text}`).toBe(true);
    expect(ERROR_CODES[code].status).toBe(r.status);
  }

  const junk = fc.oneof(
    fc.anything(),
    fc.record({
      name: fc.oneof(fc.string(), fc.constant('UPPER'), fc.constant('a'.repeat(65)), fc.integer()),
      scopes: fc.oneof(fc.array(fc.string()), fc.constant(['*']), fc.string()),
      type: fc.oneof(fc.string(), fc.constant('robot')),
      metadata: fc.oneof(fc.dictionary(fc.string(), fc.anything()), fc.constant({ '': 'x' })),
      policy: fc.oneof(fc.record({ rate_limit_rpm: fc.oneof(fc.integer(), fc.double(), fc.string()) }), fc.string()),
      extra: fc.anything(),
    }),
  );

  test('refused create bodies change nothing', async () => {
    const before = await state();
    await fc.assert(
      fc.asyncProperty(junk, async (candidate) => {
        // What goes on the wire (JSON drops `undefined` members) is what the schema must refuse.
        const body: unknown = JSON.parse(JSON.stringify(candidate) ?? 'null');
        fc.pre(!CreateAgentBody.safeParse(body).success);
        const r = await app('POST', '/v1/agents', body);
        expectTyped4xx(r, JSON.stringify(body).slice(0, 200));
      }),
      { numRuns: 80 },
    );
    expect(await state()).toBe(before);
  });

  test('refused update, mint, rotate and revoke bodies change nothing', async () => {
    const a = await createAgent();
    const before = await state();
    const bad = fc.oneof(
      fc.record({ scopes: fc.constantFrom(['keys:admin'], 'proxy:execute', [1]) }),
      fc.record({
        metadata: fc.constantFrom('x', { k: 1 }, Object.fromEntries([...Array(33).keys()].map((i) => [`k${i}`, 'v']))),
      }),
      fc.record({ policy: fc.constantFrom({ rate_limit_rpm: 0 }, { rate_limit_rpm: 1.5 }, { rpm: 1 }) }),
      fc.record({
        grace_seconds: fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 30 * 86_400 + 1 }), fc.string()),
      }),
      fc.record({ force: fc.oneof(fc.string(), fc.integer()) }),
      fc.record({ cidrs: fc.constantFrom(['x'], 'x', ['1.2.3.4']) }),
      fc.record({ expires_at: fc.constantFrom('yesterday', '1999-01-01T00:00:00Z', 5) }),
      fc.record({ unknown_field: fc.jsonValue() }),
    );
    const routes: [string, string][] = [
      ['PATCH', `/v1/agents/${a.id}`],
      ['POST', `/v1/agents/${a.id}/keys`],
      ['POST', `/v1/agents/${a.id}/keys/${a.keyId}/rotate`],
      ['POST', `/v1/agents/${a.id}/keys/${a.keyId}/revoke`],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), bad, async ([m, p], body) => {
        const r = await app(m, p, body);
        expectTyped4xx(r, `${m} ${p} ${JSON.stringify(body).slice(0, 200)}`);
      }),
      { numRuns: 80 },
    );
    expect(await state()).toBe(before);
  });

  test('fuzzed path parameters and queries → typed 4xx, no state change', async () => {
    const a = await createAgent();
    const before = await state();
    const segment = fc.oneof(
      // Not `.` or `..` (in any spelling): the client's URL parser resolves dot-segments before sending.
      fc
        .string({ minLength: 1, maxLength: 80 })
        .filter((x) => x !== '.' && x !== '..')
        .map((x) => encodeURIComponent(x)),
      fc.constantFrom('agt_', 'agt_short', 'AGT_0123456789', 'key_', '%00', 'agt_' + 'a'.repeat(65)),
    );
    await fc.assert(
      fc.asyncProperty(segment, fc.constantFrom(0, 1, 2, 3, 4, 5, 6), async (seg, which) => {
        const paths: [string, string][] = [
          ['GET', `/v1/agents/${seg}`],
          ['GET', `/v1/agents/by-name/${seg}`],
          ['POST', `/v1/agents/${seg}/pause`],
          ['POST', `/v1/agents/${seg}/revoke`],
          ['GET', `/v1/agents/${seg}/keys`],
          ['POST', `/v1/agents/${a.id}/keys/${seg}/revoke`],
          ['POST', `/v1/agents/${a.id}/keys/${seg}/deprecate`],
        ];
        const [m, p] = paths[which]!;
        const r = await app(m, p, m === 'POST' ? { force: true } : undefined);
        if (r.status === 200 && m === 'GET') return; // a lucky real name
        expectTyped4xx(r, `${m} ${p}`);
      }),
      { numRuns: 80 },
    );
    for (const q of ['limit=0', 'limit=501', 'offset=-1', 'limit=abc', 'include_revoked=1']) {
      expectTyped4xx(await app('GET', `/v1/agents?${q}`), q);
      expectTyped4xx(await app('GET', `/v1/agents/${a.id}/keys?${q.replace('include_revoked=1', 'limit=-5')}`), q);
    }
    expect(await state()).toBe(before);
    expect((await app('GET', '/readyz')).status).toBe(200);
  });
});
