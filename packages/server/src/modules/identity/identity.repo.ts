import type { AppUsersTable, Executor, IdentityProvidersTable } from '../../store/types.js';

/** The app's identity provider, if configured. */
export async function findProvider(ex: Executor, appId: string): Promise<IdentityProvidersTable | undefined> {
  return ex.selectFrom('identity_providers').selectAll().where('app_id', '=', appId).executeTakeFirst();
}

/** Inserts or replaces the app's identity provider (one per app). */
export async function upsertProvider(ex: Executor, row: IdentityProvidersTable): Promise<void> {
  const { app_id: _appId, created_at: _createdAt, ...changes } = row;
  await ex
    .insertInto('identity_providers')
    .values(row)
    .onConflict((oc) => oc.column('app_id').doUpdateSet(changes))
    .execute();
}

/** Whether the app has seen any user (the claim mappings are then locked). */
export async function hasUsers(ex: Executor, appId: string): Promise<boolean> {
  const row = await ex.selectFrom('app_users').select('id').where('app_id', '=', appId).limit(1).executeTakeFirst();
  return row !== undefined;
}

/** A user by app, issuer and subject. */
export async function findUser(
  ex: Executor,
  appId: string,
  issuer: string,
  subject: string,
): Promise<AppUsersTable | undefined> {
  return ex
    .selectFrom('app_users')
    .selectAll()
    .where('app_id', '=', appId)
    .where('idp_issuer', '=', issuer)
    .where('subject', '=', subject)
    .executeTakeFirst();
}

/** Inserts a user unless one with the same app, issuer and subject exists; returns whether it inserted. */
export async function insertUserIfAbsent(ex: Executor, row: AppUsersTable): Promise<boolean> {
  const r = await ex
    .insertInto('app_users')
    .values(row)
    .onConflict((oc) => oc.columns(['app_id', 'idp_issuer', 'subject']).doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** Refreshes what the latest token said about a user. */
export async function touchUser(
  ex: Executor,
  id: string,
  fields: { email: string | null; groups: string; last_seen_at: string },
): Promise<void> {
  await ex.updateTable('app_users').set(fields).where('id', '=', id).execute();
}
