import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { CreateGrantBody, Grant, ListGrantsQuery } from '@latchkey/api';
import { LatchkeyError } from '../../errors.js';
import type { Cache, InvalidationBus } from '../../coordination/index.js';
import type { Db, GrantsTable } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../keys/keys.service.js';
import { computeExpiry, grantStatus } from './grants.fns.js';
import * as repo from './grants.repo.js';

type GrantT = z.infer<typeof Grant>;

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
}

/** Grants: credential × principal × policy (DESIGN §2). */
export interface GrantsService {
  /** @throws `managed_secret_not_found`, `principal_not_supported`, `invalid_request` */
  issueForSecret(
    appId: string,
    secretId: string,
    input: z.infer<typeof CreateGrantBody>,
    actor: Actor,
  ): Promise<GrantT>;
  list(appId: string, q: z.infer<typeof ListGrantsQuery>): Promise<{ grants: GrantT[]; total: number }>;
  /** @throws `grant_not_found` */
  get(appId: string, grantId: string): Promise<GrantT>;
  /** Revokes a grant (idempotent). @throws `grant_not_found` */
  revoke(appId: string, grantId: string, reason: string | undefined, actor: Actor): Promise<GrantT>;
  /** Revokes every live grant on a secret; returns how many. */
  revokeAllForSecret(appId: string, secretId: string, reason: string, actor: Actor): Promise<number>;
  /** The grant for the proxy, or undefined if it does not exist in this app. */
  resolve(appId: string, grantId: string): Promise<ResolvedGrant | undefined>;
}

/**
 * Creates the grants service.
 *
 * @param deps `db`, `audit`, `secretLookup` (the secrets service's `get`, for existence and provider).
 */
export function createGrantsService(deps: {
  db: Db;
  audit: Pick<AuditService, 'record' | 'recordBestEffort' | 'assertWritable'>;
  secretLookup: (appId: string, secretId: string) => Promise<{ template_id: string | null }>;
  /** Per-replica cache of resolved grants, invalidated cluster-wide through `bus`. */
  cache: Cache<{ g: ResolvedGrant | null }>;
  bus: Pick<InvalidationBus, 'publish'>;
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
        reason,
      });
    }
    return changed;
  }

  return {
    async issueForSecret(appId, secretId, input, actor) {
      audit.assertWritable();
      const secret = await deps.secretLookup(appId, secretId);
      const p = input.principal;
      if (p.type === 'user' || p.type === 'group') {
        throw new LatchkeyError('principal_not_supported', { details: { principal_type: p.type } });
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
        agent_id: p.type === 'agent' ? (p.agent_id ?? null) : null,
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
        details: { expires_at: expiresAt },
      });
      return toGrant(row, issuedAt.toISOString());
    },
    async list(appId, q) {
      const nowIso = now().toISOString();
      const { rows, total } = await repo.listGrants(
        db,
        appId,
        {
          providerId: q.provider_id,
          managedSecretId: q.managed_secret_id,
          kind: q.grant_kind,
          status: q.status,
          nowIso,
        },
        { limit: q.limit, offset: q.offset },
      );
      return { grants: rows.map((r) => toGrant(r, nowIso)), total };
    },
    async get(appId, grantId) {
      const row = await repo.findGrant(db, appId, grantId);
      if (!row) throw new LatchkeyError('grant_not_found');
      return toGrant(row, now().toISOString());
    },
    async revoke(appId, grantId, reason, actor) {
      const row = await repo.findGrant(db, appId, grantId);
      if (!row) throw new LatchkeyError('grant_not_found');
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
    async resolve(appId, grantId) {
      const { g } = await cache.getOrLoad(grantId, async () => {
        const row = await db.selectFrom('grants').selectAll().where('id', '=', grantId).executeTakeFirst();
        return {
          g: row
            ? Object.freeze({
                id: row.id,
                appId: row.app_id,
                kind: row.kind as ResolvedGrant['kind'],
                managedSecretId: row.managed_secret_id,
                providerId: row.provider_id,
                principalType: row.principal_type,
                agentId: row.agent_id,
                expiresAt: row.expires_at,
                revokedAt: row.revoked_at,
              })
            : null,
        };
      });
      // Another app's grant is indistinguishable from a missing one (404, never 403).
      return g && g.appId === appId ? g : undefined;
    },
  };
}
