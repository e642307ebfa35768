import type { AgentsTable, Executor } from '../../store/types.js';

/** Inserts an agent. */
export async function insertAgent(ex: Executor, row: AgentsTable): Promise<void> {
  await ex.insertInto('agents').values(row).execute();
}

/** An agent of an app by id (revoked ones included). */
export async function findAgent(ex: Executor, appId: string, id: string): Promise<AgentsTable | undefined> {
  return ex.selectFrom('agents').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
}

/** An agent by id, any app (authentication checks the app). */
export async function findAgentById(ex: Executor, id: string): Promise<AgentsTable | undefined> {
  return ex.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The app's agent with this name that is not revoked. */
export async function findLiveAgentByName(ex: Executor, appId: string, name: string): Promise<AgentsTable | undefined> {
  return ex
    .selectFrom('agents')
    .selectAll()
    .where('app_id', '=', appId)
    .where('name', '=', name)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** A page of an app's agents (newest first), without revoked ones unless asked, and the total. */
export async function listAgents(
  ex: Executor,
  appId: string,
  f: { includeRevoked: boolean },
  page: { limit: number; offset: number },
): Promise<{ rows: AgentsTable[]; total: number }> {
  let q = ex.selectFrom('agents').where('app_id', '=', appId);
  if (!f.includeRevoked) q = q.where('revoked_at', 'is', null);
  const rows = await q
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return { rows, total: Number(n) };
}

/**
 * Updates an agent that is not revoked; `only` narrows further (`paused` / `active`).
 *
 * @returns whether a row changed.
 */
export async function updateLiveAgent(
  ex: Executor,
  appId: string,
  id: string,
  set: Partial<Omit<AgentsTable, 'id' | 'app_id' | 'name' | 'created_at'>>,
  only?: 'paused' | 'active',
): Promise<boolean> {
  let q = ex
    .updateTable('agents')
    .set(set)
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null);
  if (only === 'paused') q = q.where('paused_at', 'is not', null);
  if (only === 'active') q = q.where('paused_at', 'is', null);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
