import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A PostgreSQL database created for one test (dropped by `drop()`). */
export interface TestDatabase {
  url: string;
  /** Connections this database can take (1 for the embedded fallback). */
  maxConnections: number;
  drop(): Promise<void>;
}

const ADMIN_URL = process.env.LATCHKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let embedded: Promise<{ url: string; close: () => Promise<void> }> | undefined;

async function serverReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * A fresh PostgreSQL database: a new database on the local server (`LATCHKEY_TEST_PG_URL`, default
 * `postgres://postgres@127.0.0.1:5432/test`), or, on a machine without one, an embedded PostgreSQL
 * (PGlite) behind its socket server, so the same `pg` driver path is exercised.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (await serverReachable()) {
    const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    return {
      url: url.href,
      maxConnections: 20,
      async drop() {
        const a = new pg.Client({ connectionString: ADMIN_URL });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
      },
    };
  }
  embedded ??= (async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 20 });
    await server.start();
    return {
      url: `postgres://postgres@${server.getServerConn()}/postgres`,
      close: async () => {
        await server.stop();
        await db.close();
      },
    };
  })();
  const e = await embedded;
  return { url: e.url, maxConnections: 5, drop: async () => {} };
}
