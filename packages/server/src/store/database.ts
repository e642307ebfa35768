import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely';
import pg from 'pg';
import type { Database, Db, Executor } from './types.js';

/** Which SQL dialect a database speaks. */
export type Dialect = 'sqlite' | 'postgres';

/** An open database and what it is. */
export interface Store {
  readonly db: Db;
  readonly dialect: Dialect;
  /** The raw better-sqlite3 handle (SQLite only), for the audit writer's prepared-statement path. */
  readonly sqlite?: SQLite.Database;
  /** The pg pool under Kysely (PostgreSQL only), for the hot path's named prepared statements. */
  readonly pgPool?: pg.Pool;
  /** Closes the pool / file. */
  close(): Promise<void>;
}

/**
 * Opens the database named by `url`: `sqlite:<path>` (better-sqlite3, WAL, busy timeout 5 s,
 * `synchronous=NORMAL`, foreign keys on, WAL cut back to 16 MiB on restart) or `postgres://…` (pg pool of `poolSize` connections,
 * connect and statement timeouts in milliseconds).
 *
 * @param url database URL from config.
 * @throws Error if the SQLite directory cannot be created.
 */
export function openStore(
  url: string,
  pgOptions: { poolSize?: number; connectTimeoutMs?: number; statementTimeoutMs?: number } = {},
): Store {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    // A restarted WAL is cut back to 16 MiB rather than keeping the size of its largest burst.
    sqlite.pragma(`journal_size_limit = ${16 * 1024 * 1024}`);
    if (file !== ':memory:') {
      try {
        fs.chmodSync(file, 0o600);
      } catch {
        /* best effort */
      }
    }
    const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: sqlite }) });
    return { db, dialect: 'sqlite', sqlite, close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: pgOptions.poolSize ?? 10,
    connectionTimeoutMillis: pgOptions.connectTimeoutMs ?? 5_000,
    statement_timeout: pgOptions.statementTimeoutMs ?? 15_000,
    idleTimeoutMillis: 30_000,
  });
  // A connection dropped by the server (restart, failover) must not crash the process; the pool
  // replaces it and the request that used it gets `503 service_unavailable`.
  pool.on('error', () => {});
  // A client that is checked out when its connection dies emits 'error' with no pool listener
  // attached; the query in flight still receives the error, so a listener here only prevents a crash.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', pgPool: pool, close: () => db.destroy() };
}

/**
 * Kysely's SQLite driver with `BEGIN IMMEDIATE` transactions. The audit threads write through their
 * own connections, so this connection is not the only writer: a deferred transaction that reads
 * before it writes (a revocation that checks the row first) would fail with `SQLITE_BUSY` at its
 * first write while another connection commits, since SQLite does not wait on a lock upgrade. An
 * immediate transaction takes the write lock at BEGIN, waiting up to the busy timeout.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/** {@link SqliteDialect} whose transactions begin immediate (see {@link ImmediateSqliteDriver}). */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

/** The dialect an executor speaks (used by migrations for the few type differences). */
export function dialectOf(db: Executor): Dialect {
  return db.getExecutor().adapter instanceof SqliteAdapter ? 'sqlite' : 'postgres';
}
