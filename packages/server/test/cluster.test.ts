/**
 * Scale-out (issue 3): real replicas (`latchkey serve` processes) on one PostgreSQL database and one
 * Redis. Figures (propagation times, requests in flight, rows checked) are printed for the notes.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { api } from './helpers/api.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { startReplica, type Replica } from './helpers/replica.js';
import { signedHeaders } from './helpers/signed.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

const PUBLIC_URL = 'http://latchkey.cluster.test';
let db: TestDatabase;
let up: Upstream;
let a: Replica;
let b: Replica;
let key: string;
let secretId: string;
let grantId: string;
let common: Record<string, string>;

const forward = (r: Replica, g: string, extra: Record<string, string> = {}) =>
  fetch(`${r.url}/v1/forward`, {
    headers: { authorization: `Bearer ${key}`, 'latchkey-target': `${up.url}/data`, 'latchkey-grant-id': g, ...extra },
  });

async function auditRows(
  replicaId: string,
): Promise<{ run_id: string | null; status: number | null; event: string }[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const r = await c.query<{ record: string }>('SELECT record FROM audit_events WHERE replica_id = $1', [replicaId]);
    return r.rows.map((x) => {
      const rec = JSON.parse(x.record) as {
        trace: { run_id: string | null };
        status_code: number | null;
        event: string;
      };
      return { run_id: rec.trace.run_id, status: rec.status_code, event: rec.event };
    });
  } finally {
    await c.end();
  }
}

/** Runs `total` forwards through `r` with `concurrency` workers, each tagged with a unique run id. */
async function load(r: Replica, total: number, concurrency: number, during?: () => Promise<void>) {
  const results: { runId: string; status: number; code?: string }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const runId = `run-${randomBytes(6).toString('hex')}`;
      next += 1;
      try {
        const res = await forward(r, grantId, { 'latchkey-run-id': runId });
        const text = await res.text();
        const code = res.headers.get('latchkey-error')
          ? (JSON.parse(text) as { error: { code: string } }).error.code
          : undefined;
        results.push({ runId, status: res.status, ...(code ? { code } : {}) });
      } catch {
        results.push({ runId, status: 0 }); // connection cut (the replica died)
      }
    }
  };
  await Promise.all([...Array.from({ length: concurrency }, worker), during?.()]);
  return results;
}

beforeAll(async () => {
  db = await createTestDatabase();
  up = await startUpstream((req, res) => {
    const ok =
      req.headers.authorization === 'Bearer cluster-secret-1' ||
      req.headers.authorization === 'Bearer cluster-secret-2';
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ auth: req.headers.authorization === 'Bearer cluster-secret-2' ? 2 : ok ? 1 : 0 }));
  });
  common = {
    LATCHKEY_DATABASE_URL: db.url,
    LATCHKEY_DATABASE_POOL_SIZE: String(Math.min(5, db.maxConnections)),
    LATCHKEY_REDIS_URL: 'redis://127.0.0.1:6379',
    LATCHKEY_REDIS_KEY_PREFIX: `lk-test-${randomBytes(4).toString('hex')}:`,
    LATCHKEY_PUBLIC_URL: PUBLIC_URL,
    LATCHKEY_EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
    LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: up.host,
    LATCHKEY_MASTER_KEY: randomBytes(32).toString('base64'),
  };
  a = await startReplica({ ...common, LATCHKEY_REPLICA_ID: 'a' });
  b = await startReplica({ ...common, LATCHKEY_REPLICA_ID: 'b' });
  expect(a.init).toBeDefined();
  expect(b.init).toBeUndefined(); // the second replica finds the database initialized
  key = a.init!.app_key;
  const s = await api(a.url, key, 'POST', '/v1/managed-secrets', {
    slug: 'c',
    type: 'bearer',
    value: 'cluster-secret-1',
    allowed_hosts: [`${up.host}:${up.port}`],
  });
  expect(s.status, s.text).toBe(201);
  secretId = s.body.id;
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([a?.stop(), b?.stop()]);
  await up?.close();
  await db?.drop();
});

