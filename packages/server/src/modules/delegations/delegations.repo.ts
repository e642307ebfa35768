import type { DelegationsTable, Executor } from '../../store/types.js';

/** Inserts a delegation unless a live one exists for the same grant and agent; returns whether it inserted. */
export async function insertIfNoLive(ex: Executor, row: DelegationsTable): Promise<boolean> {
  try {
    await ex.insertInto('delegations').values(row).execute();
    return true;
  } catch (err) {
    // The partial unique index (grant_id, agent_id) WHERE revoked_at IS NULL closes the race.
    if (await findLive(ex, row.grant_id, row.agent_id)) return false;
    throw err;
  }
}

/** The live delegation of a grant to an agent. */
export async function findLive(ex: Executor, grantId: string, agentId: string): Promise<DelegationsTable | undefined> {
  return ex
    .selectFrom('delegations')
    .selectAll()
    .where('grant_id', '=', grantId)
    .where('agent_id', '=', agentId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

/** A grant's delegations (optionally only one agent's, optionally with revoked ones), oldest first. */
export async function listForGrant(
  ex: Executor,
  appId: string,
  grantId: string,
  opts: { includeRevoked: boolean; agentId?: string | undefined },
): Promise<DelegationsTable[]> {
  let q = ex.selectFrom('delegations').selectAll().where('app_id', '=', appId).where('grant_id', '=', grantId);
  if (!opts.includeRevoked) q = q.where('revoked_at', 'is', null);
  if (opts.agentId) q = q.where('agent_id', '=', opts.agentId);
  return q.orderBy('created_at').orderBy('id').limit(1000).execute();
}

/** An agent's live delegations, oldest first. */
export async function listLiveForAgent(ex: Executor, appId: string, agentId: string): Promise<DelegationsTable[]> {
  return ex
    .selectFrom('delegations')
    .selectAll()
    .where('app_id', '=', appId)
    .where('agent_id', '=', agentId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** Marks a delegation revoked if it is live; returns whether it changed. */
export async function revoke(ex: Executor, id: string, nowIso: string): Promise<boolean> {
  const r = await ex
    .updateTable('delegations')
    .set({ revoked_at: nowIso })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
