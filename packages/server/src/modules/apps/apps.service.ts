import { randomBytes } from 'node:crypto';
import type { Db } from '../../store/types.js';
import type { KeyringService } from '../keyring/keyring.service.js';

/** An app (tenant) row as the services see it. */
export interface AppRecord {
  id: string;
  name: string;
  createdAt: string;
}

/** Apps: the tenant boundary (DESIGN §2). */
export interface AppsService {
  /** Creates an app with its first KEK. */
  createApp(name: string): Promise<AppRecord>;
  /** The oldest app, which `latchkey init` creates (undefined on an empty database). */
  getDefaultApp(): Promise<AppRecord | undefined>;
  /** Number of apps (0 means the database is not initialized). */
  countApps(): Promise<number>;
}

/** Creates the apps service. */
export function createAppsService(deps: { db: Db; keyring: Pick<KeyringService, 'createAppKeys'> }): AppsService {
  const { db, keyring } = deps;
  return {
    async createApp(name) {
      const id = `app_${randomBytes(12).toString('hex')}`;
      const createdAt = new Date().toISOString();
      await db.transaction().execute(async (tx) => {
        // The app row must exist before its KEK row (foreign key); fill the KEK fields after.
        await tx
          .insertInto('apps')
          .values({ id, name, kek_version: 1, fingerprint_key_wrapped: '', created_at: createdAt })
          .execute();
        const { kekVersion, fingerprintKeyWrapped } = await keyring.createAppKeys(tx, id);
        await tx
          .updateTable('apps')
          .set({ kek_version: kekVersion, fingerprint_key_wrapped: fingerprintKeyWrapped })
          .where('id', '=', id)
          .execute();
      });
      return { id, name, createdAt };
    },
    async getDefaultApp() {
      const row = await db
        .selectFrom('apps')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .limit(1)
        .executeTakeFirst();
      return row ? { id: row.id, name: row.name, createdAt: row.created_at } : undefined;
    },
    async countApps() {
      const row = await db
        .selectFrom('apps')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