describe('two replicas on one PostgreSQL and one Redis', () => {
  test('a grant issued on A is usable on B', async () => {
    const g = await api(a.url, key, 'POST', `/v1/managed-secrets/${secretId}/grants`, {
      principal: { type: 'system' },
    });
    grantId = g.body.grant_id;
    const res = await forward(b, grantId);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ auth: 1 });
  });

  test('a revocation on A is refused by B within 1 s (and a rotation is seen by B)', async () => {
    const g = await api(a.url, key, 'POST', `/v1/managed-secrets/${secretId}/grants`, {
      principal: { type: 'system' },
    });
    const id = g.body.grant_id as string;
    for (let i = 0; i < 3; i++) expect((await forward(b, id)).status).toBe(200); // B has it cached
    const t0 = performance.now();
    const rev = await api(a.url, key, 'POST', `/v1/grants/${id}/revoke`, { reason: 'cluster test' });
    const t1 = performance.now();
    expect(rev.body.status).toBe('revoked');
    let refusedAt = 0;
    while (performance.now() - t1 < 2000) {
      const r = await forward(b, id);
      if (r.status === 403) {
        refusedAt = performance.now();
        expect((await r.json()).error.code).toBe('grant_revoked');
        break;
      }
      await r.arrayBuffer();
    }
    expect(refusedAt).toBeGreaterThan(0);
    const propagationMs = refusedAt - t1;
    console.log(
      `[figures] revocation: call took ${(t1 - t0).toFixed(1)} ms; B refused ${propagationMs.toFixed(1)} ms after it returned`,
    );
    expect(propagationMs).toBeLessThan(1000);

    const rot = await api(a.url, key, 'POST', `/v1/managed-secrets/${secretId}/rotate`, { value: 'cluster-secret-2' });
    expect(rot.status).toBe(200);
    const t2 = performance.now();
    let seenAt = 0;
    while (performance.now() - t2 < 2000) {
      const body = (await (await forward(b, grantId)).json()) as { auth: number };
      if (body.auth === 2) {
        seenAt = performance.now();
        break;
      }
    }
    console.log(
      `[figures] rotation: B injected the new value ${(seenAt - t2).toFixed(1)} ms after the rotate call returned`,
    );
    expect(seenAt - t2).toBeLessThan(1000);
  });

  test('a replayed signed request is refused by the other replica', async () => {
    const url = `${PUBLIC_URL}/v1/grants`;
    const headers = signedHeaders(key, 'GET', url);
    expect((await fetch(`${a.url}/v1/grants`, { headers })).status).toBe(200);
    const replay = await fetch(`${b.url}/v1/grants`, { headers });
    expect(replay.status).toBe(401);
    expect((await replay.json()).error.code).toBe('unauthorized');
    // A fresh signature is accepted by B: the refusal above was the nonce, not the signature.
    expect((await fetch(`${b.url}/v1/grants`, { headers: signedHeaders(key, 'GET', url) })).status).toBe(200);
  });

  test('a rate limit of N/min holds across both replicas', async () => {
    const m = await api(a.url, key, 'POST', '/v1/keys', { scopes: ['grants:read'], rate_limit_rpm: 10 });
    const limited = m.body.api_key as string;
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 14; i++) {
      const r = await fetch(`${(i % 2 ? b : a).url}/v1/grants?limit=1`, {
        headers: { authorization: `Bearer ${limited}` },
      });
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get('retry-after');
        expect((await r.json()).error.code).toBe('rate_limited');
      } else await r.arrayBuffer();
    }
    console.log(
      `[figures] rate limit 10/min over 14 calls alternating A/B: ${statuses.filter((s) => s === 200).length} allowed, ${statuses.filter((s) => s === 429).length} refused`,
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    expect(Number(retryAfter)).toBeGreaterThan(0);
  });

  test('both audit chains verify', async () => {
    const v = await api(b.url, key, 'GET', '/v1/audit/verify');
    expect(v.body.ok).toBe(true);
    const ids = (v.body.chains as { replica_id: string; events: number }[])
      .filter((c) => c.events > 0)
      .map((c) => c.replica_id);
    expect(ids).toEqual(expect.arrayContaining(['a', 'b']));
  });
});

describe('faults', () => {
  test('kill -9 of a replica under load: every 2xx has its audit row; the chain verifies', async () => {
    const c = await startReplica({ ...common, LATCHKEY_REPLICA_ID: 'c' });
    const results = await load(c, 400, 16, async () => {
      await new Promise((r) => setTimeout(r, 400));
      await c.kill9();
    });
    const ok = results.filter((r) => r.status === 200);
    const rows = await auditRows('c');
    const audited = new Set(rows.filter((r) => r.event === 'proxy.request.completed').map((r) => r.run_id));
    const missing = ok.filter((r) => !audited.has(r.runId));
    console.log(
      `[figures] kill -9: ${results.length} requests sent, ${ok.length} got 2xx, ${results.filter((r) => r.status === 0).length} cut; ${rows.length} audit rows of replica c checked; ${missing.length} 2xx without a row`,
    );
    expect(ok.length).toBeGreaterThan(10);
    expect(missing).toEqual([]);
    const v = await api(a.url, key, 'GET', '/v1/audit/verify');
    expect(v.body.ok).toBe(true);
    expect((v.body.chains as { replica_id: string }[]).map((x) => x.replica_id)).toContain('c');
  }, 60_000);

  test('PostgreSQL connections killed under load: errors are 503, nothing committed is lost, service resumes', async () => {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    const count = async () => {
      const r = await admin.query<{ s: string; g: string; e: string }>(
        'SELECT (SELECT count(*) FROM managed_secrets) AS s, (SELECT count(*) FROM grants) AS g, (SELECT count(*) FROM audit_events) AS e',
      );
      return { secrets: Number(r.rows[0]!.s), grants: Number(r.rows[0]!.g), audit: Number(r.rows[0]!.e) };
    };
    const before = await count();
    let killed = 0;
    const results = await load(a, 300, 12, async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 150));
        const r = await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        killed += r.rowCount ?? 0;
      }
    });
    const byStatus = new Map<string, number>();
    for (const r of results)
      byStatus.set(
        `${r.status}${r.code ? ` ${r.code}` : ''}`,
        (byStatus.get(`${r.status}${r.code ? ` ${r.code}` : ''}`) ?? 0) + 1,
      );
    console.log(
      `[figures] pg connections killed: ${killed} backends terminated during ${results.length} requests; outcomes ${JSON.stringify(Object.fromEntries(byStatus))}`,
    );
    for (const r of results) {
      expect([200, 503]).toContain(r.status);
      if (r.status === 503) expect(['service_unavailable', 'audit_unavailable']).toContain(r.code);
    }
    // Service resumes on its own.
    let resumed = false;
    for (let i = 0; i < 50 && !resumed; i++) {
      const r = await forward(a, grantId);
      resumed = r.status === 200;
      await r.arrayBuffer();
      if (!resumed) await new Promise((res) => setTimeout(res, 100));
    }
    expect(resumed).toBe(true);
    const after = await count();
    expect(after.secrets).toBe(before.secrets);
    expect(after.grants).toBe(before.grants);
    expect(after.audit).toBeGreaterThan(before.audit);
    const rows = await auditRows('a');
    const audited = new Set(rows.map((r) => r.run_id));
    expect(results.filter((r) => r.status === 200 && !audited.has(r.runId))).toEqual([]);
    expect((await api(a.url, key, 'GET', '/v1/audit/verify')).body.ok).toBe(true);
    await admin.end();
  }, 60_000);
});

