import { hash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import type { Store } from './database.js';
import type { Database } from './types.js';

/** Tables read by primary key on the proxy's cache-miss path. */
export type PointTable = 'grants' | 'managed_secrets' | 'api_keys';

/** A single-row read by `id`: the row, or undefined. */
export type PointLookup<T extends PointTable> = (id: string) => Promise<Database[T] | undefined>;

/**
 * A prepared read of one row by primary key, for the hot path's cache misses (a proxied call that
 * names a grant this replica has not cached reads the grant and its secret).
 *
 * Building and compiling a Kysely query costs tens of microseconds per call, and its SQLite driver
 * prepares the statement again every time. Here the SQL is fixed: on SQLite the statement is
 * prepared once and run synchronously, except while a Kysely transaction is open on the shared
 * connection (a read then would see that transaction's uncommitted writes), when it goes through
 * Kysely and waits for the transaction like any other query. On PostgreSQL it is a named prepared
 * statement sent straight through the pool under Kysely: each connection parses and plans it once
 * (extended protocol, PostgreSQL protocol §55.2.3) instead of on every call.
 *
 * @param store the open store (after migrations: the statement is prepared now).
 * @param table the table; its primary key column is `id`.
 * @param where extra conditions, fixed SQL without parameters (e.g. `deleted_at IS NULL`).
 * @throws Error from the driver when the statement cannot be prepared (a missing table); the
 *   lookup itself rejects with the driver's error (a lost connection, a statement timeout).
 */
export function pointLookup<T extends PointTable>(
  store: Pick<Store, 'db' | 'dialect' | 'sqlite' | 'pgPool'>,
  table: T,
  where?: string,
): PointLookup<T> {
  const extra = where ? ` AND ${where}` : '';
  const { db, pgPool, sqlite } = store;
  const param = store.dialect === 'postgres' ? '$1' : '?';
  const text = `SELECT * FROM ${table} WHERE id = ${param}${extra}`;
  const viaKysely = async (id: string) => (await db.executeQuery<Database[T]>(CompiledQuery.raw(text, [id]))).rows[0];
  if (pgPool) {
    // The server keeps a prepared statement per connection under its name, so one name per text.
    const name = `lk_point_${hash('sha256', text).slice(0, 16)}`;
    return async (id) => (await pgPool.query<Database[T]>({ name, text, values: [id] })).rows[0];
  }
  if (!sqlite) return viaKysely;
  const stmt: Statement<[string], Database[T]> = sqlite.prepare(text);
  return async (id) => (sqlite.inTransaction ? viaKysely(id) : stmt.get(id));
}
