/**
 * Identity (DESIGN §5 "End users") and delegations (§8), against a real OpenID Provider:
 * node-oidc-provider on loopback issues the users' ID tokens through authorization code + PKCE.
 */
import { decodeJwt, decodeProtectedHeader, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { App, GrantNotFoundError, InvalidUserTokenError } from '@latchkey/sdk';
import { api } from './helpers/api.js';
import { startOidcProvider, type TestIdp } from './helpers/oidc.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const ACCOUNTS = {
  alice: { email: 'alice@example.test', groups: ['eng', 'ops'] },
  bob: { email: 'bob@example.test', groups: ['eng'] },
  carol: { email: 'carol@example.test', groups: [] },
};
const CREDS = { work: 'ghp_WORK-0123456789abcdef', personal: 'ghp_PERSONAL-0123456789abcdef', slack: 'xoxb-ops-0123' };

let idp: TestIdp;
let otherIdp: TestIdp;
let up: Upstream;
let s: TestServer;
let providerBody: Record<string, unknown>;
const secrets: Record<string, string> = {};
const users: Record<string, string> = {};

const call = (key: string | null, method: string, path: string, body?: unknown) =>
  api(s.baseUrl, key, method, path, body);
const app = (method: string, path: string, body?: unknown) => call(s.appKey, method, path, body);

/** `/v1/forward` naming the grant by provider + user token. */
const forwardAs = (key: string, headers: Record<string, string>) =>
  fetch(`${s.baseUrl}/v1/forward`, {
    headers: { authorization: `Bearer ${key}`, 'latchkey-target': `${up.url}/user`, ...headers },
  });

async function secret(slug: string, templateId: string, value: string): Promise<string> {
  const r = await app('POST', '/v1/managed-secrets', {
    slug,
    template_id: templateId,
    value,
    allowed_hosts: [`${up.host}:${up.port}`],
  });
  expect(r.status, r.text).toBe(201);
  return r.body.id as string;
}

async function grant(secretId: string, principal: Record<string, unknown>, label?: string) {
  return app('POST', `/v1/managed-secrets/${secretId}/grants`, { principal, ...(label ? { label } : {}) });
}

async function createAgent(name: string): Promise<{ id: string; key: string }> {
  const r = await app('POST', '/v1/agents', { name, scopes: ['proxy:execute', 'grants:read'] });
  expect(r.status, r.text).toBe(201);
  return { id: r.body.agent.id as string, key: r.body.api_key as string };
}

async function auditEvents(query: string) {
  const r = await app('GET', `/v1/audit?${query}`);
  expect(r.status, r.text).toBe(200);
  return r.body.events as {
    event: string;
    outcome: string;
    error_code: string | null;
    grant_id: string | null;
    principal: { type: string | null; app_user_id: string | null };
    actor: { agent_id: string | null };
  }[];
}

beforeAll(async () => {
  idp = await startOidcProvider(ACCOUNTS);
  // Another issuer holding the same signing keys: only `iss` tells its tokens apart.
  otherIdp = await startOidcProvider(ACCOUNTS, { keys: idp.keys() });
  up = await startUpstream();
  s = await startServer({
    LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: `${up.host},${idp.hostPort}`,
    // Every unknown `kid` may refetch the JWKS at once (the default waits 30 s between refetches).
    LATCHKEY_IDP_JWKS_COOLDOWN_MS: '0',
  });
  providerBody = { issuer: idp.issuer, audience: idp.clientId, groups_claim: 'groups', email_claim: 'email' };
  secrets.work = await secret('gh-work', 'github', CREDS.work);
  secrets.personal = await secret('gh-personal', 'github', CREDS.personal);
  secrets.slack = await secret('slack-ops', 'slack', CREDS.slack);
});

afterAll(async () => {
  await s?.close();
  await up?.close();
  await idp?.close();
  await otherIdp?.close();
});