describe('Redis stopped', () => {
  test('the replica degrades (signed requests refused, per-replica limits, short cache TTL), never crashes, and recovers', async () => {
    const { spawn } = await import('node:child_process');
    const net = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const startRedis = async () => {
      const p = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        { stdio: 'ignore' },
      );
      for (let i = 0; i < 50; i++) {
        const ok = await new Promise<boolean>((resolve) => {
          const sock = net.connect(port, '127.0.0.1', () => {
            sock.end();
            resolve(true);
          });
          sock.on('error', () => resolve(false));
        });
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      return p;
    };
    let redis = await startRedis();
    const d = await startReplica({
      ...common,
      LATCHKEY_REPLICA_ID: 'd',
      LATCHKEY_REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    const ready = async () =>
      (await (await fetch(`${d.url}/readyz`)).json()) as { status: string; checks: { redis: string } };
    try {
      expect((await ready()).checks.redis).toBe('ok');
      const url = `${PUBLIC_URL}/v1/grants`;
      expect((await fetch(`${d.url}/v1/grants`, { headers: signedHeaders(key, 'GET', url) })).status).toBe(200);
      const g = await api(d.url, key, 'POST', `/v1/managed-secrets/${secretId}/grants`, {
        principal: { type: 'system' },
      });
      expect((await forward(d, g.body.grant_id)).status).toBe(200);

      redis.kill('SIGKILL');
      let status = '';
      for (let i = 0; i < 50 && status !== 'degraded'; i++) {
        status = (await ready()).status;
        if (status !== 'degraded') await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe('degraded');
      const signed = await fetch(`${d.url}/v1/grants`, { headers: signedHeaders(key, 'GET', url) });
      expect(signed.status).toBe(503);
      const body = (await signed.json()) as { error: { code: string; details: { reason: string } } };
      expect(body.error.code).toBe('service_unavailable');
      expect(body.error.details.reason).toBe('nonce_store_unavailable');
      // Bearer calls and the proxy keep working.
      expect((await forward(d, g.body.grant_id)).status).toBe(200);
      // Rate limits fall back to per-replica counters.
      const m = await api(d.url, key, 'POST', '/v1/keys', { scopes: ['grants:read'], rate_limit_rpm: 3 });
      const limited: number[] = [];
      for (let i = 0; i < 5; i++)
        limited.push(
          (await fetch(`${d.url}/v1/grants?limit=1`, { headers: { authorization: `Bearer ${m.body.api_key}` } }))
            .status,
        );
      expect(limited).toEqual([200, 200, 200, 429, 429]);
      // A revocation made on another replica is still seen within about a second (short cache TTL).
      const t1 = performance.now();
      await api(a.url, key, 'POST', `/v1/grants/${g.body.grant_id}/revoke`, {});
      let refusedMs = -1;
      while (performance.now() - t1 < 3000) {
        const r = await forward(d, g.body.grant_id);
        await r.arrayBuffer();
        if (r.status === 403) {
          refusedMs = performance.now() - t1;
          break;
        }
      }
      console.log(
        `[figures] redis down: revocation on A refused by D after ${refusedMs.toFixed(1)} ms (degraded cache TTL 500 ms)`,
      );
      expect(refusedMs).toBeGreaterThanOrEqual(0);
      expect(refusedMs).toBeLessThan(1000);

      redis = await startRedis();
      for (let i = 0; i < 60 && status !== 'ready'; i++) {
        status = (await ready()).status;
        if (status !== 'ready') await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe('ready');
      expect((await fetch(`${d.url}/v1/grants`, { headers: signedHeaders(key, 'GET', url) })).status).toBe(200);
    } finally {
      expect(await d.stop()).toBe(0);
      redis.kill('SIGKILL');
    }
  }, 60_000);
});
