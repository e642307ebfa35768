/**
 * Direct database seeding for the scale benchmark: `count` managed secrets, each sealed under its
 * own DEK with its own row-bound AAD through the server's keyring (so every one opens like a real
 * secret), and one grant per secret. Rows are copies of a secret and a grant created through the
 * HTTP API (same injection, hosts, principal), with deterministic ids so the load generator can pick
 * a random grant among all of them without holding a list.
 */
import { sql } from 'kysely';
import { loadOrCreateMasterKey } from '../../packages/server/src/crypto/master-key.js';
import { createKeyringService } from '../../packages/server/src/modules/keyring/keyring.service.js';
import { canonicalValue } from '../../packages/server/src/modules/secrets/secrets.fns.js';
import { openStore, type Store } from '../../packages/server/src/store/database.js';
import type { Executor, GrantsTable, ManagedSecretsTable } from '../../packages/server/src/store/types.js';

/** Seeded grant ids are UUID-shaped: this prefix + the index as 12 hex digits. */
export const SEEDED_GRANT_PREFIX = 'b0000000-0000-4000-8000-';

/** The id of seeded grant `i`. */
export function seededGrantId(i: number): string {
  return SEEDED_GRANT_PREFIX + i.toString(16).padStart(12, '0');
}

/** The id of seeded managed secret `i` (`ms_` + 24 hex, like the server's). */
export function seededSecretId(i: number): string {
  return `ms_b${i.toString(16).padStart(23, '0')}`;
}

/** Options of {@link seed}. */
export interface SeedOptions {
  /** `sqlite:<path>` or `postgres://…`. */
  readonly databaseUrl: string;
  /** Data dir holding `master.key`. */
  readonly dataDir: string;
  readonly appId: string;
  /** The secret and grant created through the API, used as templates. */
  readonly templateSecretId: string;
  readonly templateGrantId: string;
  /** Plaintext credential of every seeded secret. */
  readonly value: string;
  readonly count: number;
  /** Rows sealed, then inserted in one transaction, per chunk. */
  readonly chunk?: number;
  readonly log?: (msg: string) => void;
}

const SQLITE_ROWS_PER_INSERT = 500;

/** Inserts rows: multi-row INSERTs on SQLite, one `INSERT … SELECT unnest(…)` per chunk on PostgreSQL. */
async function insertRows<T extends object>(
  ex: Executor,
  dialect: Store['dialect'],
  table: 'managed_secrets' | 'grants',
  rows: T[],
): Promise<void> {
  if (rows.length === 0) return;
  if (dialect === 'sqlite') {
    for (let i = 0; i < rows.length; i += SQLITE_ROWS_PER_INSERT) {
      await ex
        .insertInto(table)
        .values(rows.slice(i, i + SQLITE_ROWS_PER_INSERT) as never)
        .execute();
    }
    return;
  }
  // Column types from the catalog, so columns added by later migrations are cast right too.
  const { rows: typeRows } = await sql<{ column_name: string; udt_name: string }>`
    SELECT column_name, udt_name FROM information_schema.columns WHERE table_name = ${table}`.execute(ex);
  const pgTypes = Object.fromEntries(typeRows.map((r) => [r.column_name, r.udt_name]));
  const cols = Object.keys(rows[0]!);
  const arrays = cols.map((c) => rows.map((r) => (r as Record<string, unknown>)[c] ?? null));
  const params = cols.map((c, i) => sql`${arrays[i]}::${sql.raw(pgTypes[c] ?? 'text')}[]`);
  await sql`INSERT INTO ${sql.table(table)} (${sql.join(cols.map((c) => sql.ref(c)))}) SELECT * FROM unnest(${sql.join(params)})`.execute(
    ex,
  );
}

/**
 * Seeds `count` secrets and grants (ids `seededSecretId(i)`, `seededGrantId(i)` for i < count).
 * Sealing happens outside the transactions (one per chunk), as the store rules ask.
 *
 * @returns seconds spent.
 */
export async function seed(opts: SeedOptions): Promise<number> {
  const t0 = Date.now();
  const store = openStore(opts.databaseUrl);
  try {
    const { db } = store;
    const rootKey = loadOrCreateMasterKey({ dataDir: opts.dataDir }).key;
    const keyring = createKeyringService({ db, rootKey });
    const secretTpl = await db
      .selectFrom('managed_secrets')
      .selectAll()
      .where('id', '=', opts.templateSecretId)
      .executeTakeFirstOrThrow();
    const grantTpl = await db
      .selectFrom('grants')
      .selectAll()
      .where('id', '=', opts.templateGrantId)
      .executeTakeFirstOrThrow();
    const injection = JSON.parse(secretTpl.injection) as Parameters<typeof canonicalValue>[2];
    const plaintext = Buffer.from(canonicalValue(secretTpl.type as 'bearer', opts.value, injection), 'utf8');
    const fingerprint = await keyring.fingerprint(opts.appId, plaintext);
    const chunk = opts.chunk ?? 50_000;
    const ts = new Date().toISOString();
    for (let start = 0; start < opts.count; start += chunk) {
      const end = Math.min(opts.count, start + chunk);
      const secrets: ManagedSecretsTable[] = [];
      const grants: GrantsTable[] = [];
      for (let i = start; i < end; i++) {
        const id = seededSecretId(i);
        const target = { appId: opts.appId, table: 'managed_secrets', recordId: id, field: 'value' };
        const { sealed, dekWrapped } = await keyring.sealEnvelope(target, plaintext);
        secrets.push({
          ...secretTpl,
          id,
          slug: `bench-${i}`,
          value_sealed: sealed,
          dek_wrapped: dekWrapped,
          fingerprint,
          created_at: ts,
          updated_at: ts,
        });
        grants.push({ ...grantTpl, id: seededGrantId(i), managed_secret_id: id, created_at: ts });
      }
      await db.transaction().execute(async (tx) => {
        await insertRows(tx, store.dialect, 'managed_secrets', secrets);
        await insertRows(tx, store.dialect, 'grants', grants);
      });
      opts.log?.(`seeded ${end}/${opts.count}`);
    }
    plaintext.fill(0);
    if (store.dialect === 'postgres') await sql`ANALYZE`.execute(db);
    return (Date.now() - t0) / 1000;
  } finally {
    await store.close();
  }
}
