import type { Kysely } from 'kysely';

/** Per-key request budget (`rate_limit_rpm`, requests per minute; null = unlimited). */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('rate_limit_rpm', 'integer').execute();
}

/** Forward-only: no down migration. */
export async function down(): Promise<void> {
  throw new Error('Latchkey migrations are forward-only.');
}
