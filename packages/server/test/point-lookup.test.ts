import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { openStore, type Store } from '../src/store/database.js';
import { migrateToLatest } from '../src/store/migrate.js';
import { grantLookup, PG_BATCH_MAX_IDS, pointLookup, type LookupStore } from '../src/store/point-lookup.js';
import { READ_THREAD_STOPPED, ReadThread } from '../src/store/read-thread.js';
import pino from 'pino';
import { createTestDatabase } from './helpers/postgres.js';
import { runTsChild } from './helpers/ts-child.js';
import { appRow, grantRow, secretRow } from './helpers/rows.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Variant = 'sqlite' | 'sqlite read thread' | 'postgres';

/**
 * A migrated store with one app and two secrets, one of them deleted. One pg connection, so its
 * session is observable. `sqlite read thread`: the lookups read on a {@link ReadThread}.
 */
async function seeded(dialect: Variant): Promise<Store & LookupStore> {
  let url: string;
  if (dialect !== 'postgres') {
    url = `sqlite:${path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-point-')), 'x.db')}`;
  } else {
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    url = db.url;
  }
  const store = openStore(url, { poolSize: 1 });
  cleanups.push(() => store.close());
  await migrateToLatest(store.db);
  await store.db.insertInto('apps').values(appRow()).execute();
  await store.db
    .insertInto('managed_secrets')
    .values([secretRow({ id: 'ms_live', slug: 'a' }), secretRow({ id: 'ms_gone', slug: 'b', deleted_at: 'yesterday' })])
    .execute();
  await store.db
    .insertInto('grants')
    .values([
      grantRow({ id: 'g_live', managed_secret_id: 'ms_live' }),
      grantRow({ id: 'g_gone', managed_secret_id: 'ms_gone' }),
      grantRow({ id: 'g_none' }),
    ])
    .execute();
  if (dialect !== 'sqlite read thread') return store;
  const reader = await ReadThread.start(store.sqlite!.name, quietLog);
  cleanups.push(() => reader.close());
  return { ...store, reader };
}

const quietLog = pino({ level: 'silent' });

