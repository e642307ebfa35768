import type { Kysely } from 'kysely';

/**
 * Per-app custom provider templates (DESIGN §8): one validated template per row, stored as JSON
 * text. Ids are unique per app; the service keeps them distinct from the catalog's ids.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('provider_templates')
    .addColumn('app_id', 'text', (c) => c.notNull().references('apps.id').onDelete('cascade'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('provider_templates_pk', ['app_id', 'id'])
    .execute();
}

/** Forward-only: no down migration. */
export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only.');
}
