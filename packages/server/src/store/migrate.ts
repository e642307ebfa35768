import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import * as m0001 from './migrations/0001_initial.js';
import * as m0002 from './migrations/0002_custom_templates.js';
import * as m0003 from './migrations/0003_secret_base_url.js';
import * as m0004 from './migrations/0004_key_rate_limit.js';
import * as m0005 from './migrations/0005_agents.js';
import * as m0006 from './migrations/0006_identity.js';
import * as m0007 from './migrations/0007_audit_partial_indexes.js';
import * as m0008 from './migrations/0008_audit_lean_rows.js';
import { dialectOf } from './database.js';
import type { Db } from './types.js';

/** The ordered list of migrations, statically imported so bundles and tsx both work. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_custom_templates': m0002,
  '0003_secret_base_url': m0003,
  '0004_key_rate_limit': m0004,
  '0005_agents': m0005,
  '0006_identity': m0006,
  '0007_audit_partial_indexes': m0007,
  '0008_audit_lean_rows': m0008,
};

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/**
 * Runs every pending migration (forward-only). Kysely takes a lock table so concurrent
 * starts migrate once.
 *
 * @returns the names of the migrations applied now.
 * @throws Error with the failing migration's name if one fails.
 */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // PostgreSQL serializes concurrent migrators with an advisory lock. SQLite has no such lock: when
    // two processes migrate one file at once, the loser's statements fail (a busy file, or a migration
    // recorded twice); it retries and finds the migrations applied.
    if (dialectOf(db) === 'sqlite' && attempt < 5) {
      await new Promise((r) => setTimeout(r, 50 * attempt));
      continue;
    }
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Migration ${failed} failed`, { cause: error });
  }
}