describe('identity provider configuration', () => {
  test('every route refuses the unauthenticated request', async () => {
    const g = '00000000-0000-4000-8000-000000000000';
    const routes: [string, string, unknown?][] = [
      ['PUT', '/v1/identity/provider', providerBody],
      ['GET', '/v1/identity/provider'],
      ['POST', '/v1/identity/verify', { user_token: 'a.b.c' }],
      ['POST', '/v1/identity/resolve', { user_token: 'a.b.c' }],
      ['POST', `/v1/grants/${g}/delegations`, { agent_id: 'agt_0123456789ab', user_token: 'a.b.c' }],
      ['GET', `/v1/grants/${g}/delegations`],
      ['DELETE', `/v1/grants/${g}/delegations/agt_0123456789ab`],
      ['DELETE', `/v1/grants/${g}/delegation`],
    ];
    for (const [method, path, body] of routes) {
      const r = await call(null, method, path, body);
      expect([method, path, r.status, r.body?.error?.code]).toEqual([method, path, 401, 'unauthorized']);
    }
  });

  test('the routes are in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${s.baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ops = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    for (const id of [
      'configureIdentityProvider',
      'getIdentityProvider',
      'verifyUserToken',
      'resolveIdentity',
      'createDelegation',
      'listDelegations',
      'revokeDelegation',
      'revokeOwnDelegation',
      'proxyRequest',
    ])
      expect(ops).toContain(id);
  });

  test('scopes: identity:read reads, identity:write configures', async () => {
    const minted = await app('POST', '/v1/keys', { name: 'reader', scopes: ['identity:read'] });
    expect(minted.status, minted.text).toBe(201);
    const reader = minted.body.api_key as string;
    const put = await call(reader, 'PUT', '/v1/identity/provider', providerBody);
    expect(put.status).toBe(403);
    expect(put.body.error).toMatchObject({ code: 'insufficient_scope', details: { required_scope: 'identity:write' } });
    const get = await call(reader, 'GET', '/v1/identity/provider');
    expect(get.status).toBe(404);
    expect(get.body.error.code).toBe('identity_provider_not_found');
  });

  test('before a provider exists: user principals are refused with a hint, tokens cannot be verified', async () => {
    const r = await grant(secrets.work!, { type: 'user', user_token: 'a.b.c' });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('principal_not_supported');
    expect(r.body.error.message).toMatch(/identity provider/);
    const v = await app('POST', '/v1/identity/verify', { user_token: 'a.b.c' });
    expect(v.status).toBe(404);
    expect(v.body.error.code).toBe('identity_provider_not_found');
  });

  test('bad input is a typed 4xx and configures nothing', async () => {
    const cases: [Record<string, unknown>, number, string, unknown?][] = [
      [{ ...providerBody, issuer: 'not a url' }, 400, 'invalid_request'],
      [{ ...providerBody, issuer: 'http://127.0.0.9:1' }, 400, 'invalid_request'],
      [{ ...providerBody, issuer: `${idp.issuer}?x=1` }, 400, 'invalid_request'],
      [{ ...providerBody, algorithms: ['none'] }, 400, 'invalid_request'],
      [{ ...providerBody, algorithms: ['HS256'] }, 400, 'invalid_request'],
      [{ ...providerBody, algorithms: [] }, 400, 'invalid_request'],
      [{ ...providerBody, user_id_claim: '' }, 400, 'invalid_request'],
      [{ ...providerBody, extra: 1 }, 400, 'invalid_request'],
      [{ issuer: idp.issuer }, 400, 'invalid_request'],
      // The discovery document names `http://127.0.0.1:<port>`, not the trailing-slash form.
      [{ ...providerBody, issuer: `${idp.issuer}/` }, 400, 'identity_discovery_failed', { reason: 'issuer_mismatch' }],
      [
        { ...providerBody, issuer: `${idp.issuer}/nowhere` },
        400,
        'identity_discovery_failed',
        { reason: 'http_status', status: 404 },
      ],
    ];
    for (const [body, status, code, details] of cases) {
      const r = await app('PUT', '/v1/identity/provider', body);
      expect([JSON.stringify(body), r.status, r.body?.error?.code]).toEqual([JSON.stringify(body), status, code]);
      if (details) expect(r.body.error.details).toEqual(details);
    }
    expect((await app('GET', '/v1/identity/provider')).status).toBe(404);
  });

  test('discovery and JWKS fetches go through the egress guard', async () => {
    // Same http allowance, but loopback is not allow-listed: the guard refuses the connection.
    const guarded = await startServer({
      LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: idp.hostPort,
      LATCHKEY_EGRESS_ALLOW_CIDRS: '',
    });
    try {
      const r = await api(guarded.baseUrl, guarded.appKey, 'PUT', '/v1/identity/provider', providerBody);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'identity_discovery_failed', details: { reason: 'egress_denied' } });
    } finally {
      await guarded.close();
    }
  });

  test('PUT discovers the JWKS and stores the provider', async () => {
    const r = await app('PUT', '/v1/identity/provider', providerBody);
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      issuer: idp.issuer,
      audience: idp.clientId,
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      user_id_claim: 'sub',
      email_claim: 'email',
      groups_claim: 'groups',
      jwks_uri: `${idp.issuer}/jwks`,
      claims_locked: false,
    });
    expect(r.body.idp_id).toMatch(/^idp_/);
    const got = await app('GET', '/v1/identity/provider');
    expect(got.body).toEqual(r.body);
    const events = await auditEvents('event=identity.provider.configured');
    expect(events).toHaveLength(1);
  });
});

