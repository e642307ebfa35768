import type { Kysely } from 'kysely';

/**
 * Per-secret gateway base URL (`base_url`, nullable: the template's `base_url` applies when null).
 * `/gw/{grant_id}/{path}` forwards to it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('managed_secrets').addColumn('base_url', 'text').execute();
}

/** Forward-only: no down migration. */
export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only.');
}
