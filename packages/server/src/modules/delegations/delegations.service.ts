import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { Delegation } from '@latchkey/api';
import type { Cache, InvalidationBus } from '../../coordination/index.js';
import { LatchkeyError } from '../../errors.js';
import type { Db, DelegationsTable } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { GrantsService, ResolvedGrant } from '../grants/grants.service.js';
import type { IdentityService } from '../identity/identity.service.js';
import type { Actor } from '../keys/keys.service.js';
import * as repo from './delegations.repo.js';

type DelegationT = z.infer<typeof Delegation>;

/** The cache and invalidation id of the pair (grant, agent). */
export function delegationKey(grantId: string, agentId: string): string {
  return `${grantId}:${agentId}`;
}

/**
 * Delegations (DESIGN §2, §8): "agent X may use user U's grant G". Created when U consents by
 * presenting their ID token; revoking one leaves the grant intact. Only grants to a `user` principal
 * can be delegated.
 */
export interface DelegationsService {
  /**
   * Delegates a user grant to an agent; the grant's user consents with their ID token. Idempotent:
   * an existing live delegation is returned with `created: false`.
   * @throws `grant_not_found` (also when the token's user does not own the grant), `invalid_request`
   *   (not a user grant), `grant_revoked`, `grant_expired`, `agent_not_found`, `invalid_user_token`,
   *   `identity_provider_not_found`, `identity_provider_unavailable`, `audit_unavailable`
   */
  create(
    appId: string,
    grantId: string,
    input: { agentId: string; userToken: string },
    actor: Actor,
  ): Promise<{ delegation: DelegationT; created: boolean }>;
  /** A grant's delegations (only `agentId`'s when given). @throws `grant_not_found` */
  list(
    appId: string,
    grantId: string,
    opts: { includeRevoked: boolean; agentId?: string | undefined },
  ): Promise<DelegationT[]>;
  /** Revokes the live delegation of a grant to an agent. @throws `grant_not_found`, `delegation_not_found` */
  revoke(appId: string, grantId: string, agentId: string, actor: Actor): Promise<DelegationT>;
  /** Revokes every live delegation to an agent (e.g. when the agent is revoked); returns how many. */
  revokeForAgent(appId: string, agentId: string, actor: Actor): Promise<number>;
  /** An agent's live delegations. */
  listForAgent(appId: string, agentId: string): Promise<DelegationT[]>;
  /** Whether `agentId` may use `grantId` through a live delegation (cached, invalidated on change). */
  isDelegated(grantId: string, agentId: string): Promise<boolean>;
}

function toDelegation(r: DelegationsTable): DelegationT {
  return {
    delegation_id: r.id,
    grant_id: r.grant_id,
    agent_id: r.agent_id,
    app_user_id: r.created_by,
    status: r.revoked_at ? 'revoked' : 'active',
    created_at: r.created_at,
    revoked_at: r.revoked_at,
  };
}

/**
 * Creates the delegations service.
 *
 * @param deps `db`, `audit`, `grants.resolve`, `identity.verifyUserToken` (consent), `agents`
 *   (`assertGrantable`: the agent exists in the app and is not revoked), `cache` (kind `delegation`,
 *   id {@link delegationKey}) and `bus`, optional clock `now`.
 */
