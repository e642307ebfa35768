import type { ApiKeysTable, Executor } from '../../store/types.js';

/** Inserts a key row. */
export async function insertKey(ex: Executor, row: ApiKeysTable): Promise<void> {
  await ex.insertInto('api_keys').values(row).execute();
}

/** A key by public id (any app). */
export async function findKeyById(ex: Executor, id: string): Promise<ApiKeysTable | undefined> {
  return ex.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A key by the SHA-256 of its value. */
export async function findKeyByHash(ex: Executor, hash: string): Promise<ApiKeysTable | undefined> {
  return ex.selectFrom('api_keys').selectAll().where('key_hash', '=', hash).executeTakeFirst();
}

/** A page of an app's keys, newest first, and the total. */
export async function listKeys(
  ex: Executor,
  appId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: ApiKeysTable[]; total: number }> {
  const rows = await ex
    .selectFrom('api_keys')
    .selectAll()
    .where('app_id', '=', appId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  const { n } = await ex
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('app_id', '=', appId)
    .executeTakeFirstOrThrow();
  return { rows, total: Number(n) };
}

/** Marks a key revoked (idempotent: keeps the first revocation time). */
export async function revokeKey(ex: Executor, appId: string, id: string, nowIso: string): Promise<void> {
  await ex
    .updateTable('api_keys')
    .set({ status: 'revoked', revoked_at: nowIso })
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .execute();
}
