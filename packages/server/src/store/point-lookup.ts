import { hash } from 'node:crypto';
import { CompiledQuery } from 'kysely';
import type pg from 'pg';
import type { Store } from './database.js';
import { READ_THREAD_STOPPED, type ReadThread } from './read-thread.js';
import type { ApiKeysTable, Database, GrantsTable, ManagedSecretsTable } from './types.js';

/** Tables read by primary key on the proxy's cache-miss path. */
export type PointTable = 'grants' | 'managed_secrets' | 'api_keys';

/**
 * `cols`, checked at compile time to name every column of row type `T`: a column added to
 * `types.ts` without being listed here makes the second argument required (and names it).
 */
function allColumns<T>() {
  return <const C extends readonly (keyof T & string)[]>(
    cols: C,
    ..._missing: [Exclude<keyof T, C[number]>] extends [never] ? [] : [missing: Exclude<keyof T, C[number]>]
  ): readonly string[] => cols;
}

/**
 * The columns the point lookups select, by name. Never `*`: PostgreSQL refuses to run a prepared
 * statement again once its result columns change (`cached plan must not change result type`), so
 * after a migration adds a column, replicas still running the previous version would fail every
 * cache miss until restarted. With a fixed list they keep reading the columns they know.
 */
const COLUMNS: Record<PointTable, readonly string[]> = {
  grants: allColumns<GrantsTable>()([
    'id',
    'app_id',
    'kind',
    'managed_secret_id',
    'provider_id',
    'principal_type',
    'principal_label',
    'agent_id',
    'label',
    'policy_expires_at',
    'max_ttl_seconds',
    'default_ttl_seconds',
    'created_at',
    'expires_at',
    'revoked_at',
    'revoked_reason',
    'app_user_id',
    'external_group_id',
    'idp_id',
  ]),
  managed_secrets: allColumns<ManagedSecretsTable>()([
    'id',
    'app_id',
    'slug',
    'name',
    'description',
    'type',
    'template_id',
    'injection',
    'allowed_hosts',
    'base_url',
    'value_sealed',
    'dek_wrapped',
    'fingerprint',
    'last4',
    'version',
    'created_at',
    'updated_at',
    'rotated_at',
    'deleted_at',
  ]),
  api_keys: allColumns<ApiKeysTable>()([
    'id',
    'app_id',
    'kind',
    'agent_id',
    'name',
    'key_prefix',
    'key_hash',
    'signing_key_sealed',
    'scopes',
    'cidrs',
    'signed_only',
    'status',
    'created_at',
    'expires_at',
    'revoked_at',
    'rate_limit_rpm',
  ]),
};

/** What the lookups read through: the open store and, for a SQLite file, its read thread. */
export type LookupStore = Pick<Store, 'db' | 'dialect' | 'sqlite' | 'pgPool'> & {
  readonly reader?: ReadThread | undefined;
};

/**
 * `inline` run on the read thread when there is one: `sql` there (its values through `toRow`), and
 * `inline` once the thread has stopped, including for a read it had not answered (code
 * {@link READ_THREAD_STOPPED}); a driver error from the thread is passed on, not retried.
 */
function viaReader<R>(
  reader: ReadThread | undefined,
  sql: string,
  toRow: (values: readonly unknown[]) => R,
  inline: (id: string) => Promise<R | undefined>,
): (id: string) => Promise<R | undefined> {
  if (!reader) return inline;
  const stmt = reader.statement(sql);
  return (id) => {
    if (!reader.alive) return inline(id);
    return reader.get(stmt, id).then(
      (values) => (values ? toRow(values) : undefined),
      (err: unknown) => ((err as { code?: string }).code === READ_THREAD_STOPPED ? inline(id) : Promise.reject(err)),
    );
  };
}

/** A single-row read by `id`: the row, or undefined. */
export type PointLookup<T extends PointTable> = (id: string) => Promise<Database[T] | undefined>;

/** The name of a PostgreSQL prepared statement: the server keeps one per connection and name, so one name per text. */
function statementName(text: string): string {
  return `lk_point_${hash('sha256', text).slice(0, 16)}`;
}

/** Most ids one batched PostgreSQL read carries; more asked for in one turn are split over several. */
export const PG_BATCH_MAX_IDS = 64;

