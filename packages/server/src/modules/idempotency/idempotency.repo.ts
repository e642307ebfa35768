import type { Executor, IdempotencyKeysTable } from '../../store/types.js';

/** The stored answer for an app's idempotency key. */
export async function findIdempotencyKey(
  ex: Executor,
  appId: string,
  key: string,
): Promise<IdempotencyKeysTable | undefined> {
  return ex
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('app_id', '=', appId)
    .where('key', '=', key)
    .executeTakeFirst();
}

/** Inserts an answer; fails on the primary key if the key is already taken (a concurrent request). */
export async function insertIdempotencyKey(ex: Executor, row: IdempotencyKeysTable): Promise<void> {
  await ex.insertInto('idempotency_keys').values(row).execute();
}

/** Deletes an expired answer (only if it is still the one read). */
export async function deleteIdempotencyKey(ex: Executor, appId: string, key: string, createdAt: string): Promise<void> {
  await ex
    .deleteFrom('idempotency_keys')
    .where('app_id', '=', appId)
    .where('key', '=', key)
    .where('created_at', '=', createdAt)
    .execute();
}
