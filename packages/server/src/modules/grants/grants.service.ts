import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { CreateGrantBody, Grant, ListGrantsQuery } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import { thenMaybe, type MaybePromise } from '../../maybe-promise.js';
import type { Cache, InvalidationBus } from '../../coordination/index.js';
import type { GrantLookup } from '../../store/point-lookup.js';
import type { Db, GrantsTable, ManagedSecretsTable } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { IdentityService } from '../identity/identity.service.js';
import type { Actor } from '../keys/keys.service.js';
import { computeExpiry, grantStatus } from './grants.fns.js';
import * as repo from './grants.repo.js';

type GrantT = z.infer<typeof Grant>;

/** The proxy's view of a grant row (frozen: it is cached and shared). */
function toResolved(row: GrantsTable): ResolvedGrant {
  return Object.freeze({
    id: row.id,
    appId: row.app_id,
    kind: row.kind as ResolvedGrant['kind'],
    managedSecretId: row.managed_secret_id,
    providerId: row.provider_id,
    principalType: row.principal_type,
    agentId: row.agent_id,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    appUserId: row.app_user_id,
    externalGroupId: row.external_group_id,
    idpId: row.idp_id,
  });
}

/** A grant as the proxy resolves it (cached). */
export interface ResolvedGrant {
  readonly id: string;
  readonly appId: string;
  readonly kind: 'managed_secret' | 'oauth';
  readonly managedSecretId: string | null;
  readonly providerId: string | null;
  readonly principalType: string;
  readonly agentId: string | null;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** `user` grants: the bound app user. */
  readonly appUserId: string | null;
  /** `group` grants: the IDP group id and its identity provider. */
  readonly externalGroupId: string | null;
  readonly idpId: string | null;
}

/** A grant a user can reach for a provider, with its account identifier (label, else secret slug). */
export interface UserGrantCandidate {
  readonly grant: ResolvedGrant;
  readonly account: string;
}

/**
 * Who is looking at grants: `agentId` set means an agent (its own key or an app key acting as it),
 * which sees only the grants bound to it; other grants are `grant_not_found` (404, never 403).
 */
export interface GrantViewer {
  agentId?: string | null | undefined;
}

/** Grants: credential × principal × policy (DESIGN §2). */
export interface GrantsService {
  /**
   * Issues a grant. An agent caller (`viewer.agentId`) may only issue to itself: principal
   * `{ type: 'agent', label? }` without `agent_id`, bound to the caller. An `agent_id` given by an app
   * key must name an agent of the app that is not revoked.
   * @throws `managed_secret_not_found`, `principal_not_supported`, `insufficient_scope`, `agent_not_found`, `invalid_request`
   */
  issueForSecret(
    appId: string,
    secretId: string,
    input: z.infer<typeof CreateGrantBody>,
    actor: Actor,
    viewer?: GrantViewer,
  ): Promise<GrantT>;
  list(
    appId: string,
    q: z.infer<typeof ListGrantsQuery>,
    viewer?: GrantViewer,
  ): Promise<{ grants: GrantT[]; total: number }>;
  /** @throws `grant_not_found` */
  get(appId: string, grantId: string, viewer?: GrantViewer): Promise<GrantT>;
  /** Revokes a grant (idempotent). @throws `grant_not_found` */
  revoke(
    appId: string,
    grantId: string,
    reason: string | undefined,
    actor: Actor,
    viewer?: GrantViewer,
  ): Promise<GrantT>;
  /** Revokes every live grant on a secret; returns how many. */
  revokeAllForSecret(appId: string, secretId: string, reason: string, actor: Actor): Promise<number>;
  /**
   * The grant for the proxy, or undefined if it does not exist in this app. A cache hit is returned
   * as is, a miss as a promise.
   */
  resolve(appId: string, grantId: string): MaybePromise<ResolvedGrant | undefined>;
  /**
   * The active grants for `providerId` a user reaches: their own `user` grants, and `group` grants of
   * `idpId` for any of `groups` (at most 100, oldest first). Not cached: the proxy re-checks the
   * chosen grant through `resolve`.
   */
  findForUser(
    appId: string,
    q: { providerId: string; appUserId: string; idpId: string; groups: readonly string[] },
  ): Promise<UserGrantCandidate[]>;
}

/**
 * Creates the grants service.
 *
 * @param deps `db`, `audit`, `secretLookup` (the secrets service's `get`, for existence and provider),
 *   `agentLookup` (the agents service's `assertGrantable`: throws `agent_not_found`), `identity`
 *   (user and group principals; without it they are `principal_not_supported`).
 */
