import type { Executor, GrantsTable } from '../../store/types.js';

/** Filters for listing grants. */
export interface GrantFilter {
  providerId?: string | undefined;
  managedSecretId?: string | undefined;
  kind?: string | undefined;
  status?: 'active' | 'expired' | 'revoked' | undefined;
  /** Only grants bound to this agent (an agent caller's view). */
  agentId?: string | undefined;
  /** With `agentId`: grants delegated to that agent are visible too. */
  delegatedIds?: readonly string[] | undefined;
  nowIso: string;
}

/** Inserts a grant. */
export async function insertGrant(ex: Executor, row: GrantsTable): Promise<void> {
  await ex.insertInto('grants').values(row).execute();
}

/** A grant of an app by id. */
export async function findGrant(ex: Executor, appId: string, id: string): Promise<GrantsTable | undefined> {
  return ex.selectFrom('grants').selectAll().where('app_id', '=', appId).where('id', '=', id).executeTakeFirst();
}

/** A page of an app's grants (newest first) matching `f`, and the total. */
export async function listGrants(
  ex: Executor,
  appId: string,
  f: GrantFilter,
  page: { limit: number; offset: number },
): Promise<{ rows: GrantsTable[]; total: number }> {
  let q = ex.selectFrom('grants').where('app_id', '=', appId);
  if (f.providerId) q = q.where('provider_id', '=', f.providerId);
  if (f.managedSecretId) q = q.where('managed_secret_id', '=', f.managedSecretId);
  if (f.kind) q = q.where('kind', '=', f.kind);
  if (f.agentId) {
    const agentId = f.agentId;
    const delegated = f.delegatedIds ?? [];
    q = q.where((eb) =>
      eb.or([
        eb.and([eb('principal_type', '=', 'agent'), eb('agent_id', '=', agentId)]),
        ...(delegated.length ? [eb('id', 'in', [...delegated])] : []),
      ]),
    );
  }
  if (f.status === 'revoked') q = q.where('revoked_at', 'is not', null);
  if (f.status === 'expired') q = q.where('revoked_at', 'is', null).where('expires_at', '<=', f.nowIso);
  if (f.status === 'active') {
    q = q
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', f.nowIso)]));
  }
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

/** Revokes one grant if not already revoked; returns whether it changed. */
export async function revokeGrant(
  ex: Executor,
  appId: string,
  id: string,
  nowIso: string,
  reason: string | null,
): Promise<boolean> {
  const r = await ex
    .updateTable('grants')
    .set({ revoked_at: nowIso, revoked_reason: reason })
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Ids of a secret's unrevoked grants. */
export async function liveGrantIdsForSecret(ex: Executor, appId: string, secretId: string): Promise<string[]> {
  const rows = await ex
    .selectFrom('grants')
    .select('id')
    .where('app_id', '=', appId)
    .where('managed_secret_id', '=', secretId)
    .where('revoked_at', 'is', null)
    .execute();
  return rows.map((r) => r.id);
}

/**
 * The active grants for a provider that a user reaches: `user` grants bound to `appUserId`, and
 * `group` grants of `idpId` for any of `groups`. Each row carries its managed secret's slug (the
 * account identifier when the grant has no label). At most 100, oldest first.
 */
export async function findUserGrantCandidates(
  ex: Executor,
  appId: string,
  q: { providerId: string; appUserId: string; idpId: string; groups: readonly string[]; nowIso: string },
): Promise<(GrantsTable & { slug: string | null })[]> {
  return ex
    .selectFrom('grants')
    .leftJoin('managed_secrets', 'managed_secrets.id', 'grants.managed_secret_id')
    .selectAll('grants')
    .select('managed_secrets.slug as slug')
    .where('grants.app_id', '=', appId)
    .where('grants.provider_id', '=', q.providerId)
    .where('grants.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('grants.expires_at', 'is', null), eb('grants.expires_at', '>', q.nowIso)]))
    .where((eb) => {
      const mine = eb.and([eb('grants.principal_type', '=', 'user'), eb('grants.app_user_id', '=', q.appUserId)]);
      if (q.groups.length === 0) return mine;
      return eb.or([
        mine,
        eb.and([
          eb('grants.principal_type', '=', 'group'),
          eb('grants.idp_id', '=', q.idpId),
          eb('grants.external_group_id', 'in', [...q.groups]),
        ]),
      ]);
    })
    .orderBy('grants.created_at')
    .orderBy('grants.id')
    .limit(100)
    .execute();
}