export function createDelegationsService(deps: {
  db: Db;
  audit: Pick<AuditService, 'record' | 'recordBestEffort' | 'assertWritable'>;
  grants: Pick<GrantsService, 'resolve'>;
  identity: Pick<IdentityService, 'verifyUserToken'>;
  agents: { assertGrantable(appId: string, agentId: string): Promise<void> };
  cache: Cache<{ live: boolean }>;
  bus: Pick<InvalidationBus, 'publish'>;
  now?: () => Date;
}): DelegationsService {
  const { db, audit, grants, cache, bus } = deps;
  const now = deps.now ?? (() => new Date());

  async function grantOf(appId: string, grantId: string): Promise<ResolvedGrant> {
    const g = await grants.resolve(appId, grantId);
    if (!g) throw new LatchkeyError('grant_not_found');
    return g;
  }

  async function revokeRow(appId: string, row: DelegationsTable, g: ResolvedGrant | null, actor: Actor) {
    const changed = await repo.revoke(db, row.id, now().toISOString());
    bus.publish('delegation', delegationKey(row.grant_id, row.agent_id));
    if (changed) {
      await audit.recordBestEffort({
        event: 'delegation.revoked',
        appId,
        actor,
        outcome: 'success',
        grantId: row.grant_id,
        grantKind: g?.kind ?? null,
        managedSecretId: g?.managedSecretId ?? null,
        providerId: g?.providerId ?? null,
        principalType: 'user',
        appUserId: row.created_by,
        details: { delegation_id: row.id, agent_id: row.agent_id },
      });
    }
    return changed;
  }

  return {
    async create(appId, grantId, input, actor) {
      audit.assertWritable();
      const g = await grantOf(appId, grantId);
      if (g.principalType !== 'user' || !g.appUserId)
        throw new LatchkeyError('invalid_request', {
          message: 'Only grants to a user principal can be delegated.',
          details: { field: 'grant_id', principal_type: g.principalType },
        });
      const nowIso = now().toISOString();
      if (g.revokedAt) throw new LatchkeyError('grant_revoked');
      if (g.expiresAt && g.expiresAt <= nowIso) throw new LatchkeyError('grant_expired');
      await deps.agents.assertGrantable(appId, input.agentId);
      const user = await deps.identity.verifyUserToken(appId, input.userToken);
      // Only the grant's own user can consent; to anyone else the grant does not exist.
      if (user.appUserId !== g.appUserId) throw new LatchkeyError('grant_not_found');
      const row: DelegationsTable = {
        id: `dlg_${randomBytes(12).toString('hex')}`,
        app_id: appId,
        grant_id: grantId,
        agent_id: input.agentId,
        created_by: user.appUserId,
        created_at: nowIso,
        revoked_at: null,
      };
      if (!(await repo.insertIfNoLive(db, row))) {
        return { delegation: toDelegation((await repo.findLive(db, grantId, input.agentId))!), created: false };
      }
      bus.publish('delegation', delegationKey(grantId, input.agentId));
      await audit.record({
        event: 'delegation.created',
        appId,
        actor,
        outcome: 'success',
        grantId,
        grantKind: g.kind,
        managedSecretId: g.managedSecretId,
        providerId: g.providerId,
        principalType: 'user',
        appUserId: user.appUserId,
        details: { delegation_id: row.id, agent_id: input.agentId },
      });
      return { delegation: toDelegation(row), created: true };
    },

    async list(appId, grantId, opts) {
      await grantOf(appId, grantId);
      return (await repo.listForGrant(db, appId, grantId, opts)).map(toDelegation);
    },

    async revoke(appId, grantId, agentId, actor) {
      const g = await grantOf(appId, grantId);
      const row = await repo.findLive(db, grantId, agentId);
      if (!row) throw new LatchkeyError('delegation_not_found');
      await revokeRow(appId, row, g, actor);
      return toDelegation({ ...row, revoked_at: now().toISOString() });
    },

    async revokeForAgent(appId, agentId, actor) {
      let n = 0;
      for (const row of await repo.listLiveForAgent(db, appId, agentId)) {
        if (await revokeRow(appId, row, (await grants.resolve(appId, row.grant_id)) ?? null, actor)) n += 1;
      }
      return n;
    },

    async listForAgent(appId, agentId) {
      return (await repo.listLiveForAgent(db, appId, agentId)).map(toDelegation);
    },

    async isDelegated(grantId, agentId) {
      const { live } = await cache.getOrLoad(delegationKey(grantId, agentId), async () => ({
        live: (await repo.findLive(db, grantId, agentId)) !== undefined,
      }));
      return live;
    },
  };
}
