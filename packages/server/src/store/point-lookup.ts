import { hash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import type { Store } from './database.js';
import type { Database, GrantsTable, ManagedSecretsTable } from './types.js';

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

/** A grant, and its live secret's row when the database returned it in the same round trip. */
export interface GrantRead {
  readonly grant: GrantsTable;
  /** Present only where the read joins it (PostgreSQL); absent for a deleted secret or none. */
  readonly secret: ManagedSecretsTable | undefined;
}

/** A read of a grant by id (see {@link grantLookup}). */
export type GrantLookup = (id: string) => Promise<GrantRead | undefined>;

/**
 * A prepared read of a grant by id for the proxy's cache-miss path. On PostgreSQL the grant's live
 * secret comes along in the same round trip (a LEFT JOIN carrying the secret as `row_to_json`, exact
 * for its text and integer columns), so a call naming an uncached grant costs one statement instead
 * of two; the caller may cache the secret too. On SQLite a read is a synchronous call into the same
 * file, as cheap alone as joined, so the secret is left to its own lookup.
 *
 * @param store the open store (after migrations).
 * @throws Error from the driver when the statement cannot be prepared; the lookup itself rejects
 *   with the driver's error.
 */
export function grantLookup(store: Pick<Store, 'db' | 'dialect' | 'sqlite' | 'pgPool'>): GrantLookup {
  const { pgPool } = store;
  if (!pgPool) {
    const byId = pointLookup(store, 'grants');
    return async (id) => {
      const grant = await byId(id);
      return grant ? { grant, secret: undefined } : undefined;
    };
  }
  const text =
    'SELECT g.*, row_to_json(s) AS lk_secret FROM grants g LEFT JOIN managed_secrets s ' +
    'ON s.id = g.managed_secret_id AND s.deleted_at IS NULL WHERE g.id = $1';
  const name = `lk_point_${hash('sha256', text).slice(0, 16)}`;
  return async (id) => {
    const row = (
      await pgPool.query<GrantsTable & { lk_secret: ManagedSecretsTable | null }>({ name, text, values: [id] })
    ).rows[0];
    if (!row) return undefined;
    const { lk_secret: secret, ...grant } = row;
    return { grant, secret: secret ?? undefined };
  };
}
