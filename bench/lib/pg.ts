/**
 * Throw-away PostgreSQL databases for the scale and audit benchmarks: one fresh database per use,
 * dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the bench creates its databases on (`--pg-url`). */
export const DEFAULT_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

async function withAdmin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates a fresh database on the server of `adminUrl`.
 *
 * @returns its URL (same credentials and host, database `lk_bench_<label>_<random>`).
 */
export async function createDatabase(adminUrl: string, label: string): Promise<string> {
  const name = `lk_bench_${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withAdmin(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.href;
}

/** Drops a database made by {@link createDatabase} (closing its remaining connections). */
export async function dropDatabase(adminUrl: string, dbUrl: string): Promise<void> {
  const name = new URL(dbUrl).pathname.slice(1);
  if (!/^lk_bench_[a-z0-9_]+$/.test(name)) throw new TypeError(`refusing to drop ${name}`);
  await withAdmin(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** `SELECT version()` of the server, or the connection error. */
export async function serverVersion(adminUrl: string): Promise<string> {
  try {
    return await withAdmin(adminUrl, async (c) => (await c.query<{ v: string }>('SELECT version() AS v')).rows[0]!.v);
  } catch (err) {
    return `unreachable (${(err as Error).message})`;
  }
}