describe.each(['sqlite', 'sqlite read thread', 'postgres'] as const)('point lookups on %s', (dialect) => {
  test('read one row by id, apply the fixed condition, and miss cleanly', async () => {
    const store = await seeded(dialect);
    const all = pointLookup(store, 'managed_secrets');
    const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
    // Every column, as Kysely's selectAll reads it (the lookups name their columns instead of `*`).
    const direct = await store.db.selectFrom('managed_secrets').selectAll().where('id', '=', 'ms_live').execute();
    expect(await all('ms_live')).toEqual(direct[0]);
    expect(await all('ms_live')).toMatchObject({ id: 'ms_live', app_id: 'app_1', slug: 'a', version: 1 });
    expect(await all('ms_gone')).toMatchObject({ id: 'ms_gone', deleted_at: 'yesterday' });
    expect(await live('ms_live')).toMatchObject({ id: 'ms_live' });
    expect(await live('ms_gone')).toBeUndefined();
    expect(await live('ms_missing')).toBeUndefined();
    // Ids are bound, never spliced into the SQL.
    expect(await all("ms_live' OR '1'='1")).toBeUndefined();
    // Writes are seen by the next read (no statement-level caching of rows).
    await store.db.updateTable('managed_secrets').set({ deleted_at: 'today' }).where('id', '=', 'ms_live').execute();
    expect(await live('ms_live')).toBeUndefined();
  });

  test('a grant read carries its live secret row, exactly as read alone, where the database joins it', async () => {
    const store = await seeded(dialect);
    const read = grantLookup(store);
    const grants = pointLookup(store, 'grants');
    const secrets = pointLookup(store, 'managed_secrets');
    const live = await read('g_live');
    expect(live?.grant).toEqual(await grants('g_live'));
    // Against Kysely's own reads: the same values, types and key order as an ordinary row.
    const kyselyGrant = await store.db.selectFrom('grants').selectAll().where('id', '=', 'g_live').executeTakeFirst();
    const kyselySecret = await store.db
      .selectFrom('managed_secrets')
      .selectAll()
      .where('id', '=', 'ms_live')
      .executeTakeFirst();
    expect(live?.grant).toStrictEqual(kyselyGrant);
    expect(Object.keys(live!.grant)).toEqual(Object.keys(kyselyGrant!));
    expect(live?.secret).toStrictEqual(kyselySecret);
    // One statement; the secret's row (PostgreSQL: as JSON) equals the row read by itself, types too.
    expect(live?.secret).toEqual(await secrets('ms_live'));
    expect(live?.secret).toMatchObject({ id: 'ms_live', app_id: 'app_1', version: 1 });
    expect(await read('g_gone')).toEqual({ grant: await grants('g_gone'), secret: undefined });
    expect(await read('g_none')).toEqual({ grant: await grants('g_none'), secret: undefined });
    expect(await read('g_missing')).toBeUndefined();
    expect(await read("g_live' OR '1'='1")).toBeUndefined();
  });

  test('a grant read never carries a secret of another app, even one its row names', async () => {
    const store = await seeded(dialect);
    await store.db
      .insertInto('apps')
      .values(appRow({ id: 'app_2' }))
      .execute();
    await store.db
      .insertInto('managed_secrets')
      .values(secretRow({ id: 'ms_other', app_id: 'app_2', slug: 'o' }))
      .execute();
    await store.db
      .insertInto('grants')
      .values(grantRow({ id: 'g_cross', managed_secret_id: 'ms_other' }))
      .execute();
    const read = await grantLookup(store)('g_cross');
    expect(read?.grant.id).toBe('g_cross');
    expect(read?.secret).toBeUndefined();
  });

  test('a column added by a later migration does not break lookups already prepared (rolling upgrade)', async () => {
    const store = await seeded(dialect);
    const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
    const grants = grantLookup(store);
    expect(await live('ms_live')).toMatchObject({ id: 'ms_live' });
    expect((await grants('g_live'))?.grant.id).toBe('g_live');
    await sql`ALTER TABLE managed_secrets ADD COLUMN later_column text`.execute(store.db);
    await sql`ALTER TABLE grants ADD COLUMN later_column text`.execute(store.db);
    expect(await live('ms_live')).toMatchObject({ id: 'ms_live' });
    expect(await live('ms_live')).not.toHaveProperty('later_column');
    expect((await grants('g_live'))?.grant).not.toHaveProperty('later_column');
  });

  if (dialect === 'postgres') {
    test('PostgreSQL parses each statement once per connection (named prepared statements)', async () => {
      const store = await seeded(dialect);
      const all = pointLookup(store, 'managed_secrets');
      const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
      for (let i = 0; i < 3; i++) {
        await all('ms_live');
        await live('ms_live');
      }
      // The pool has one connection: this query runs in the session that prepared them.
      const { rows } = await sql<{
        name: string;
        statement: string;
      }>`SELECT name, statement FROM pg_prepared_statements ORDER BY statement`.execute(store.db);
      expect(rows.map((r) => r.statement.replace(/^SELECT id, app_id, .* FROM/, 'SELECT … FROM'))).toEqual([
        'SELECT … FROM managed_secrets WHERE id = ANY($1::text[])',
        'SELECT … FROM managed_secrets WHERE id = ANY($1::text[]) AND deleted_at IS NULL',
      ]);
      expect(rows.every((r) => /^lk_point_[0-9a-f]{16}$/.test(r.name))).toBe(true);
    });

    test('PostgreSQL reads asked for in one turn share one statement, and each gets its own row', async () => {
      const store = await seeded(dialect);
      const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
      const grants = grantLookup(store);
      const alone = {
        live: await live('ms_live'),
        gLive: await grants('g_live'),
        gGone: await grants('g_gone'),
        gNone: await grants('g_none'),
      };
      expect(alone.gLive?.secret).toMatchObject({ id: 'ms_live' });
      const query = vi.spyOn(store.pgPool!, 'query');
      try {
        const together = await Promise.all([
          live('ms_live'),
          live('ms_gone'),
          live('ms_live'),
          live('ms_missing'),
          grants('g_none'),
          grants('g_live'),
          grants('g_gone'),
          grants('g_missing'),
          grants('g_live'),
        ]);
        expect(together).toEqual([
          alone.live,
          undefined,
          alone.live,
          undefined,
          alone.gNone,
          alone.gLive,
          alone.gGone,
          undefined,
          alone.gLive,
        ]);
        // One statement per lookup kind, the repeated ids read once.
        expect(query).toHaveBeenCalledTimes(2);
        const ids = query.mock.calls.map((c) => (c[0] as unknown as { values: string[][] }).values[0]);
        expect(ids).toEqual([
          ['ms_live', 'ms_gone', 'ms_missing'],
          ['g_none', 'g_live', 'g_gone', 'g_missing'],
        ]);
        // More ids in one turn than a statement carries: split, every read answered.
        query.mockClear();
        const many = Array.from({ length: PG_BATCH_MAX_IDS + 3 }, (_, i) =>
          i === PG_BATCH_MAX_IDS + 1 ? 'ms_live' : `ms_x${i}`,
        );
        const rows = await Promise.all(many.map((id) => live(id)));
        expect(query).toHaveBeenCalledTimes(2);
        expect(rows.filter(Boolean)).toEqual([alone.live]);
        expect(rows[PG_BATCH_MAX_IDS + 1]).toEqual(alone.live);
      } finally {
        query.mockRestore();
      }
    });

    test('a PostgreSQL statement that fails rejects the reads it carried, and only those', async () => {
      const store = await seeded(dialect);
      const broken = pointLookup(store, 'managed_secrets', 'no_such_column IS NULL');
      const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
      const [a, b, c] = await Promise.allSettled([broken('ms_live'), live('ms_live'), broken('ms_gone')]);
      expect(a).toMatchObject({ status: 'rejected', reason: { code: '42703' } });
      expect(c).toMatchObject({ status: 'rejected', reason: { code: '42703' } });
      expect(b).toMatchObject({ status: 'fulfilled', value: { id: 'ms_live' } });
      // The next turn's reads go out again.
      expect(await live('ms_live')).toMatchObject({ id: 'ms_live' });

      // Of one lookup's reads split over two statements, only the failing statement's reads fail;
      // a driver that throws instead of rejecting fails its reads too, and nothing is left waiting.
      const pool = store.pgPool!;
      const real = pool.query.bind(pool) as (q: unknown) => Promise<unknown>;
      for (const failure of ['rejects', 'throws'] as const) {
        let calls = 0;
        const query = vi.spyOn(pool, 'query').mockImplementation(((q: unknown) => {
          calls += 1;
          if (calls === 1) return real(q);
          const err = Object.assign(new Error('connection lost'), { code: '57P01' });
          if (failure === 'throws') throw err;
          return Promise.reject(err);
        }) as never);
        try {
          const ids = Array.from({ length: PG_BATCH_MAX_IDS + 2 }, (_, i) => (i === 0 ? 'ms_live' : `ms_x${i}`));
          const settled = await Promise.allSettled(ids.map((id) => live(id)));
          expect(calls).toBe(2);
          expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { id: 'ms_live' } });
          expect(
            settled.slice(1, PG_BATCH_MAX_IDS).every((r) => r.status === 'fulfilled' && r.value === undefined),
          ).toBe(true);
          expect(settled.slice(PG_BATCH_MAX_IDS)).toEqual([
            { status: 'rejected', reason: expect.objectContaining({ code: '57P01' }) },
            { status: 'rejected', reason: expect.objectContaining({ code: '57P01' }) },
          ]);
        } finally {
          query.mockRestore();
        }
      }
    });
  } else if (dialect === 'sqlite') {
    // Without a read thread. With one, reads do not wait for the transaction at all: see
    // 'lookups read on the thread: they answer while a transaction holds the main connection'.
    /**
     * Starts `read` while a transaction holds uncommitted writes (the live secret deleted, the live
     * grant revoked), then rolls the transaction back; resolves with what the read returned.
     */
    async function readDuringRolledBackWrite<T>(store: LookupStore, read: () => Promise<T>): Promise<T> {
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const tx = store.db.transaction().execute(async (t) => {
        await t.updateTable('managed_secrets').set({ deleted_at: 'now' }).where('id', '=', 'ms_live').execute();
        await t.updateTable('grants').set({ revoked_at: 'now' }).where('id', '=', 'g_live').execute();
        await gate;
        throw new Error('roll back');
      });
      await new Promise((r) => setTimeout(r, 10));
      const pending = read();
      release();
      await expect(tx).rejects.toThrow('roll back');
      return pending;
    }

    test('SQLite reads during an open transaction never see its uncommitted writes', async () => {
      const store = await seeded(dialect);
      const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
      expect(await readDuringRolledBackWrite(store, () => live('ms_live'))).toMatchObject({
        id: 'ms_live',
        deleted_at: null,
      });
    });

    test('SQLite grant reads during an open transaction never see its uncommitted writes either (the joined secret included)', async () => {
      const store = await seeded(dialect);
      const read = grantLookup(store);
      const got = await readDuringRolledBackWrite(store, () => read('g_live'));
      expect(got?.grant).toMatchObject({ id: 'g_live', revoked_at: null });
      expect(got?.secret).toMatchObject({ id: 'ms_live', deleted_at: null });
    });
  }
});

