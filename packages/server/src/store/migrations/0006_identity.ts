import { type Kysely, sql } from 'kysely';

/**
 * Identity and delegations (DESIGN §5 "End users", §8): the per-app identity provider, the app users
 * seen in its ID tokens (one per app × issuer × subject, OIDC Core §5.7), the principal columns of
 * user and group grants, delegations of user grants to agents, and the end user as an indexed column
 * of the audit trail (`principal.app_user_id` of the hashed record).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('identity_providers')
    .addColumn('app_id', 'text', (c) => c.primaryKey().references('apps.id').onDelete('cascade'))
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('audience', 'text', (c) => c.notNull())
    .addColumn('algorithms', 'text', (c) => c.notNull())
    .addColumn('user_id_claim', 'text', (c) => c.notNull())
    .addColumn('email_claim', 'text')
    .addColumn('groups_claim', 'text')
    .addColumn('jwks_uri', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('app_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('idp_issuer', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('first_seen_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('app_users_subject_uq', ['app_id', 'idp_issuer', 'subject'])
    .execute();
  await db.schema.alterTable('grants').addColumn('app_user_id', 'text').execute();
  await db.schema.alterTable('grants').addColumn('external_group_id', 'text').execute();
  await db.schema.alterTable('grants').addColumn('idp_id', 'text').execute();
  await db.schema.createIndex('grants_app_user_idx').on('grants').columns(['app_id', 'app_user_id']).execute();
  await db.schema
    .createIndex('grants_group_idx')
    .on('grants')
    .columns(['app_id', 'idp_id', 'external_group_id'])
    .execute();
  await db.schema
    .createTable('delegations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  // At most one live delegation per grant and agent; revoked rows stay for history.
  await sql`CREATE UNIQUE INDEX delegations_live ON delegations (grant_id, agent_id) WHERE revoked_at IS NULL`.execute(
    db,
  );
  await db.schema.createIndex('delegations_agent_idx').on('delegations').columns(['app_id', 'agent_id']).execute();
  await db.schema.alterTable('audit_events').addColumn('app_user_id', 'text').execute();
  await db.schema
    .createIndex('audit_app_user_idx')
    .on('audit_events')
    .columns(['app_id', 'app_user_id', 'seq'])
    .execute();
}

/** Forward-only: no down migration. */
export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only.');
}
