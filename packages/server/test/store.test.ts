import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CompiledQuery, Migrator, sql } from 'kysely';
import { afterAll, describe, expect, test } from 'vitest';
import { openStore, type Store } from '../src/store/database.js';
import { isStoreUnavailable } from '../src/store/errors.js';
import { MIGRATIONS, migrateToLatest } from '../src/store/migrate.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { appRow, secretRow } from './helpers/rows.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function fresh(dialect: 'sqlite' | 'postgres'): Promise<{ url: string; db?: TestDatabase }> {
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-store-'));
    return { url: `sqlite:${path.join(dir, 'x.db')}` };
  }
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  return { url: db.url, db };
}

function open(url: string): Store {
  const s = openStore(url);
  cleanups.push(() => s.close());
  return s;
}

describe.each(['sqlite', 'postgres'] as const)('migrations on %s', (dialect) => {
  test('apply once, in order; a second run is a no-op; the schema is usable', async () => {
    const { url } = await fresh(dialect);
    const s = open(url);
    expect(s.dialect).toBe(dialect);
    const applied = await migrateToLatest(s.db);
    expect(applied[0]).toBe('0001_initial');
    expect([...applied].sort()).toEqual(applied);
    expect(await migrateToLatest(s.db)).toEqual([]);
    // Every table the repositories use exists and round-trips the portable types.
    await s.db
      .insertInto('apps')
      .values({
        id: 'app_1',
        name: 'a',
        kek_version: 1,
        fingerprint_key_wrapped: 'x',
        created_at: '2026-01-01T00:00:00.000Z',
      })
      .execute();
    const row = await s.db.selectFrom('apps').selectAll().executeTakeFirstOrThrow();
    expect(row).toEqual({
      id: 'app_1',
      name: 'a',
      kek_version: 1,
      fingerprint_key_wrapped: 'x',
      created_at: '2026-01-01T00:00:00.000Z',
    });
    for (const t of ['app_keks', 'api_keys', 'managed_secrets', 'grants', 'audit_events', 'idempotency_keys']) {
      const r = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(t)}`.execute(s.db);
      expect(Number(r.rows[0]!.n)).toBe(0);
    }
  });

  test('two replicas starting together migrate once', async () => {
    const { url } = await fresh(dialect);
    const [s1, s2] = [open(url), open(url)];
    const [r1, r2] = await Promise.all([migrateToLatest(s1.db), migrateToLatest(s2.db)]);
    const names = [...r1, ...r2].sort();
    expect(new Set(names).size).toBe(names.length); // nothing applied twice
    const rows = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(s1.db);
    expect(rows.rows.map((r) => r.name)).toEqual([...new Set(names)].sort());
  });

  test('the slug of a live secret is unique per app (partial unique index)', async () => {
    const { url } = await fresh(dialect);
    const s = open(url);
    await migrateToLatest(s.db);
    await s.db.insertInto('apps').values(appRow()).execute();
    const secret = (id: string, deleted: string | null) =>
      secretRow({ id, slug: 'same', value_sealed: null, dek_wrapped: null, deleted_at: deleted });
    await s.db.insertInto('managed_secrets').values(secret('ms_1', 'yesterday')).execute();
    await s.db.insertInto('managed_secrets').values(secret('ms_2', null)).execute();
    await expect(s.db.insertInto('managed_secrets').values(secret('ms_3', null)).execute()).rejects.toThrow();
  });

  test('0008 rebuilds the audit table without the id index (and AUTOINCREMENT on SQLite), keeping every row', async () => {
    const { url } = await fresh(dialect);
    const s = open(url);
    const upTo7 = Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name < '0008'));
    const before = new Migrator({ db: s.db, provider: { getMigrations: async () => upTo7 } });
    expect((await before.migrateToLatest()).error).toBeUndefined();
    const row = (chainSeq: number, agent: string | null) => ({
      id: `r-1-${String(chainSeq).padStart(12, '0')}`,
      replica_id: 'r-1',
      chain_seq: chainSeq,
      ts: '2026-01-01T00:00:00.000Z',
      app_id: 'app_1',
      event: 'proxy.completed',
      outcome: 'success',
      record: `{"n":${chainSeq}}`,
      prev_hash: 'p',
      hash: `h${chainSeq}`,
      grant_id: 'g',
      managed_secret_id: null,
      key_prefix: null,
      agent_id: agent,
      app_user_id: null,
    });
    await s.db
      .insertInto('audit_events')
      .values([row(1, null), row(2, 'agt_1'), row(3, null)])
      .execute();
    const rowsBefore = await s.db.selectFrom('audit_events').selectAll().orderBy('seq').execute();

    expect(await migrateToLatest(s.db)).toEqual(['0008_audit_lean_rows']);
    expect(await s.db.selectFrom('audit_events').selectAll().orderBy('seq').execute()).toEqual(rowsBefore);
    const uniqueOnIdOnly =
      dialect === 'sqlite'
        ? await sql<{ n: number }>`SELECT count(*) AS n FROM pragma_index_list('audit_events') l
            WHERE l."unique" = 1 AND (SELECT group_concat(name) FROM pragma_index_info(l.name)) = 'id'`.execute(s.db)
        : await sql<{ n: number }>`SELECT count(*) AS n FROM pg_indexes
            WHERE tablename = 'audit_events' AND indexdef LIKE 'CREATE UNIQUE INDEX % (id)'`.execute(s.db);
    expect(Number(uniqueOnIdOnly.rows[0]!.n)).toBe(0);
    if (dialect === 'sqlite') {
      const def = await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE name = 'audit_events'`.execute(s.db);
      expect(def.rows[0]!.sql).not.toMatch(/autoincrement/i);
    }
    // The chain stays unique per replica, and a new row continues the sequence.
    await expect(s.db.insertInto('audit_events').values(row(3, null)).execute()).rejects.toThrow();
    await s.db.insertInto('audit_events').values(row(4, null)).execute();
    const last = await s.db
      .selectFrom('audit_events')
      .select(['seq'])
      .where('chain_seq', '=', 4)
      .executeTakeFirstOrThrow();
    // (PostgreSQL's sequence skips the value the refused insert took.)
    if (dialect === 'sqlite') expect(Number(last.seq)).toBe(Number(rowsBefore[2]!.seq) + 1);
    else expect(Number(last.seq)).toBeGreaterThan(Number(rowsBefore[2]!.seq));
  });

  test('the audit agent and end-user indexes are partial and still serve the filtered listing', async () => {
    const { url } = await fresh(dialect);
    const s = open(url);
    await migrateToLatest(s.db);
    // The listing's shape for an agent (or end-user) filter: app, column, newest first.
    const listing = (column: 'agent_id' | 'app_user_id') =>
      s.db
        .selectFrom('audit_events')
        .select(['seq', 'record', 'hash'])
        .where('app_id', '=', 'app_1')
        .where(column, '=', 'x')
        .orderBy('seq', 'desc')
        .limit(51)
        .compile();
    for (const [index, column] of [
      ['audit_app_agent_idx', 'agent_id'],
      ['audit_app_user_idx', 'app_user_id'],
    ] as const) {
      const q = listing(column);
      if (dialect === 'sqlite') {
        const def = await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE name = ${index}`.execute(s.db);
        expect(def.rows[0]!.sql).toMatch(new RegExp(`where "?${column}"? is not null$`, 'i'));
        const plan = s.sqlite!.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...(q.parameters as unknown[]));
        expect(JSON.stringify(plan)).toContain(`USING INDEX ${index}`);
      } else {
        const def = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE indexname = ${index}`.execute(
          s.db,
        );
        expect(def.rows[0]!.indexdef).toContain(`WHERE (${column} IS NOT NULL)`);
        const plan = await s.db.transaction().execute(async (tx) => {
          await sql`SET LOCAL enable_seqscan = off`.execute(tx);
          return tx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${q.sql}`, [...q.parameters]));
        });
        expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain(index);
      }
    }
  });
});

test('driver errors that mean "database unavailable" are recognised (→ 503), others are not', () => {
  expect(isStoreUnavailable(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(true);
  expect(isStoreUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
  expect(isStoreUnavailable(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(true);
  expect(isStoreUnavailable(Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' }))).toBe(true);
  expect(isStoreUnavailable(Object.assign(new Error('dup'), { code: '23505' }))).toBe(false);
  expect(isStoreUnavailable(Object.assign(new Error('x'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }))).toBe(false);
});