describe('user tokens', () => {
  test('a valid ID token creates the user once', async () => {
    const token = await idp.signIn('alice');
    const first = await app('POST', '/v1/identity/verify', { user_token: token });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({
      valid: true,
      subject: 'alice',
      email: 'alice@example.test',
      groups: ['eng', 'ops'],
    });
    expect(first.body.app_user_id).toMatch(/^usr_/);
    users.alice = first.body.app_user_id;
    const again = await app('POST', '/v1/identity/verify', { user_token: await idp.signIn('alice') });
    expect(again.body.app_user_id).toBe(users.alice);
    const resolved = await app('POST', '/v1/identity/resolve', { user_token: token });
    expect(resolved.body).toEqual({ app_user_id: users.alice, group_ids: ['eng', 'ops'], user_status: 'active' });
    const created = await auditEvents('event=app_user.created');
    expect(created.map((e) => e.principal.app_user_id)).toEqual([users.alice]);
    for (const name of ['bob', 'carol'] as const) {
      const v = await app('POST', '/v1/identity/verify', { user_token: await idp.signIn(name) });
      expect(v.status, v.text).toBe(200);
      users[name] = v.body.app_user_id;
    }
  });

  test('claim mappings lock once a user has been seen', async () => {
    expect((await app('GET', '/v1/identity/provider')).body.claims_locked).toBe(true);
    const changed = await app('PUT', '/v1/identity/provider', { ...providerBody, groups_claim: 'roles' });
    expect(changed.status).toBe(409);
    expect(changed.body.error.code).toBe('identity_claims_locked');
    expect((await app('GET', '/v1/identity/provider')).body.groups_claim).toBe('groups');
    // Same mappings: still accepted (the issuer keeps its idp_id).
    const before = (await app('GET', '/v1/identity/provider')).body.idp_id;
    const same = await app('PUT', '/v1/identity/provider', providerBody);
    expect(same.status, same.text).toBe(200);
    expect(same.body.idp_id).toBe(before);
  });

  test('expired, wrong audience, wrong issuer, unsigned and tampered tokens are all 401 invalid_user_token', async () => {
    const valid = await idp.signIn('alice');
    const [h, p, sig] = valid.split('.') as [string, string, string];
    const claims = decodeJwt(valid);
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'bob' })).toString('base64url');
    const cases: Record<string, string> = {
      // Issued with the provider's clock two hours back: it expired an hour ago (beyond the 60 s leeway).
      expired: await idp.signIn('alice', { clockShiftMs: -2 * 3600_000 }),
      wrongAudience: await idp.signIn('alice', { clientId: idp.otherClientId }),
      wrongIssuer: await otherIdp.signIn('alice'),
      unsigned: new UnsecuredJWT(claims).encode(),
      tamperedPayload: `${h}.${forged}.${sig}`,
      tamperedSignature: `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`,
      garbage: 'aaa.bbb.ccc',
    };
    expect(decodeProtectedHeader(cases.unsigned!).alg).toBe('none');
    expect(decodeJwt(cases.wrongIssuer!).iss).toBe(otherIdp.issuer);
    for (const [name, token] of Object.entries(cases)) {
      const r = await app('POST', '/v1/identity/verify', { user_token: token });
      expect([name, r.status, r.body?.error?.code]).toEqual([name, 401, 'invalid_user_token']);
      // One code, one message: the reason is in the server log only.
      expect(r.body.error.details).toBeUndefined();
    }
    const reasons = s.logs.filter((l) => l.includes('user token refused')).map((l) => JSON.parse(l).reason);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'ERR_JWT_EXPIRED',
        'ERR_JWT_CLAIM_VALIDATION_FAILED',
        'ERR_JOSE_ALG_NOT_ALLOWED',
        'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
      ]),
    );
    // Not a compact JWT at all: schema validation.
    const bad = await app('POST', '/v1/identity/verify', { user_token: 'not a jwt' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_request');
  });

  test('key rotation at the IDP: new keys verify after a refetch, a removed key is refused', async () => {
    const oldToken = await idp.signIn('alice');
    expect((await app('POST', '/v1/identity/verify', { user_token: oldToken })).status).toBe(200);
    const oldKid = decodeProtectedHeader(oldToken).kid;

    // 1. A new signing key is published next to the old one.
    await idp.rotateKey();
    const fetchesBefore = idp.jwksFetches();
    const newToken = await idp.signIn('alice');
    expect(decodeProtectedHeader(newToken).kid).not.toBe(oldKid);
    const r1 = await app('POST', '/v1/identity/verify', { user_token: newToken });
    expect(r1.status, r1.text).toBe(200);
    expect(r1.body.app_user_id).toBe(users.alice);
    expect(idp.jwksFetches()).toBeGreaterThan(fetchesBefore);
    expect((await app('POST', '/v1/identity/verify', { user_token: oldToken })).status).toBe(200);

    // 2. The old keys are retired: a token signed by a removed key is refused after a refetch.
    await idp.rotateKey({ retireOld: true });
    const newest = await idp.signIn('alice');
    expect((await app('POST', '/v1/identity/verify', { user_token: newest })).status).toBe(200);
    const stale = await app('POST', '/v1/identity/verify', { user_token: oldToken });
    expect(stale.status).toBe(401);
    expect(stale.body.error.code).toBe('invalid_user_token');
    const alsoStale = await app('POST', '/v1/identity/verify', { user_token: newToken });
    expect(alsoStale.status).toBe(401);
  });
});