export function createGrantsService(deps: {
  db: Db;
  audit: Pick<AuditService, 'record' | 'recordBestEffort' | 'assertWritable'>;
  secretLookup: (appId: string, secretId: string) => Promise<{ template_id: string | null }>;
  agentLookup?: (appId: string, agentId: string) => Promise<void>;
  /** Ids of the grants delegated to an agent (the delegations service's, wired late). */
  delegatedGrantIds?: (appId: string, agentId: string) => Promise<string[]>;
  identity?: Pick<IdentityService, 'providerRef' | 'verifyUserToken'>;
  /** Per-replica cache of resolved grants, invalidated cluster-wide through `bus`. */
  cache: Cache<{ g: ResolvedGrant | null }>;
  bus: Pick<InvalidationBus, 'publish'>;
  /** Prepared read of a grant by id with its live secret's row, joined in the same read (the proxy's cache-miss path). */
  findById: GrantLookup;
  /** Caches a secret row that came with a grant read (the secrets service's, wired late). */
  primeSecret?: { mark(): number; prime(row: ManagedSecretsTable, mark: number): Promise<void> };
  now?: () => Date;
}): GrantsService {
  const { db, audit } = deps;
  const now = deps.now ?? (() => new Date());
  const { cache, bus } = deps;

  function toGrant(r: GrantsTable, nowIso: string): GrantT {
    return {
      grant_id: r.id,
      grant_kind: r.kind as GrantT['grant_kind'],
      managed_secret_id: r.managed_secret_id,
      provider_id: r.provider_id,
      principal: {
        type: r.principal_type as GrantT['principal']['type'],
        label: r.principal_label,
        agent_id: r.agent_id,
        app_user_id: r.app_user_id,
        external_group_id: r.external_group_id,
        idp_id: r.idp_id,
      },
      label: r.label,
      status: grantStatus(r, nowIso),
      grant_policy: {
        expires_at: r.policy_expires_at,
        max_ttl_seconds: r.max_ttl_seconds,
        default_ttl_seconds: r.default_ttl_seconds,
      },
      created_at: r.created_at,
      expires_at: r.expires_at,
      revoked_at: r.revoked_at,
      revoked_reason: r.revoked_reason,
    };
  }

  /** Whether `viewer` may see `r` (agents: only grants bound to them). */
  function visibleTo(r: GrantsTable, viewer: GrantViewer | undefined): boolean {
    if (!viewer?.agentId) return true;
    return r.principal_type === 'agent' && r.agent_id === viewer.agentId;
  }

  async function revokeOne(appId: string, row: GrantsTable, reason: string | null, actor: Actor): Promise<boolean> {
    const changed = await repo.revokeGrant(db, appId, row.id, now().toISOString(), reason);
    bus.publish('grant', row.id);
    if (changed) {
      await audit.recordBestEffort({
        event: 'grant.revoked',
        appId,
        actor,
        outcome: 'success',
        grantId: row.id,
        grantKind: row.kind,
        managedSecretId: row.managed_secret_id,
        providerId: row.provider_id,
        principalType: row.principal_type,
        appUserId: row.app_user_id,
        reason,
      });
    }
    return changed;
  }

  return {
    async issueForSecret(appId, secretId, input, actor, viewer) {
      audit.assertWritable();
      const p = input.principal;
      let boundAgentId = p.type === 'agent' ? (p.agent_id ?? null) : null;
      if (viewer?.agentId) {
        // Agents issue only to themselves: no other principal, and no agent id of their choosing.
        if (p.type !== 'agent' || p.agent_id !== undefined) {
          throw new LatchkeyError('insufficient_scope', {
            message: "An agent can only issue grants to itself: principal { type: 'agent' } without agent_id.",
            details: { required_scope: 'grants:write', principal_type: p.type },
          });
        }
        boundAgentId = viewer.agentId;
      } else if (boundAgentId && deps.agentLookup) {
        await deps.agentLookup(appId, boundAgentId);
      }
      const secret = await deps.secretLookup(appId, secretId);
      let appUserId: string | null = null;
      let group: { externalGroupId: string; idpId: string } | null = null;
      if (p.type === 'user' || p.type === 'group') {
        const ref = deps.identity ? await deps.identity.providerRef(appId) : null;
        if (!deps.identity || !ref) {
          throw new LatchkeyError('principal_not_supported', { details: { principal_type: p.type } });
        }
        if (p.type === 'user') {
          // The grant binds to the user the token proves (created on first sight).
          appUserId = (await deps.identity.verifyUserToken(appId, p.user_token)).appUserId;
        } else {
          if (p.idp_id !== undefined && p.idp_id !== ref.idpId)
            throw new LatchkeyError('invalid_request', {
              message: "idp_id must name the app's identity provider.",
              details: { field: 'principal.idp_id' },
            });
          group = { externalGroupId: p.external_group_id, idpId: ref.idpId };
        }
      }
      const issuedAt = now();
      const expiresAt = computeExpiry(input.grant_policy, issuedAt);
      const row: GrantsTable = {
        id: randomUUID(),
        app_id: appId,
        kind: 'managed_secret',
        managed_secret_id: secretId,
        provider_id: secret.template_id,
        principal_type: p.type,
        principal_label: p.label ?? null,
        agent_id: boundAgentId,
        label: input.label ?? null,
        policy_expires_at: input.grant_policy?.expires_at
          ? new Date(input.grant_policy.expires_at).toISOString()
          : null,
        max_ttl_seconds: input.grant_policy?.max_ttl_seconds ?? null,
        default_ttl_seconds: input.grant_policy?.default_ttl_seconds ?? null,
        created_at: issuedAt.toISOString(),
        expires_at: expiresAt,
        revoked_at: null,
        revoked_reason: null,
        app_user_id: appUserId,
        external_group_id: group?.externalGroupId ?? null,
        idp_id: group?.idpId ?? null,
      };
      await repo.insertGrant(db, row);
      bus.publish('grant', row.id);
      await audit.record({
        event: 'grant.issued',
        appId,
        actor,
        outcome: 'success',
        grantId: row.id,
        grantKind: row.kind,
        managedSecretId: secretId,
        providerId: row.provider_id,
        principalType: row.principal_type,
        appUserId,
        details: { expires_at: expiresAt, ...(group ? { external_group_id: group.externalGroupId } : {}) },
      });
      return toGrant(row, issuedAt.toISOString());
    },
    async list(appId, q, viewer) {
      const nowIso = now().toISOString();
      const { rows, total } = await repo.listGrants(
        db,
        appId,
        {
          providerId: q.provider_id,
          managedSecretId: q.managed_secret_id,
          kind: q.grant_kind,
          status: q.status,
          agentId: viewer?.agentId ?? undefined,
          delegatedIds:
            viewer?.agentId && deps.delegatedGrantIds ? await deps.delegatedGrantIds(appId, viewer.agentId) : undefined,
          nowIso,
        },
        { limit: q.limit, offset: q.offset },
      );
      return { grants: rows.map((r) => toGrant(r, nowIso)), total };
    },
    async get(appId, grantId, viewer) {
      const row = await repo.findGrant(db, appId, grantId);
      const delegated =
        row && viewer?.agentId && !visibleTo(row, viewer) && deps.delegatedGrantIds
          ? (await deps.delegatedGrantIds(appId, viewer.agentId)).includes(grantId)
          : false;
      if (!row || !(visibleTo(row, viewer) || delegated)) throw new LatchkeyError('grant_not_found');
      return toGrant(row, now().toISOString());
    },
    async revoke(appId, grantId, reason, actor, viewer) {
      const row = await repo.findGrant(db, appId, grantId);
      if (!row || !visibleTo(row, viewer)) throw new LatchkeyError('grant_not_found');
      await revokeOne(appId, row, reason ?? null, actor);
      return toGrant((await repo.findGrant(db, appId, grantId))!, now().toISOString());
    },
    async revokeAllForSecret(appId, secretId, reason, actor) {
      const ids = await repo.liveGrantIdsForSecret(db, appId, secretId);
      let n = 0;
      for (const id of ids) {
        const row = await repo.findGrant(db, appId, id);
        if (row && (await revokeOne(appId, row, reason, actor))) n += 1;
      }
      return n;
    },
    resolve(appId, grantId) {
      const hit = cache.getOrLoad(grantId, async () => {
        // Marked before the read: a revocation of the secret arriving meanwhile keeps its row out.
        const mark = deps.primeSecret?.mark();
        const read = await deps.findById(grantId);
        // Only for the caller's own grant: another app's is refused below without touching its keys.
        if (read?.secret && mark !== undefined && read.grant.app_id === appId) {
          await deps.primeSecret!.prime(read.secret, mark);
        }
        return { g: read ? toResolved(read.grant) : null };
      });
      // Another app's grant is indistinguishable from a missing one (404, never 403).
      return thenMaybe(hit, ({ g }) => (g && g.appId === appId ? g : undefined));
    },
    async findForUser(appId, q) {
      const rows = await repo.findUserGrantCandidates(db, appId, { ...q, nowIso: now().toISOString() });
      return rows.map(({ slug, ...row }) => ({
        grant: toResolved(row),
        account: row.label ?? slug ?? row.id,
      }));
    },
  };
}
