import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../database.js';

const COLUMNS =
  'seq, id, replica_id, chain_seq, ts, app_id, event, outcome, record, prev_hash, hash, ' +
  'grant_id, managed_secret_id, key_prefix, agent_id, app_user_id';

/**
 * Leaner audit rows: the unique index on `id` goes (an id is its chain's replica id and zero-padded
 * `chain_seq`, so `audit_chain_uq` already makes it unique, and nothing reads by id), and on SQLite
 * `seq` drops AUTOINCREMENT (rows are never deleted, so `max(seq) + 1` never reuses a value, and the
 * `sqlite_sequence` page stops being written on every commit). Each audit commit then writes two
 * fewer pages: a one-row commit measured 64 → 49 µs on SQLite (issue 4), and the proxy's sync audit
 * waits for it.
 *
 * SQLite cannot drop a column constraint, so the table is rebuilt in one immediate transaction
 * (copy, drop, rename, re-index, with the partial indexes of 0007): it takes time in proportion to
 * the trail's size, once, and the file grows by about the table's size (the old pages stay free in it
 * for later rows): 1,000,000 rows (1.2 GB) took 12 s, the file growing to 2.2 GB. A replica starting meanwhile waits
 * for the lock up to the busy timeout and retries; finding the table rebuilt, it does nothing. See
 * docs/deployment.md, "Upgrading".
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'postgres') {
    await sql`SET LOCAL statement_timeout = 0`.execute(db);
    await sql`ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS audit_events_id_key`.execute(db);
    return;
  }
  await db.transaction().execute(async (tx) => {
    const { rows } = await sql<{ sql: string }>`
      SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit_events'`.execute(tx);
    if (!/autoincrement/i.test(rows[0]?.sql ?? '')) return; // rebuilt by a replica that started first
    await sql`CREATE TABLE audit_events_lean (
      seq integer PRIMARY KEY, id text NOT NULL, replica_id text NOT NULL, chain_seq bigint NOT NULL,
      ts text NOT NULL, app_id text, event text NOT NULL, outcome text NOT NULL, record text NOT NULL,
      prev_hash text NOT NULL, hash text NOT NULL, grant_id text, managed_secret_id text,
      key_prefix text, agent_id text, app_user_id text,
      CONSTRAINT audit_chain_uq UNIQUE (replica_id, chain_seq))`.execute(tx);
    await sql`INSERT INTO audit_events_lean (${sql.raw(COLUMNS)}) SELECT ${sql.raw(COLUMNS)} FROM audit_events ORDER BY seq`.execute(
      tx,
    );
    await sql`DROP TABLE audit_events`.execute(tx);
    await sql`ALTER TABLE audit_events_lean RENAME TO audit_events`.execute(tx);
    await sql`CREATE INDEX audit_app_seq_idx ON audit_events (app_id, seq)`.execute(tx);
    await sql`CREATE INDEX audit_grant_idx ON audit_events (grant_id, seq)`.execute(tx);
    await sql`CREATE INDEX audit_app_agent_idx ON audit_events (app_id, agent_id, seq) WHERE agent_id IS NOT NULL`.execute(
      tx,
    );
    await sql`CREATE INDEX audit_app_user_idx ON audit_events (app_id, app_user_id, seq) WHERE app_user_id IS NOT NULL`.execute(
      tx,
    );
  });
}

/** Forward-only: no down migration. */
export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only.');
}