describe('user and group grants, resolved by provider + user token', () => {
  const grants: Record<string, string> = {};

  test('user grants bind to the token’s user; group grants to an IDP group', async () => {
    const alice = await idp.signIn('alice');
    const work = await grant(secrets.work!, { type: 'user', user_token: alice, label: 'Alice' }, 'alice');
    expect(work.status, work.text).toBe(201);
    expect(work.body.principal).toMatchObject({ type: 'user', app_user_id: users.alice, external_group_id: null });
    grants.work = work.body.grant_id;
    const personal = await grant(secrets.personal!, { type: 'user', user_token: alice });
    expect(personal.status, personal.text).toBe(201);
    grants.personal = personal.body.grant_id;
    const idpId = (await app('GET', '/v1/identity/provider')).body.idp_id;
    const ops = await grant(secrets.slack!, { type: 'group', external_group_id: 'ops', idp_id: idpId });
    expect(ops.status, ops.text).toBe(201);
    expect(ops.body.principal).toMatchObject({ type: 'group', external_group_id: 'ops', idp_id: idpId });
    grants.ops = ops.body.grant_id;
    const system = await grant(secrets.work!, { type: 'system' });
    grants.system = system.body.grant_id;
    const issued = await auditEvents(`event=grant.issued&grant_id=${grants.work}`);
    expect(issued[0]!.principal).toEqual({ type: 'user', app_user_id: users.alice });
  });

  test('bad principals are typed 4xx and issue nothing', async () => {
    const before = (await app('GET', '/v1/grants?limit=500')).body.total;
    const expired = await idp.signIn('alice', { clockShiftMs: -2 * 3600_000 });
    const cases: [Record<string, unknown>, number, string][] = [
      [{ type: 'user' }, 400, 'invalid_request'],
      [{ type: 'user', user_token: expired }, 401, 'invalid_user_token'],
      [{ type: 'group' }, 400, 'invalid_request'],
      [{ type: 'group', external_group_id: 'ops', idp_id: 'idp_000000000000' }, 400, 'invalid_request'],
      [{ type: 'group', external_group_id: 'ops', user_token: 'x' }, 400, 'invalid_request'],
    ];
    for (const [principal, status, code] of cases) {
      const r = await grant(secrets.work!, principal);
      expect([JSON.stringify(principal), r.status, r.body?.error?.code]).toEqual([
        JSON.stringify(principal),
        status,
        code,
      ]);
    }
    expect((await app('GET', '/v1/grants?limit=500')).body.total).toBe(before);
  });

  test('several grants → 409 ambiguous_grant listing accounts; `account` picks one', async () => {
    const token = await idp.signIn('alice');
    const amb = await forwardAs(s.appKey, { 'latchkey-provider': 'github', 'latchkey-user-token': token });
    expect(amb.status).toBe(409);
    const body = (await amb.json()) as { error: { code: string; details: { accounts: string[] } } };
    expect(body.error.code).toBe('ambiguous_grant');
    // The label of the labelled grant, the secret slug of the other; never secret material.
    expect(body.error.details.accounts).toEqual(['alice', 'gh-personal']);
    expect(JSON.stringify(body)).not.toContain('ghp_');

    const picked = await forwardAs(s.appKey, {
      'latchkey-provider': 'github',
      'latchkey-user-token': token,
      'latchkey-account': 'gh-personal',
    });
    expect(picked.status).toBe(200);
    expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${CREDS.personal}`);
    // The user token never reaches the upstream.
    expect(JSON.stringify(up.seen.at(-1)!.headers)).not.toContain(token);

    const env = await app('POST', '/v1/proxy', {
      method: 'GET',
      url: `${up.url}/user`,
      provider: 'github',
      user_token: token,
      account: 'alice',
    });
    expect(env.status, env.text).toBe(200);
    expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${CREDS.work}`);
    const unknown = await forwardAs(s.appKey, {
      'latchkey-provider': 'github',
      'latchkey-user-token': token,
      'latchkey-account': 'nope',
    });
    expect(unknown.status).toBe(404);
  });

  test('group grants reach members through the token’s group claim only', async () => {
    const alice = await forwardAs(s.appKey, {
      'latchkey-provider': 'slack',
      'latchkey-user-token': await idp.signIn('alice'),
    });
    expect(alice.status).toBe(200);
    expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${CREDS.slack}`);
    const bob = await forwardAs(s.appKey, {
      'latchkey-provider': 'slack',
      'latchkey-user-token': await idp.signIn('bob'),
    });
    expect(bob.status).toBe(404);
    expect(((await bob.json()) as { error: { code: string } }).error.code).toBe('grant_not_found');
  });

  test('no grant → 404; an invalid token → 401; bad selectors → 400', async () => {
    const carol = await forwardAs(s.appKey, {
      'latchkey-provider': 'github',
      'latchkey-user-token': await idp.signIn('carol'),
    });
    expect(carol.status).toBe(404);
    const expired = await forwardAs(s.appKey, {
      'latchkey-provider': 'github',
      'latchkey-user-token': await idp.signIn('alice', { clockShiftMs: -2 * 3600_000 }),
    });
    expect(expired.status).toBe(401);
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe('invalid_user_token');
    const token = await idp.signIn('alice');
    const badHeaders: Record<string, string>[] = [
      { 'latchkey-provider': 'github' },
      { 'latchkey-provider': 'GitHub!', 'latchkey-user-token': token },
      { 'latchkey-provider': 'github', 'latchkey-user-token': token, 'latchkey-grant-id': grants.work! },
      { 'latchkey-user-token': token, 'latchkey-grant-id': grants.work! },
    ];
    for (const h of badHeaders) {
      const r = await forwardAs(s.appKey, h);
      expect([Object.keys(h).join(','), r.status]).toEqual([Object.keys(h).join(','), 400]);
    }
    const badBodies = [
      { method: 'GET', url: `${up.url}/user` },
      { method: 'GET', url: `${up.url}/user`, provider: 'github' },
      { method: 'GET', url: `${up.url}/user`, grant_id: grants.work, provider: 'github', user_token: token },
      { method: 'GET', url: `${up.url}/user`, grant_id: grants.work, account: 'alice' },
    ];
    for (const b of badBodies) {
      const r = await app('POST', '/v1/proxy', b);
      expect([JSON.stringify(b), r.status, r.body?.error?.code]).toEqual([JSON.stringify(b), 400, 'invalid_request']);
    }
  });

  test('audit rows of calls name the user', async () => {
    const token = await idp.signIn('alice');
    const r = await forwardAs(s.appKey, {
      'latchkey-provider': 'github',
      'latchkey-user-token': token,
      'latchkey-account': 'alice',
    });
    expect(r.status).toBe(200);
    const [completed] = await auditEvents(`event=proxy.request.completed&grant_id=${grants.work}&limit=1`);
    expect(completed!.principal).toEqual({ type: 'user', app_user_id: users.alice });
    const byUser = await auditEvents(`app_user_id=${users.alice}&event=proxy.request.completed`);
    expect(byUser.length).toBeGreaterThan(0);
    expect(byUser.every((e) => e.principal.app_user_id === users.alice)).toBe(true);
    const denied = await auditEvents(`event=proxy.request.denied&outcome=denied`);
    expect(denied.some((e) => e.error_code === 'invalid_user_token')).toBe(true);
    expect(denied.some((e) => e.error_code === 'ambiguous_grant' && e.principal.app_user_id === users.alice)).toBe(
      true,
    );
  });

  describe('agents reach a user grant only through a delegation', () => {
    let bot: { id: string; key: string };
    let other: { id: string; key: string };

    beforeAll(async () => {
      bot = await createAgent('research-bot');
      other = await createAgent('other-bot');
    });

    const agentCall = async (key: string, token: string) =>
      forwardAs(key, { 'latchkey-provider': 'github', 'latchkey-user-token': token });

    test('without a delegation: 404, by provider and by grant id', async () => {
      const token = await idp.signIn('alice');
      expect((await agentCall(bot.key, token)).status).toBe(404);
      const byId = await fetch(`${s.baseUrl}/v1/forward`, {
        headers: {
          authorization: `Bearer ${bot.key}`,
          'latchkey-target': `${up.url}/user`,
          'latchkey-grant-id': grants.work!,
        },
      });
      expect(byId.status).toBe(404);
    });

    test('creating a delegation: the grant’s user consents; bad input is a typed 4xx', async () => {
      const alice = await idp.signIn('alice');
      const bob = await idp.signIn('bob');
      const path = `/v1/grants/${grants.work}/delegations`;
      const cases: [string, string, Record<string, unknown>, number, string, string?][] = [
        ['bad agent id', path, { agent_id: 'bot', user_token: alice }, 400, 'invalid_request'],
        ['no token', path, { agent_id: bot.id }, 400, 'invalid_request'],
        [
          'unknown agent',
          path,
          { agent_id: 'agt_000000000000000000000000', user_token: alice },
          404,
          'agent_not_found',
        ],
        ['another user', path, { agent_id: bot.id, user_token: bob }, 404, 'grant_not_found'],
        [
          'expired token',
          path,
          { agent_id: bot.id, user_token: await idp.signIn('alice', { clockShiftMs: -2 * 3600_000 }) },
          401,
          'invalid_user_token',
        ],
        [
          'system grant',
          `/v1/grants/${grants.system}/delegations`,
          { agent_id: bot.id, user_token: alice },
          400,
          'invalid_request',
        ],
        [
          'group grant',
          `/v1/grants/${grants.ops}/delegations`,
          { agent_id: bot.id, user_token: alice },
          400,
          'invalid_request',
        ],
        ['agent key', path, { agent_id: bot.id, user_token: alice }, 403, 'insufficient_scope', bot.key],
      ];
      for (const [name, p, body, status, code, key] of cases) {
        const r = await call(key ?? s.appKey, 'POST', p, body);
        expect([name, r.status, r.body?.error?.code]).toEqual([name, status, code]);
      }
      expect((await app('GET', path)).body.delegations).toEqual([]);

      const created = await app('POST', path, { agent_id: bot.id, user_token: alice });
      expect(created.status, created.text).toBe(201);
      expect(created.body).toMatchObject({
        grant_id: grants.work,
        agent_id: bot.id,
        app_user_id: users.alice,
        status: 'active',
        revoked_at: null,
      });
      const again = await app('POST', path, { agent_id: bot.id, user_token: alice });
      expect(again.status).toBe(200);
      expect(again.body.delegation_id).toBe(created.body.delegation_id);
      const [event] = await auditEvents(`event=delegation.created&grant_id=${grants.work}`);
      expect(event!.principal).toEqual({ type: 'user', app_user_id: users.alice });
    });

    test('with a delegation: 200 for that agent only, and the audit row names agent and user', async () => {
      const token = await idp.signIn('alice');
      // Only the delegated grant is a candidate for the agent: no ambiguity, no account needed.
      const r = await agentCall(bot.key, token);
      expect(r.status).toBe(200);
      expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${CREDS.work}`);
      const byId = await fetch(`${s.baseUrl}/v1/forward`, {
        headers: {
          authorization: `Bearer ${bot.key}`,
          'latchkey-target': `${up.url}/user`,
          'latchkey-grant-id': grants.work!,
        },
      });
      expect(byId.status).toBe(200);
      expect((await agentCall(other.key, token)).status).toBe(404);
      const [completed] = await auditEvents(`event=proxy.request.completed&grant_id=${grants.work}&limit=1`);
      expect(completed!.actor.agent_id).toBe(bot.id);
      expect(completed!.principal).toEqual({ type: 'user', app_user_id: users.alice });

      const mine = await call(bot.key, 'GET', `/v1/grants/${grants.work}/delegations`);
      expect(mine.status, mine.text).toBe(200);
      expect(mine.body.delegations.map((d: { agent_id: string }) => d.agent_id)).toEqual([bot.id]);
      expect((await call(other.key, 'GET', `/v1/grants/${grants.work}/delegations`)).status).toBe(404);
      // The delegated grant is listed for (and readable by) that agent only.
      const listed = await call(bot.key, 'GET', '/v1/grants?limit=500');
      expect(listed.body.grants.map((g: { grant_id: string }) => g.grant_id)).toContain(grants.work);
      expect((await call(bot.key, 'GET', `/v1/grants/${grants.work}`)).status).toBe(200);
      const others = await call(other.key, 'GET', '/v1/grants?limit=500');
      expect(others.body.grants.map((g: { grant_id: string }) => g.grant_id)).not.toContain(grants.work);
      expect((await call(other.key, 'GET', `/v1/grants/${grants.work}`)).status).toBe(404);
    });

    test('the agent revokes its own delegation: 404 again within 1 s, the grant stays intact', async () => {
      const token = await idp.signIn('alice');
      expect((await call(s.appKey, 'DELETE', `/v1/grants/${grants.work}/delegation`)).status).toBe(400);
      expect((await call(other.key, 'DELETE', `/v1/grants/${grants.work}/delegation`)).status).toBe(404);
      const revoked = await call(bot.key, 'DELETE', `/v1/grants/${grants.work}/delegation`);
      expect(revoked.status, revoked.text).toBe(200);
      expect(revoked.body.status).toBe('revoked');
      const deadline = Date.now() + 1000;
      let status = 0;
      do status = (await agentCall(bot.key, token)).status;
      while (status !== 404 && Date.now() < deadline);
      expect(status).toBe(404);
      expect((await app('GET', `/v1/grants/${grants.work}`)).body.status).toBe('active');
      const owner = await forwardAs(s.appKey, {
        'latchkey-provider': 'github',
        'latchkey-user-token': token,
        'latchkey-account': 'alice',
      });
      expect(owner.status).toBe(200);
      const [event] = await auditEvents(`event=delegation.revoked&grant_id=${grants.work}`);
      expect(event).toMatchObject({ principal: { app_user_id: users.alice }, actor: { agent_id: bot.id } });
    });

    test('the app revokes a delegation (SDK), and a second revoke is 404', async () => {
      const token = await idp.signIn('alice');
      const sdk = new App({ apiKey: s.appKey, baseUrl: s.baseUrl, userTokenGetter: () => token });
      const d = await sdk.createDelegation(grants.work!, { agentId: bot.id, userToken: token });
      expect(d.status).toBe('active');
      expect((await agentCall(bot.key, token)).status).toBe(200);
      const revoked = await sdk.revokeDelegation(grants.work!, bot.id);
      expect(revoked).toMatchObject({ agentId: bot.id, status: 'revoked' });
      expect((await agentCall(bot.key, token)).status).toBe(404);
      const again = await app('DELETE', `/v1/grants/${grants.work}/delegations/${bot.id}`);
      expect(again.status).toBe(404);
      expect(again.body.error.code).toBe('delegation_not_found');
      const all = await sdk.listDelegations(grants.work!, { includeRevoked: true });
      expect(all.map((x) => x.status)).toEqual(['revoked', 'revoked']);
    });
  });

  test('SDK: verifyUserToken, resolveIdentity, and calls with provider + userTokenGetter', async () => {
    const token = await idp.signIn('alice');
    const sdk = new App({ apiKey: s.appKey, baseUrl: s.baseUrl, userTokenGetter: async () => token });
    expect(await sdk.verifyUserToken(token)).toMatchObject({
      valid: true,
      appUserId: users.alice,
      groups: ['eng', 'ops'],
    });
    expect(await sdk.resolveIdentity(token)).toEqual({
      appUserId: users.alice,
      groupIds: ['eng', 'ops'],
      userStatus: 'active',
    });
    await expect(sdk.verifyUserToken('aaa.bbb.ccc')).rejects.toBeInstanceOf(InvalidUserTokenError);
    const res = await sdk.request('GET', `${up.url}/user`, { provider: 'github', account: 'gh-personal' });
    expect(res.status).toBe(200);
    expect(up.seen.at(-1)!.headers.authorization).toBe(`Bearer ${CREDS.personal}`);
    const env = await sdk.proxyRequest({ method: 'GET', url: `${up.url}/user`, provider: 'slack' });
    expect(env.statusCode).toBe(200);
    const none = new App({ apiKey: s.appKey, baseUrl: s.baseUrl });
    await expect(
      none.request('GET', `${up.url}/user`, { provider: 'github', userToken: await idp.signIn('carol') }),
    ).rejects.toBeInstanceOf(GrantNotFoundError);
    const provider = await sdk.identity.getProvider();
    expect(provider).toMatchObject({ issuer: idp.issuer, claimsLocked: true });
  });
});
