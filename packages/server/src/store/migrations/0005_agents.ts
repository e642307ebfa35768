import { type Kysely, sql } from 'kysely';

/**
 * Agents (DESIGN §2, §5): the `agents` table (status derived from `paused_at` / `revoked_at`; a
 * name is unique among the app's agents that are not revoked), an index for an agent's keys, and the
 * acting agent as an indexed column of the audit trail (`actor.agent_id` of the hashed record).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('display_name', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('rate_limit_rpm', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('paused_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await sql`CREATE UNIQUE INDEX agents_name_live ON agents (app_id, name) WHERE revoked_at IS NULL`.execute(db);
  await db.schema.createIndex('agents_app_idx').on('agents').columns(['app_id', 'created_at']).execute();
  await db.schema.createIndex('api_keys_agent_idx').on('api_keys').columns(['agent_id', 'created_at']).execute();
  await db.schema.alterTable('audit_events').addColumn('agent_id', 'text').execute();
  await db.schema
    .createIndex('audit_app_agent_idx')
    .on('audit_events')
    .columns(['app_id', 'agent_id', 'seq'])
    .execute();
}

/** Forward-only: no down migration. */
export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only.');
}