describe('the read thread', () => {
  test('a slow read runs off the event loop: a timer set after it fires before it answers', async () => {
    const store = await seeded('sqlite');
    const reader = await ReadThread.start(store.sqlite!.name, quietLog);
    cleanups.push(() => reader.close());
    // A statement that computes for a while (a recursive count), with its one parameter echoed.
    const slow = reader.statement(
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT count(*), ? FROM c',
    );
    const order: string[] = [];
    const read = reader.get(slow, 'echo').then((values) => {
      order.push('read');
      return values;
    });
    // Run on the event loop, the read would hold it until it answered, and answer first.
    setTimeout(() => order.push('timer'), 1);
    expect(await read).toEqual([1000000, 'echo']);
    expect(order).toEqual(['timer', 'read']);
  });

  test('start() fails, so the server reads inline, for a missing file or a database not in WAL mode', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-read-start-'));
    await expect(ReadThread.start(path.join(dir, 'missing.db'), quietLog)).rejects.toThrow();
    const rollbackJournal = path.join(dir, 'delete-mode.db');
    const db = new SQLite(rollbackJournal);
    db.exec('CREATE TABLE t (id text)');
    db.close();
    await expect(ReadThread.start(rollbackJournal, quietLog)).rejects.toMatchObject({ code: 'NOT_WAL' });
  });

  test('reads asked for together each get their own row, and a bad statement fails only its reads', async () => {
    const store = await seeded('sqlite read thread');
    const reader = store.reader!;
    const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
    const grants = grantLookup(store);
    const bad = reader.statement('SELECT no_such_column FROM grants WHERE id = ?');
    const [a, b, c, d, e] = await Promise.allSettled([
      live('ms_live'),
      grants('g_gone'),
      reader.get(bad, 'g_live'),
      live('ms_gone'),
      grants('g_live'),
    ]);
    expect(a).toMatchObject({ status: 'fulfilled', value: { id: 'ms_live' } });
    expect(b).toMatchObject({ status: 'fulfilled', value: { grant: { id: 'g_gone' }, secret: undefined } });
    expect(c).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_ERROR' } });
    expect((c as PromiseRejectedResult).reason.message).toContain('no_such_column');
    expect(d).toMatchObject({ status: 'fulfilled', value: undefined });
    expect(e).toMatchObject({ status: 'fulfilled', value: { grant: { id: 'g_live' }, secret: { id: 'ms_live' } } });
    // The thread keeps serving after a failed read.
    expect(await live('ms_live')).toMatchObject({ id: 'ms_live' });
  });

  test('the thread reads only committed rows: a row committed on the main connection is seen at once', async () => {
    const store = await seeded('sqlite read thread');
    const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
    expect(await live('ms_new')).toBeUndefined();
    await store.db
      .insertInto('managed_secrets')
      .values(secretRow({ id: 'ms_new', slug: 'n' }))
      .execute();
    expect(await live('ms_new')).toMatchObject({ id: 'ms_new' });
  });

  test('lookups read on the thread: they answer while a transaction holds the main connection', async () => {
    const store = await seeded('sqlite read thread');
    const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
    const grants = grantLookup(store);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = store.db.transaction().execute(async (t) => {
      await t.updateTable('managed_secrets').set({ deleted_at: 'now' }).where('id', '=', 'ms_live').execute();
      await gate;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(store.sqlite!.inTransaction).toBe(true);
    // On the main connection these reads would wait for the transaction (see above); the thread
    // answers with the committed state while it is still open.
    const read = Promise.all([live('ms_live'), grants('g_live')]);
    const outcome = await Promise.race([read, new Promise((r) => setTimeout(() => r('waited'), 2000))]);
    expect(store.sqlite!.inTransaction).toBe(true);
    release();
    await tx;
    expect(outcome).toMatchObject([{ id: 'ms_live', deleted_at: null }, { secret: { id: 'ms_live' } }]);
    // Committed now: the thread sees it.
    expect(await live('ms_live')).toBeUndefined();
  });

  test('close() answers the reads already sent; later reads, and reads not yet sent, go to the main connection', async () => {
    const store = await seeded('sqlite read thread');
    const reader = store.reader!;
    const live = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
    const grants = grantLookup(store);
    const stmt = reader.statement(
      'SELECT id, ? FROM managed_secrets WHERE id = (SELECT max(x) FROM (SELECT 1 AS x)) OR 1 LIMIT 1',
    );
    // Sent: the thread answers it before it handles the close that follows.
    const sent = reader.get(stmt, 'sent');
    await new Promise((r) => setImmediate(r));
    // Not yet sent when close() is called.
    const queued = live('ms_live');
    const closed = reader.close();
    expect(reader.close()).toBe(closed);
    await expect(reader.get(stmt, 'late')).rejects.toMatchObject({ code: READ_THREAD_STOPPED });
    expect(await sent).toEqual([expect.any(String), 'sent']);
    expect(await queued).toMatchObject({ id: 'ms_live' });
    await closed;
    expect(reader.alive).toBe(false);
    expect(await live('ms_gone')).toBeUndefined();
    expect(await grants('g_live')).toMatchObject({ grant: { id: 'g_live' }, secret: { id: 'ms_live' } });
  });

  test('an idle thread lets the process exit, and a process closing it waits for the thread to exit', async () => {
    const store = await seeded('sqlite');
    const file = store.sqlite!.name;
    await store.close();
    // In a child process: start, read, then either do nothing more (it must exit by itself) or
    // close while a read is in flight (it must not exit before close() resolves).
    const script = (closeInFlight: boolean) => `
      import { ReadThread } from ${JSON.stringify(path.join(import.meta.dirname, '../src/store/read-thread.ts'))};
      const reader = await ReadThread.start(${JSON.stringify(file)}, { error() {} });
      const stmt = reader.statement('SELECT id FROM managed_secrets WHERE id = ?');
      console.log('read', JSON.stringify(await reader.get(stmt, 'ms_live')));
      if (${closeInFlight}) {
        const inFlight = reader.get(stmt, 'ms_gone');
        await new Promise((r) => setImmediate(r));
        const closed = reader.close();
        console.log('in flight', JSON.stringify(await inFlight));
        await closed;
        console.log('closed');
      }
    `;
    for (const closeInFlight of [false, true]) {
      const stdout = await runTsChild(script(closeInFlight));
      expect(stdout).toContain('read ["ms_live"]');
      if (closeInFlight) expect(stdout).toContain('in flight ["ms_gone"]\nclosed');
    }
  });
});