/**
 * PostgreSQL reads by id, batched: the ids asked for in one turn of the event loop are read with one
 * named prepared statement, `text` ending in `= ANY($1::text[])`, per {@link PG_BATCH_MAX_IDS} ids.
 * Under cache misses (every call naming a grant not cached) each read used to cost a statement of its
 * own: a pool checkout, a protocol round trip, and on the server a snapshot and an executor start-up.
 * A batch pays those once. Reads of the same id in one turn share the row (callers must not change
 * it). A statement that fails (a lost connection, a statement timeout) rejects every read it carried,
 * up to {@link PG_BATCH_MAX_IDS} calls, with the driver's error; the other statements are unaffected.
 * The hot path validates ids before they get here (grant ids are UUIDs, API key and signature key
 * ids printable ASCII), so one caller's id cannot make a statement fail for the others.
 *
 * @param pool the store's pool.
 * @param text the statement; its result has an `id` column (the key each read waits for).
 */
function pgBatched<R extends { id: string }>(pool: pg.Pool, text: string): (id: string) => Promise<R | undefined> {
  const name = statementName(text);
  type Waiter = { resolve: (row: R | undefined) => void; reject: (err: unknown) => void };
  let waiting = new Map<string, Waiter[]>();
  let scheduled = false;
  const send = (ids: string[], waiters: Map<string, Waiter[]>) => {
    // Started inside a promise, so a synchronous throw from the driver rejects these reads too.
    Promise.resolve()
      .then(() => pool.query<R>({ name, text, values: [ids] }))
      .then(({ rows }) => {
        const byId = new Map<string, R>();
        for (const row of rows) byId.set(row.id, row);
        for (const id of ids) for (const w of waiters.get(id)!) w.resolve(byId.get(id));
      })
      // Also reached if answering threw: a read already answered ignores the rejection.
      .catch((err: unknown) => {
        for (const id of ids) for (const w of waiters.get(id)!) w.reject(err);
      });
  };
  const flush = () => {
    scheduled = false;
    const waiters = waiting;
    waiting = new Map();
    const ids = [...waiters.keys()];
    for (let i = 0; i < ids.length; i += PG_BATCH_MAX_IDS) send(ids.slice(i, i + PG_BATCH_MAX_IDS), waiters);
  };
  return (id) =>
    new Promise<R | undefined>((resolve, reject) => {
      const list = waiting.get(id);
      if (list) list.push({ resolve, reject });
      else waiting.set(id, [{ resolve, reject }]);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

/**
 * A row object from the values of a raw (array-mode) SQLite row, `names[i]` ← `values[from + i]`.
 * better-sqlite3 builds an object per row by creating (interning) every column name again; raw
 * mode returns the values alone, and these names are interned once (about 2 µs less per 19-column row).
 */
function rowFrom<R>(names: readonly string[], values: readonly unknown[], from = 0): R {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) row[names[i]!] = values[from + i];
  return row as R;
}

/**
 * A prepared read of one row by primary key, for the hot path's cache misses (a proxied call that
 * names a grant this replica has not cached reads the grant and its secret).
 *
 * Building and compiling a Kysely query costs tens of microseconds per call, and its SQLite driver
 * prepares the statement again every time. Here the SQL is fixed. On a SQLite file with a read
 * thread (`store.reader`) the read runs there, so a read that waits for the disk does not block the
 * event loop. Otherwise the statement is prepared once and run synchronously, except while a Kysely
 * transaction is open on the shared connection (a read then would see that transaction's
 * uncommitted writes), when it goes through Kysely and waits for the transaction like any other
 * query. On PostgreSQL the reads of one event-loop turn are batched into a named prepared statement
 * (see {@link pgBatched}) sent straight through the pool under Kysely: each connection parses and
 * plans it once, at its first use there (extended protocol, PostgreSQL protocol §55.2.3), instead of
 * on every call. Named statements need session pooling: behind a transaction-mode pooler (pgbouncer)
 * they fail.
 *
 * @param store the open store (after migrations; on SQLite the statement is prepared now).
 * @param table the table; its primary key column is `id`; the columns of {@link COLUMNS} are read.
 * @param where extra conditions, fixed SQL without parameters (e.g. `deleted_at IS NULL`).
 * @throws Error from the SQLite driver when the statement cannot be prepared (a missing table); the
 *   lookup itself rejects with the driver's error (a lost connection, a statement timeout, and on
 *   PostgreSQL a missing table at first use; on the read thread, also a failed prepare there).
 */
export function pointLookup<T extends PointTable>(store: LookupStore, table: T, where?: string): PointLookup<T> {
  const extra = where ? ` AND ${where}` : '';
  const { db, pgPool, sqlite } = store;
  const names = COLUMNS[table];
  if (pgPool) {
    return pgBatched<Database[T]>(
      pgPool,
      `SELECT ${names.join(', ')} FROM ${table} WHERE id = ANY($1::text[])${extra}`,
    );
  }
  const param = store.dialect === 'postgres' ? '$1' : '?';
  const text = `SELECT ${names.join(', ')} FROM ${table} WHERE id = ${param}${extra}`;
  const viaKysely = async (id: string) => (await db.executeQuery<Database[T]>(CompiledQuery.raw(text, [id]))).rows[0];
  if (!sqlite) return viaKysely;
  const stmt = sqlite.prepare<[string], unknown[]>(text).raw(true);
  const inline = async (id: string) => {
    if (sqlite.inTransaction) return viaKysely(id);
    const values = stmt.get(id);
    return values ? rowFrom<Database[T]>(names, values) : undefined;
  };
  return viaReader(store.reader, text, (values) => rowFrom<Database[T]>(names, values), inline);
}

/** A grant, and its live secret's row when the database returned it in the same read. */
export interface GrantRead {
  readonly grant: GrantsTable;
  /** The grant's secret, unless it is deleted, belongs to another app, or the grant has none. */
  readonly secret: ManagedSecretsTable | undefined;
}

/** A read of a grant by id (see {@link grantLookup}). */
export type GrantLookup = (id: string) => Promise<GrantRead | undefined>;

/** The join of a grant to its live secret (same app, not deleted): `g` and `s`. */
const GRANT_SECRET_JOIN =
  'FROM grants g LEFT JOIN managed_secrets s ON s.id = g.managed_secret_id AND s.app_id = g.app_id ' +
  'AND s.deleted_at IS NULL WHERE g.id = ';

/**
 * A prepared read of a grant by id, with its live secret in the same statement, for the proxy's
 * cache-miss path: a call naming an uncached grant costs one statement instead of two, and the
 * caller may cache the secret too.
 *
 * - PostgreSQL: one round trip, shared by the grant reads of one event-loop turn ({@link pgBatched});
 *   the secret comes as `row_to_json(s)` (exact for its text and integer columns), which keeps the
 *   result's columns fixed whatever columns the table gains.
 * - SQLite: one statement, so one read transaction (two `fcntl` lock calls and a WAL-index check)
 *   instead of two; the secret's columns come after the grant's in a raw row. Over 1,000,000 stored
 *   grants, offline: 23.3 µs joined against 24.9 µs for the two reads (issue 4, scale bench). It runs
 *   on the read thread when the store has one; without one, inside an open Kysely transaction it
 *   reads the two rows separately, waiting for it as {@link pointLookup} does.
 *
 * @param store the open store (after migrations).
 * @throws Error from the SQLite driver when the statement cannot be prepared; the lookup itself
 *   rejects with the driver's error.
 */
export function grantLookup(store: LookupStore): GrantLookup {
  const { pgPool, sqlite } = store;
  const grantColumns = COLUMNS.grants.map((c) => `g.${c}`).join(', ');
  if (!pgPool) {
    const secretNames = COLUMNS.managed_secrets;
    const text = `SELECT ${grantColumns}, ${secretNames.map((c) => `s.${c}`).join(', ')} ${GRANT_SECRET_JOIN}?`;
    // `s.id` is NULL when the join found no live secret of the grant's app.
    const secretIdAt = COLUMNS.grants.length + secretNames.indexOf('id');
    const split = (values: readonly unknown[]): GrantRead => {
      const grant = rowFrom<GrantsTable>(COLUMNS.grants, values);
      const secret =
        values[secretIdAt] === null
          ? undefined
          : rowFrom<ManagedSecretsTable>(secretNames, values, COLUMNS.grants.length);
      return { grant, secret };
    };
    const byId = pointLookup(store, 'grants');
    const secretById = pointLookup(store, 'managed_secrets', 'deleted_at IS NULL');
    // Inside an open transaction (or without the raw connection): two reads that wait for it.
    const separately = async (id: string): Promise<GrantRead | undefined> => {
      const grant = await byId(id);
      if (!grant) return undefined;
      const secret = grant.managed_secret_id ? await secretById(grant.managed_secret_id) : undefined;
      return { grant, secret: secret?.app_id === grant.app_id ? secret : undefined };
    };
    if (!sqlite) return separately;
    const stmt = sqlite.prepare<[string], unknown[]>(text).raw(true);
    const inline = async (id: string) => {
      if (sqlite.inTransaction) return separately(id);
      const values = stmt.get(id);
      return values ? split(values) : undefined;
    };
    return viaReader(store.reader, text, split, inline);
  }
  const read = pgBatched<GrantsTable & { lk_secret: ManagedSecretsTable | null }>(
    pgPool,
    `SELECT ${grantColumns}, row_to_json(s) AS lk_secret ${GRANT_SECRET_JOIN}ANY($1::text[])`,
  );
  return async (id) => {
    const row = await read(id);
    if (!row) return undefined;
    const { lk_secret: secret, ...grant } = row;
    return { grant, secret: secret ?? undefined };
  };
}
