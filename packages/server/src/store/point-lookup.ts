import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
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
 * Kysely and waits for the transaction like any other query. On PostgreSQL the compiled SQL is sent
 * through Kysely's pool without the query builder.
 *
 * @param store the open store (after migrations: the statement is prepared now).
 * @param table the table; its primary key column is `id`.
 * @param where extra conditions, fixed SQL without parameters (e.g. `deleted_at IS NULL`).
 * @throws Error from the driver when the statement cannot be prepared (a missing table).
 */
export function pointLookup<T extends PointTable>(
  store: Pick<Store, 'db' | 'dialect' | 'sqlite'>,
  table: T,
  where?: string,
): PointLookup<T> {
  const extra = where ? ` AND ${where}` : '';
  const { db } = store;
  if (store.dialect === 'postgres' || !store.sqlite) {
    const sql = `SELECT * FROM ${table} WHERE id = ${store.dialect === 'postgres' ? '$1' : '?'}${extra}`;
    return async (id) => {
      const { rows } = await db.executeQuery<Database[T]>(CompiledQuery.raw(sql, [id]));
      return rows[0];
    };
  }
  const sqlite: SqliteDatabase = store.sqlite;
  const sql = `SELECT * FROM ${table} WHERE id = ?${extra}`;
  const stmt: Statement<[string], Database[T]> = sqlite.prepare(sql);
  return async (id) => {
    if (!sqlite.inTransaction) return stmt.get(id);
    const { rows } = await db.executeQuery<Database[T]>(CompiledQuery.raw(sql, [id]));
    return rows[0];
  };
}
