import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../database.js';

/** Initial schema: apps and their KEKs, API keys, managed secrets, grants, audit trail, idempotency. */
export async function up(db: Kysely<any>): Promise<void> {
  const pg = dialectOf(db) === 'postgres';
  await db.schema
    .createTable('apps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kek_version', 'integer', (c) => c.notNull())
    .addColumn('fingerprint_key_wrapped', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('app_keks')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('wrapped_kek', 'text', (c) => c.notNull())
    .addColumn('root_key_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('app_keks_pk', ['app_id', 'version'])
    .execute();
  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'text')
    .addColumn('name', 'text')
    .addColumn('key_prefix', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('signing_key_sealed', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('cidrs', 'text', (c) => c.notNull())
    .addColumn('signed_only', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('api_keys_app_idx').on('api_keys').columns(['app_id', 'created_at']).execute();
  await db.schema
    .createTable('managed_secrets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('slug', 'text', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('description', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('template_id', 'text')
    .addColumn('injection', 'text', (c) => c.notNull())
    .addColumn('allowed_hosts', 'text', (c) => c.notNull())
    .addColumn('value_sealed', 'text')
    .addColumn('dek_wrapped', 'text')
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('last4', 'text')
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('rotated_at', 'text')
    .addColumn('deleted_at', 'text')
    .execute();
  // A slug is unique among live secrets of an app; deleted ones keep their row for audit joins.
  await sql`CREATE UNIQUE INDEX managed_secrets_slug_live ON managed_secrets (app_id, slug) WHERE deleted_at IS NULL`.execute(
    db,
  );
  await db.schema
    .createTable('grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('managed_secret_id', 'text', (c) => c.references('managed_secrets.id'))
    .addColumn('provider_id', 'text')
    .addColumn('principal_type', 'text', (c) => c.notNull())
    .addColumn('principal_label', 'text')
    .addColumn('agent_id', 'text')
    .addColumn('label', 'text')
    .addColumn('policy_expires_at', 'text')
    .addColumn('max_ttl_seconds', 'integer')
    .addColumn('default_ttl_seconds', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('revoked_reason', 'text')
    .execute();
  await db.schema.createIndex('grants_app_idx').on('grants').columns(['app_id', 'created_at']).execute();
  await db.schema.createIndex('grants_secret_idx').on('grants').columns(['managed_secret_id']).execute();
  await db.schema
    .createTable('audit_events')
    .addColumn('seq', pg ? 'bigserial' : 'integer', (c) => (pg ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('replica_id', 'text', (c) => c.notNull())
    .addColumn('chain_seq', 'bigint', (c) => c.notNull())
    .addColumn('ts', 'text', (c) => c.notNull())
    .addColumn('app_id', 'text')
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('record', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('managed_secret_id', 'text')
    .addColumn('key_prefix', 'text')
    .addUniqueConstraint('audit_chain_uq', ['replica_id', 'chain_seq'])
    .execute();
  await db.schema.createIndex('audit_app_seq_idx').on('audit_events').columns(['app_id', 'seq']).execute();
  await db.schema.createIndex('audit_grant_idx').on('audit_events').columns(['grant_id', 'seq']).execute();
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('app_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('status_code', 'integer', (c) => c.notNull())
    .addColumn('response', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('idempotency_pk', ['app_id', 'key'])
    .execute();
}

/** Forward-only: no down migration. */
export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only.');
}
