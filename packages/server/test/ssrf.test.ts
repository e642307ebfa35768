// SSRF defences over real sockets (DESIGN §4.1 steps 5 and 9, §13 "SSRF"): every loopback, private,
// link-local and mapped form is refused at connect time unless allow-listed, even when the
// credential's binding names it; the credential never follows a redirect; refusals are audited.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/server.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const SECRET_VALUE = 'sk_live_ssrf_test_credential_0123456789';

interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown>; request_id: string };
}

async function api<T>(
  s: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${s.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${s.appKey}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Creates a bearer secret bound to `allowedHosts` and a system grant on it; returns the grant id. */
async function grantFor(s: TestServer, slug: string, allowedHosts: string[]): Promise<string> {
  const sec = await api<{ id: string }>(s, 'POST', '/v1/managed-secrets', {
    slug,
    type: 'bearer',
    value: SECRET_VALUE,
    allowed_hosts: allowedHosts,
  });
  expect(sec.status).toBe(201);
  const g = await api<{ grant_id: string }>(s, 'POST', `/v1/managed-secrets/${sec.body.id}/grants`, {
    principal: { type: 'system' },
  });
  expect(g.status).toBe(201);
  return g.body.grant_id;
}

/** `ANY /v1/forward` with undici's `request`, which never follows redirects itself. */
async function forward(s: TestServer, grantId: string, target: string, method = 'GET') {
  const res = await request(`${s.baseUrl}/v1/forward`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${s.appKey}`, 'latchkey-target': target, 'latchkey-grant-id': grantId },
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

/** `POST /v1/proxy` (JSON envelope). */
function proxy(s: TestServer, grantId: string, url: string, method = 'GET') {
  return api<
    ErrorBody & { status_code: number; headers: Record<string, string>; body_b64: string; body_truncated: boolean }
  >(s, 'POST', '/v1/proxy', {
    method,
    url,
    grant_id: grantId,
  });
}

const settle = () => new Promise((r) => setTimeout(r, 150));

describe('SSRF: connect-time egress guard (no CIDR allow-listed)', () => {
  let lk: TestServer;
  let loop: Upstream; // dual-stack listener: 127.0.0.1:port and [::1]:port both reach it
  let grantId: string;
  let P = 0;

  beforeAll(async () => {
    loop = await startUpstream(undefined, '::');
    P = loop.port;
    lk = await startServer({
      LATCHKEY_EGRESS_ALLOW_CIDRS: '',
      LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.1,localhost,169.254.169.254,::1,::ffff:7f00:1',
    });
    // The binding names every hostile target, so only the connect-time guard stands in the way.
    grantId = await grantFor(lk, 'hostile', [`127.0.0.1:${P}`, `localhost:${P}`, '169.254.169.254']);
  });
  afterAll(async () => {
    await lk?.close();
    await loop?.close();
  });

  // WHATWG URL canonicalises decimal, hex, octal and short IPv4 forms to 127.0.0.1 before the binding
  // and the guard see them: the binding entry 127.0.0.1:P admits them and the guard refuses them.
  const guarded = (p: () => number) =>
    [
      ['loopback', () => `http://127.0.0.1:${p()}/`],
      ['decimal', () => `http://2130706433:${p()}/`],
      ['hex', () => `http://0x7f.0.0.1:${p()}/`],
      ['octal', () => `http://0177.0.0.1:${p()}/`],
      ['short', () => `http://127.1:${p()}/`],
      ['DNS name resolving to loopback', () => `http://localhost:${p()}/`],
      ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/'],
    ] as const;

  describe.each(guarded(() => P))('%s', (_name, target) => {
    it('forward → 403 egress_denied, upstream not reached', async () => {
      const before = loop.seen.length;
      const res = await forward(lk, grantId, target());
      expect(res.status).toBe(403);
      expect(res.headers['latchkey-error']).toBe('1');
      expect((JSON.parse(res.text) as ErrorBody).error.code).toBe('egress_denied');
      // The refusal never quotes the target.
      expect(res.text).not.toContain(`:${P}`);
      expect(res.text).not.toMatch(/127\.0\.0\.1|localhost|169\.254/);
      expect(loop.seen.length).toBe(before);
    });

    it('proxy → 403 egress_denied, upstream not reached', async () => {
      const before = loop.seen.length;
      const res = await proxy(lk, grantId, target());
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('egress_denied');
      expect(loop.seen.length).toBe(before);
    });
  });

  // IPv6 literal targets are refused one step earlier, by the binding: a managed secret cannot hold
  // an IPv6 literal today (see the `it.fails` below), so no credential is ever bound to [::1] and the
  // request stops at step 5 with policy_violation/host_not_allowed. The connect-time guard's handling
  // of [::1] and [::ffff:127.0.0.1] is covered over real sockets in src/modules/proxy/egress.test.ts.
  describe.each([
    ['IPv6 loopback', () => `http://[::1]:${P}/`],
    ['IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${P}/`],
  ] as const)('%s', (_name, target) => {
    it('forward → 403 policy_violation host_not_allowed, upstream not reached', async () => {
      const before = loop.seen.length;
      const res = await forward(lk, grantId, target());
      expect(res.status).toBe(403);
      expect(res.headers['latchkey-error']).toBe('1');
      const body = JSON.parse(res.text) as ErrorBody;
      expect(body.error.code).toBe('policy_violation');
      expect(body.error.details).toEqual({ policy_error: 'host_not_allowed' });
      expect(loop.seen.length).toBe(before);
    });

    it('proxy → 403 policy_violation host_not_allowed, upstream not reached', async () => {
      const before = loop.seen.length;
      const res = await proxy(lk, grantId, target());
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('policy_violation');
      expect(res.body.error.details).toEqual({ policy_error: 'host_not_allowed' });
      expect(loop.seen.length).toBe(before);
    });
  });

  // Regression: IPv6 literals in allowed_hosts keep their brackets, so they can be bound; the
  // connect-time guard still refuses them.
  it('a secret bound to [::1]:PORT is still refused at connect time (egress_denied)', async () => {
    const g = await grantFor(lk, 'hostile-v6', [`[::1]:${P}`, `[::ffff:7f00:1]:${P}`]);
    for (const t of [`http://[::1]:${P}/`, `http://[::ffff:127.0.0.1]:${P}/`]) {
      const res = await forward(lk, g, t);
      expect(res.status).toBe(403);
      expect((JSON.parse(res.text) as ErrorBody).error.code).toBe('egress_denied');
    }
  });

  it('the loopback upstream recorded zero requests', async () => {
    await settle();
    expect(loop.seen).toEqual([]);
  });

  it('every refusal is audited with its error code', async () => {
    const denied = await api<{
      events: {
        event: string;
        outcome: string;
        error_code: string | null;
        grant_id: string | null;
        url: string | null;
        status_code: number | null;
      }[];
    }>(lk, 'GET', '/v1/audit?event=proxy.request.denied&limit=500');
    expect(denied.status).toBe(200);
    const forGrant = denied.body.events.filter((e) => e.grant_id === grantId);
    const policy = forGrant.filter((e) => e.error_code === 'policy_violation');
    // 2 IPv6 targets × 2 front doors, refused by the binding (step 5).
    expect(policy).toHaveLength(4);
    for (const e of policy) {
      expect(e.event).toBe('proxy.request.denied');
      expect(e.outcome).toBe('denied');
      expect(e.error_code).toBe('policy_violation');
    }
    expect(policy.map((e) => e.url).sort()).toEqual(
      [
        `http://[::1]:${P}/`,
        `http://[::1]:${P}/`,
        `http://[::ffff:7f00:1]:${P}/`,
        `http://[::ffff:7f00:1]:${P}/`,
      ].sort(),
    );

    // Connect-time refusals (step 9) are denials too: 7 guarded targets × 2 front doors.
    const egress = forGrant.filter((e) => e.error_code === 'egress_denied');
    expect(egress).toHaveLength(14);
    expect(forGrant).toHaveLength(18);
    for (const e of egress) {
      expect(e.outcome).toBe('denied');
      expect(e.status_code).toBeNull();
    }
    expect(new Set(egress.map((e) => e.url))).toEqual(
      new Set([`http://127.0.0.1:${P}/`, `http://localhost:${P}/`, 'http://169.254.169.254/latest/meta-data/']),
    );
  });
});

describe('SSRF: the same upstream is reached once 127.0.0.0/8 is allow-listed (the refusals above can fail)', () => {
  let lk: TestServer;
  let loop: Upstream;
  let grantId: string;

  beforeAll(async () => {
    loop = await startUpstream(undefined, '::');
    lk = await startServer({
      LATCHKEY_EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.1,localhost',
    });
    grantId = await grantFor(lk, 'allowed', [`127.0.0.1:${loop.port}`, `localhost:${loop.port}`]);
  });
  afterAll(async () => {
    await lk?.close();
    await loop?.close();
  });

  it.each([
    ['loopback', (p: number) => `http://127.0.0.1:${p}/x`],
    ['decimal', (p: number) => `http://2130706433:${p}/x`],
    ['hex', (p: number) => `http://0x7f.0.0.1:${p}/x`],
    ['octal', (p: number) => `http://0177.0.0.1:${p}/x`],
    ['short', (p: number) => `http://127.1:${p}/x`],
    ['localhost', (p: number) => `http://localhost:${p}/x`],
  ])('%s: forward and proxy reach the upstream with the credential', async (_name, target) => {
    const before = loop.seen.length;
    const f = await forward(lk, grantId, target(loop.port));
    expect(f.status).toBe(200);
    expect(f.headers['latchkey-error']).toBeUndefined();
    const p = await proxy(lk, grantId, target(loop.port));
    expect(p.status).toBe(200);
    expect(p.body.status_code).toBe(200);
    expect(loop.seen.length).toBe(before + 2);
    for (const r of loop.seen.slice(before)) {
      expect(r.url).toBe('/x');
      expect(r.headers.authorization).toBe(`Bearer ${SECRET_VALUE}`);
    }
  });
});

describe('SSRF: the credential never follows a redirect', () => {
  let lk: TestServer;
  let up: Upstream; // 127.0.0.2: redirects
  let thief: Upstream; // 127.0.0.3: must never hear from Latchkey
  let grantId: string;

  beforeAll(async () => {
    thief = await startUpstream((_r, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('stolen');
    }, '127.0.0.3');
    up = await startUpstream((r, res) => {
      if (r.url.startsWith('/same')) {
        res.writeHead(302, { location: '/other' });
        res.end();
        return;
      }
      if (r.url.startsWith('/other')) {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('followed');
        return;
      }
      const code = r.url.startsWith('/307') ? 307 : 302;
      res.writeHead(code, { location: `http://127.0.0.3:${thief.port}/steal`, 'content-type': 'text/plain' });
      res.end('moved');
    }, '127.0.0.2');
    lk = await startServer({
      LATCHKEY_EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.2,127.0.0.3',
    });
    // Both hosts are bound and reachable: only "no redirect following" keeps the credential away from 127.0.0.3.
    grantId = await grantFor(lk, 'redirects', [`127.0.0.2:${up.port}`, `127.0.0.3:${thief.port}`]);
  });
  afterAll(async () => {
    await lk?.close();
    await up?.close();
    await thief?.close();
  });

  it('the thief is reachable when called directly (so "received nothing" below is meaningful)', async () => {
    const res = await forward(lk, grantId, `http://127.0.0.3:${thief.port}/probe`);
    expect(res.status).toBe(200);
    expect(res.text).toBe('stolen');
    expect(thief.seen).toHaveLength(1);
    thief.seen.length = 0;
  });

  it('forward: a cross-origin 302 is returned as-is and not followed', async () => {
    const before = up.seen.length;
    const res = await forward(lk, grantId, `http://127.0.0.2:${up.port}/start`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`http://127.0.0.3:${thief.port}/steal`);
    expect(res.headers['latchkey-error']).toBeUndefined();
    expect(res.text).toBe('moved');
    expect(up.seen.length).toBe(before + 1);
    expect(up.seen.at(-1)?.headers.authorization).toBe(`Bearer ${SECRET_VALUE}`);
    await settle();
    expect(thief.seen).toEqual([]);
  });

  it('forward: a 307 on POST is returned as-is and not replayed', async () => {
    const res = await forward(lk, grantId, `http://127.0.0.2:${up.port}/307`, 'POST');
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`http://127.0.0.3:${thief.port}/steal`);
    await settle();
    expect(thief.seen).toEqual([]);
  });

  it('proxy: a cross-origin 302 is returned as-is and not followed', async () => {
    const before = up.seen.length;
    const res = await proxy(lk, grantId, `http://127.0.0.2:${up.port}/start`);
    expect(res.status).toBe(200);
    expect(res.body.status_code).toBe(302);
    expect(res.body.headers.location).toBe(`http://127.0.0.3:${thief.port}/steal`);
    expect(Buffer.from(res.body.body_b64, 'base64').toString('utf8')).toBe('moved');
    expect(up.seen.length).toBe(before + 1);
    await settle();
    expect(thief.seen).toEqual([]);
  });

  it('a same-origin redirect is not followed either (forward and proxy)', async () => {
    const before = up.seen.length;
    const f = await forward(lk, grantId, `http://127.0.0.2:${up.port}/same`);
    expect(f.status).toBe(302);
    expect(f.headers.location).toBe('/other');
    const p = await proxy(lk, grantId, `http://127.0.0.2:${up.port}/same`);
    expect(p.body.status_code).toBe(302);
    expect(p.body.headers.location).toBe('/other');
    await settle();
    expect(up.seen.slice(before).map((r) => r.url)).toEqual(['/same', '/same']);
    expect(thief.seen).toEqual([]);
  });
});

describe('SSRF: egress binding refusals (step 5) over HTTP', () => {
  let lk: TestServer;
  let up: Upstream; // 127.0.0.2, plain http allowed, reachable (CIDR allow-listed)
  let plain: Upstream; // 127.0.0.4, not in LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS
  let otherGrant: string;
  let boundGrant: string;
  let plainGrant: string;

  beforeAll(async () => {
    up = await startUpstream(undefined, '127.0.0.2');
    plain = await startUpstream(undefined, '127.0.0.4');
    lk = await startServer({
      LATCHKEY_EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: '127.0.0.2',
    });
    otherGrant = await grantFor(lk, 'bound-elsewhere', ['api.example.com']);
    boundGrant = await grantFor(lk, 'bound-here', [`127.0.0.2:${up.port}`]);
    plainGrant = await grantFor(lk, 'https-only', [`127.0.0.4:${plain.port}`]);
  });
  afterAll(async () => {
    await lk?.close();
    await up?.close();
    await plain?.close();
  });

  it('positive control: the bound grant reaches 127.0.0.2', async () => {
    const res = await forward(lk, boundGrant, `${up.url}/ok`);
    expect(res.status).toBe(200);
    expect(up.seen.map((r) => r.url)).toEqual(['/ok']);
  });

  it('a host not in allowed_hosts → 403 policy_violation host_not_allowed (forward and proxy), upstream not called', async () => {
    const before = up.seen.length;
    const f = await forward(lk, otherGrant, `${up.url}/x`);
    expect(f.status).toBe(403);
    expect(f.headers['latchkey-error']).toBe('1');
    const fb = JSON.parse(f.text) as ErrorBody;
    expect(fb.error.code).toBe('policy_violation');
    expect(fb.error.details).toEqual({ policy_error: 'host_not_allowed' });
    const p = await proxy(lk, otherGrant, `${up.url}/x`);
    expect(p.status).toBe(403);
    expect(p.body.error.code).toBe('policy_violation');
    expect(p.body.error.details).toEqual({ policy_error: 'host_not_allowed' });
    await settle();
    expect(up.seen.length).toBe(before);
  });

  it('a look-alike host (allowed host as a prefix) is refused', async () => {
    const res = await forward(lk, otherGrant, 'https://api.example.com.evil.com/');
    expect(res.status).toBe(403);
    expect((JSON.parse(res.text) as ErrorBody).error.details).toEqual({ policy_error: 'host_not_allowed' });
  });

  it('the right host on another port → port_not_allowed, upstream not called', async () => {
    const before = up.seen.length;
    const res = await forward(lk, boundGrant, `http://127.0.0.2:${up.port === 65535 ? 1 : up.port + 1}/x`);
    expect(res.status).toBe(403);
    expect((JSON.parse(res.text) as ErrorBody).error.details).toEqual({ policy_error: 'port_not_allowed' });
    expect(up.seen.length).toBe(before);
  });

  it('http to a host not in LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS → policy_violation scheme_not_allowed, upstream not called', async () => {
    const f = await forward(lk, plainGrant, `${plain.url}/x`);
    expect(f.status).toBe(403);
    const fb = JSON.parse(f.text) as ErrorBody;
    expect(fb.error.code).toBe('policy_violation');
    expect(fb.error.details).toEqual({ policy_error: 'scheme_not_allowed' });
    const p = await proxy(lk, plainGrant, `${plain.url}/x`);
    expect(p.status).toBe(403);
    expect(p.body.error.code).toBe('policy_violation');
    expect(p.body.error.details).toEqual({ policy_error: 'scheme_not_allowed' });
    await settle();
    expect(plain.seen).toEqual([]);
  });

  it('userinfo in the target is invalid_request before any I/O', async () => {
    const f = await forward(lk, boundGrant, `http://user:pw@127.0.0.2:${up.port}/x`);
    expect(f.status).toBe(400);
    expect((JSON.parse(f.text) as ErrorBody).error.code).toBe('invalid_request');
    const p = await proxy(lk, boundGrant, `http://user:pw@127.0.0.2:${up.port}/x`);
    expect(p.status).toBe(400);
    expect(p.body.error.code).toBe('invalid_request');
  });

  it('every denial is listed by GET /v1/audit?event=proxy.request.denied with its error code', async () => {
    const res = await api<{
      events: {
        event: string;
        outcome: string;
        error_code: string | null;
        grant_id: string | null;
        url: string | null;
      }[];
    }>(lk, 'GET', '/v1/audit?event=proxy.request.denied&limit=500');
    expect(res.status).toBe(200);
    const rows = res.body.events.map((e) => ({
      grant: e.grant_id,
      code: e.error_code,
      outcome: e.outcome,
      url: e.url,
    }));
    const count = (grant: string, code: string) =>
      rows.filter((r) => r.grant === grant && r.code === code && r.outcome === 'denied').length;
    expect(count(otherGrant, 'policy_violation')).toBe(3); // host_not_allowed ×2, look-alike ×1
    expect(count(boundGrant, 'policy_violation')).toBe(1); // port_not_allowed
    expect(count(plainGrant, 'policy_violation')).toBe(2); // scheme_not_allowed ×2
    expect(count(boundGrant, 'invalid_request')).toBe(2); // userinfo ×2, refused before the pipeline
    expect(rows).toHaveLength(8);
    expect(rows.filter((r) => r.grant === plainGrant).map((r) => r.url)).toEqual([`${plain.url}/x`, `${plain.url}/x`]);
    // The audit trail never carries the credential.
    expect(JSON.stringify(res.body)).not.toContain(SECRET_VALUE);
  });
});
