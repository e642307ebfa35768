import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { api } from './helpers/api.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startUpstream, type Upstream } from './helpers/upstream.js';

let up: Upstream;
let s: TestServer;
let grantId: string;
let secretId: string;

const forward = (g: string) =>
  fetch(`${s.baseUrl}/v1/forward`, {
    headers: {
      authorization: `Bearer ${s.appKey}`,
      'latchkey-target': `${up.url}/x?token=abc&q=1`,
      'latchkey-grant-id': g,
      'latchkey-reason': 'nightly sync',
      'latchkey-run-id': 'run-1',
      'latchkey-tool': 'sync',
      'latchkey-context': JSON.stringify({ ticket: 'T-1' }),
    },
  });

beforeAll(async () => {
  up = await startUpstream();
  s = await startServer({ LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS: up.host });
  const c = await api(s.baseUrl, s.appKey, 'POST', '/v1/managed-secrets', {
    slug: 'a',
    type: 'bearer',
    value: 'audit-secret-0123456789',
    allowed_hosts: [`${up.host}:${up.port}`],
  });
  secretId = c.body.id;
  grantId = (
    await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/grants`, { principal: { type: 'system' } })
  ).body.grant_id;
});

afterAll(async () => {
  await s?.close();
  await up?.close();
});

describe('audit trail', () => {
  test('every change and call writes an event with actor, trace and a redacted URL', async () => {
    expect((await forward(grantId)).status).toBe(200);
    const list = await api(s.baseUrl, s.appKey, 'GET', `/v1/audit?grant_id=${grantId}`);
    const events = list.body.events as {
      event: string;
      url: string | null;
      reason: string | null;
      trace: { run_id: string; tool: string };
      context: unknown;
      actor: { key_prefix: string };
      status_code: number | null;
    }[];
    expect(events.map((e) => e.event)).toEqual(['proxy.request.completed', 'grant.issued']);
    const call = events[0]!;
    expect(call.url).toBe(`${up.url}/x?token=[REDACTED]&q=[REDACTED]`);
    expect(call.reason).toBe('nightly sync');
    expect(call.trace.run_id).toBe('run-1');
    expect(call.trace.tool).toBe('sync');
    expect(call.context).toEqual({ ticket: 'T-1' });
    expect(call.actor.key_prefix).toBe(s.appKey.slice(0, 12));
    expect(call.status_code).toBe(200);
    const all = await api(s.baseUrl, s.appKey, 'GET', '/v1/audit?limit=500');
    const names = new Set((all.body.events as { event: string }[]).map((e) => e.event));
    for (const n of ['app.created', 'key.minted', 'secret.stored', 'grant.issued', 'proxy.request.completed'])
      expect(names).toContain(n);
  });

  test('cursor pagination walks every event once, newest first', async () => {
    for (let i = 0; i < 5; i++) await forward(grantId);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { events: { seq: number }[]; next_cursor: string | null } } = await api(
        s.baseUrl,
        s.appKey,
        'GET',
        `/v1/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.body.events.map((e) => e.seq));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen.length).toBeGreaterThan(8);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
  });

  test('the chain verifies, and a tampered, deleted or reordered row is reported', async () => {
    const ok = await api(s.baseUrl, s.appKey, 'GET', '/v1/audit/verify');
    expect(ok.body.ok).toBe(true);
    expect(ok.body.chains[0].events).toBeGreaterThan(8);
    const db = s.lk.store.db;
    const row = await db
      .selectFrom('audit_events')
      .select(['seq', 'record'])
      .where('event', '=', 'proxy.request.completed')
      .orderBy('seq')
      .limit(1)
      .executeTakeFirstOrThrow();
    const setRecord = (record: string) =>
      db.updateTable('audit_events').set({ record }).where('seq', '=', row.seq).execute();
    await setRecord(row.record.replace('"status_code":200', '"status_code":201'));
    const bad = await api(s.baseUrl, s.appKey, 'GET', '/v1/audit/verify');
    expect(bad.body.ok).toBe(false);
    expect(bad.body.first_broken.reason).toBe('hash mismatch');
    await setRecord(row.record);
    expect((await api(s.baseUrl, s.appKey, 'GET', '/v1/audit/verify')).body.ok).toBe(true);
    const saved = await db.selectFrom('audit_events').selectAll().where('seq', '=', row.seq).executeTakeFirstOrThrow();
    await db.deleteFrom('audit_events').where('seq', '=', row.seq).execute();
    const gap = await api(s.baseUrl, s.appKey, 'GET', '/v1/audit/verify');
    expect(gap.body.ok).toBe(false);
    expect(gap.body.first_broken.reason).toMatch(/^missing row/);
    await db.insertInto('audit_events').values(saved).execute();
    expect((await api(s.baseUrl, s.appKey, 'GET', '/v1/audit/verify')).body.ok).toBe(true);
  });

  test('fail closed: when the audit store cannot write, calls get 503 audit_unavailable and the upstream is not called', async () => {
    const db = s.lk.store.db;
    const block =
      s.dialect === 'sqlite'
        ? [sql`CREATE TRIGGER block_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'read-only'); END`]
        : [
            sql`CREATE FUNCTION block_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'read-only'; END $$ LANGUAGE plpgsql`,
            sql`CREATE TRIGGER block_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION block_audit()`,
          ];
    const unblock =
      s.dialect === 'sqlite'
        ? [sql`DROP TRIGGER block_audit`]
        : [sql`DROP TRIGGER block_audit ON audit_events`, sql`DROP FUNCTION block_audit()`];
    {
      for (const q of block) await q.execute(db);
      // The writability probe runs every second; the first call after a fault may also fail on commit.
      await new Promise((r) => setTimeout(r, 1200));
      const before = up.seen.length;
      const f = await forward(grantId);
      expect(f.status).toBe(503);
      expect((await f.json()).error.code).toBe('audit_unavailable');
      const p = await api(s.baseUrl, s.appKey, 'POST', '/v1/proxy', {
        method: 'GET',
        url: `${up.url}/y`,
        grant_id: grantId,
      });
      expect(p.status).toBe(503);
      expect(p.body.error.code).toBe('audit_unavailable');
      expect(up.seen.length).toBe(before);
      const ready = await fetch(`${s.baseUrl}/readyz`);
      expect(ready.status).toBe(503);
      // Changes that grant power are refused and change nothing; revocations still take effect.
      const rot = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/rotate`, {
        value: 'new-value-0123456789',
      });
      expect(rot.status).toBe(503);
      expect((await api(s.baseUrl, s.appKey, 'GET', `/v1/managed-secrets/${secretId}`)).body.version).toBe(1);
      const g2 = await api(s.baseUrl, s.appKey, 'POST', `/v1/managed-secrets/${secretId}/grants`, {
        principal: { type: 'system' },
      });
      expect(g2.status).toBe(503);
      const spare = (await s.lk.services.grants.list(s.appId, { limit: 500, offset: 0 })).total;
      expect(spare).toBe(1);
      for (const q of unblock) await q.execute(db);
      await new Promise((r) => setTimeout(r, 1200));
      expect((await forward(grantId)).status).toBe(200);
      expect((await fetch(`${s.baseUrl}/readyz`)).status).toBe(200);
      expect((await api(s.baseUrl, s.appKey, 'GET', '/v1/audit/verify')).body.ok).toBe(true);
    }
  });
});
