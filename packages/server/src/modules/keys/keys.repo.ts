import { dialectOf } from '../../store/database.js';
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

/** A page of an app's own keys (not its agents' keys), newest first, and the total. */
export async function listKeys(
  ex: Executor,
  appId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: ApiKeysTable[]; total: number }> {
  const rows = await ex
    .selectFrom('api_keys')
    .selectAll()
    .where('app_id', '=', appId)
    .where('kind', '=', 'app')
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  const { n } = await ex
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('app_id', '=', appId)
    .where('kind', '=', 'app')
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

/** A page of one agent's keys, newest first, and the total. */
export async function listAgentKeys(
  ex: Executor,
  appId: string,
  agentId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: ApiKeysTable[]; total: number }> {
  const rows = await ex
    .selectFrom('api_keys')
    .selectAll()
    .where('app_id', '=', appId)
    .where('agent_id', '=', agentId)
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  const { n } = await ex
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('app_id', '=', appId)
    .where('agent_id', '=', agentId)
    .executeTakeFirstOrThrow();
  return { rows, total: Number(n) };
}

/**
 * Every key of an agent. On PostgreSQL the rows are locked (`FOR UPDATE`) so two concurrent
 * revocations cannot both see the other key as the remaining active one; SQLite serializes writers.
 */
export async function agentKeysForUpdate(ex: Executor, appId: string, agentId: string): Promise<ApiKeysTable[]> {
  const q = ex.selectFrom('api_keys').selectAll().where('app_id', '=', appId).where('agent_id', '=', agentId);
  return (dialectOf(ex) === 'postgres' ? q.forUpdate() : q).execute();
}

/** Updates lifecycle columns of a key that is not revoked; returns whether a row changed. */
export async function updateLiveKey(
  ex: Executor,
  appId: string,
  id: string,
  set: Partial<Pick<ApiKeysTable, 'status' | 'expires_at'>>,
): Promise<boolean> {
  const r = await ex
    .updateTable('api_keys')
    .set(set)
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Revokes every unrevoked key of an agent; returns the ids revoked now. */
export async function revokeAgentKeys(ex: Executor, appId: string, agentId: string, nowIso: string): Promise<string[]> {
  const rows = await ex
    .updateTable('api_keys')
    .set({ status: 'revoked', revoked_at: nowIso })
    .where('app_id', '=', appId)
    .where('agent_id', '=', agentId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}
