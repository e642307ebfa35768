import type { Executor, ManagedSecretsTable } from '../../store/types.js';

/** Inserts a managed secret row. */
export async function insertSecret(ex: Executor, row: ManagedSecretsTable): Promise<void> {
  await ex.insertInto('managed_secrets').values(row).execute();
}

/** A live (not deleted) secret of an app. */
export async function findSecret(ex: Executor, appId: string, id: string): Promise<ManagedSecretsTable | undefined> {
  return ex
    .selectFrom('managed_secrets')
    .selectAll()
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Whether a live secret with this slug exists in the app. */
export async function slugExists(ex: Executor, appId: string, slug: string): Promise<boolean> {
  const row = await ex
    .selectFrom('managed_secrets')
    .select('id')
    .where('app_id', '=', appId)
    .where('slug', '=', slug)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row !== undefined;
}

/** A page of an app's live secrets, newest first, and the total. */
export async function listSecrets(
  ex: Executor,
  appId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: ManagedSecretsTable[]; total: number }> {
  const rows = await ex
    .selectFrom('managed_secrets')
    .selectAll()
    .where('app_id', '=', appId)
    .where('deleted_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  const { n } = await ex
    .selectFrom('managed_secrets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('app_id', '=', appId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { rows, total: Number(n) };
}

/** Updates columns of a live secret. */
export async function updateSecret(
  ex: Executor,
  appId: string,
  id: string,
  set: Partial<ManagedSecretsTable>,
): Promise<void> {
  await ex
    .updateTable('managed_secrets')
    .set(set)
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .where('deleted_at', 'is', null)
    .execute();
}
