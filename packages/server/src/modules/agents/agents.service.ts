import { randomBytes } from 'node:crypto';
import { LatchkeyError } from '../../errors.js';
import { thenMaybe, type MaybePromise } from '../../maybe-promise.js';
import type { Cache, InvalidationBus } from '../../coordination/index.js';
import type { AgentsTable, Db } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { IdempotencyRequest, IdempotencyService } from '../idempotency/idempotency.service.js';
import type { Actor, KeysService } from '../keys/keys.service.js';
import { agentStatus, narrowedScopes, normalizeScopes, toAgent, withAgentScopes } from './agents.fns.js';
import * as repo from './agents.repo.js';
import type {
  AgentAuthRecord,
  AgentKeyInput,
  AgentT,
  CreateAgentInput,
  CreateAgentResult,
  KeyMetaT,
  ListAgentsInput,
  RotateAgentKeyInput,
  UpdateAgentInput,
} from './agents.types.js';

/** Agents: operator-provisioned workload identities with their own keys, scopes and limits (DESIGN §2). */
export interface AgentsService {
  /**
   * Creates an agent and its first key (shown once). With an idempotency request, a replay of the same
   * body answers the stored response (`api_key: null`, `idempotent_replay: true`).
   * @throws `agent_name_exists`, `idempotency_key_reused`, `invalid_request`, `audit_unavailable`
   */
  create(
    appId: string,
    input: CreateAgentInput,
    actor: Actor,
    idempotency?: IdempotencyRequest,
  ): Promise<{ statusCode: number; body: CreateAgentResult }>;
  list(appId: string, q: ListAgentsInput): Promise<{ agents: AgentT[]; total: number }>;
  /** @throws `agent_not_found` */
  get(appId: string, agentId: string): Promise<AgentT>;
  /** The agent with this name that is not revoked. @throws `agent_not_found` */
  getByName(appId: string, name: string): Promise<AgentT>;
  /** @throws `agent_not_found`, `agent_revoked`, `agent_scope_narrowing_not_supported`, `audit_unavailable` */
  update(appId: string, agentId: string, input: UpdateAgentInput, actor: Actor): Promise<AgentT>;
  /** Pauses (idempotent): every key but `GET /v1/agents/me` gets `agent_inactive`. @throws `agent_not_found`, `agent_revoked` */
  pause(appId: string, agentId: string, actor: Actor): Promise<AgentT>;
  /** Resumes (idempotent). @throws `agent_not_found`, `agent_revoked`, `audit_unavailable` */
  resume(appId: string, agentId: string, actor: Actor): Promise<AgentT>;
  /** Revokes (final, idempotent) and revokes all its keys. @throws `agent_not_found` */
  revoke(appId: string, agentId: string, actor: Actor): Promise<AgentT>;
  /** @throws `agent_not_found`, `agent_revoked`, `invalid_request`, `audit_unavailable` */
  mintKey(
    appId: string,
    agentId: string,
    input: AgentKeyInput,
    actor: Actor,
  ): Promise<{ key: KeyMetaT; apiKey: string }>;
  /** @throws `agent_not_found` */
  listKeys(
    appId: string,
    agentId: string,
    page: { limit: number; offset: number },
  ): Promise<{ keys: KeyMetaT[]; total: number }>;
  /** @throws `agent_not_found`, `agent_revoked`, `key_not_found`, `key_not_active` */
  deprecateKey(appId: string, agentId: string, keyId: string, actor: Actor): Promise<KeyMetaT>;
  /** @throws `agent_not_found`, `agent_revoked`, `key_not_found`, `key_not_active`, `audit_unavailable` */
  undeprecateKey(appId: string, agentId: string, keyId: string, actor: Actor): Promise<KeyMetaT>;
  /** @throws `agent_not_found`, `agent_revoked`, `key_not_found`, `key_not_active`, `audit_unavailable` */
  rotateKey(
    appId: string,
    agentId: string,
    keyId: string,
    input: RotateAgentKeyInput,
    actor: Actor,
  ): Promise<{ key: KeyMetaT; apiKey: string; previous: KeyMetaT }>;
  /** @throws `agent_not_found`, `key_not_found`, `last_active_key` */
  revokeKey(appId: string, agentId: string, keyId: string, opts: { force: boolean }, actor: Actor): Promise<KeyMetaT>;
  /**
   * The calling agent and the calling key (an agent key, or the app key acting as the agent).
   * @throws `agent_not_found`
   */
  me(caller: { appId: string; agentId: string; keyId: string }): Promise<{ agent: AgentT; key: KeyMetaT }>;
  /**
   * The agent for authentication, or undefined (cached per replica, invalidated cluster-wide). A
   * cache hit is returned as is, a miss as a promise.
   */
  lookupForAuth(agentId: string): MaybePromise<AgentAuthRecord | undefined>;
  /** For grants to an agent principal: the agent exists in the app and is not revoked. @throws `agent_not_found` */
  assertGrantable(appId: string, agentId: string): Promise<void>;
}

/**
 * Creates the agents service.
 *
 * @param deps `db`, `audit`, the keys service (agent keys), `idempotency`, the auth-record `cache`
 *   (kind `agent`) and the invalidation `bus`, `revokeDelegations` (on revocation), optional clock `now`.
 */
export function createAgentsService(deps: {
  db: Db;
  audit: Pick<AuditService, 'record' | 'recordBestEffort' | 'assertWritable'>;
  keys: Pick<
    KeysService,
    | 'prepareAgentKey'
    | 'mintForAgent'
    | 'listForAgent'
    | 'getMeta'
    | 'deprecateAgentKey'
    | 'undeprecateAgentKey'
    | 'rotateAgentKey'
    | 'revokeAgentKey'
    | 'revokeAllForAgent'
  >;
  idempotency: IdempotencyService;
  cache: Cache<{ a: AgentAuthRecord | null }>;
  bus: Pick<InvalidationBus, 'publish'>;
  /** Revokes the agent's delegations when it is revoked (the delegations service's `revokeForAgent`). */
  revokeDelegations?: (appId: string, agentId: string, actor: Actor) => Promise<number>;
  now?: () => Date;
}): AgentsService {
  const { db, audit, keys, idempotency, cache, bus } = deps;
  const now = deps.now ?? (() => new Date());

  async function rowOf(appId: string, agentId: string): Promise<AgentsTable> {
    const row = await repo.findAgent(db, appId, agentId);
    if (!row) throw new LatchkeyError('agent_not_found');
    return row;
  }

  /** The agent, refusing a revoked one: revocation is final. */
  async function liveRowOf(appId: string, agentId: string): Promise<AgentsTable> {
    const row = await rowOf(appId, agentId);
    if (row.revoked_at) throw new LatchkeyError('agent_revoked', { details: { agent_id: agentId } });
    return row;
  }

  const scopesOf = (row: AgentsTable) => JSON.parse(row.scopes) as string[];
  const changed = (id: string) => bus.publish('agent', id);

  async function replay(appId: string, req: IdempotencyRequest | undefined) {
    if (!req) return undefined;
    const prior = await idempotency.find(appId, req);
    return prior ? { statusCode: prior.statusCode, body: prior.body as CreateAgentResult } : undefined;
  }

  /** Applies a lifecycle change to a live agent and records it. */
  async function transition(appId: string, agentId: string, to: 'paused' | 'active', actor: Actor): Promise<AgentT> {
    const row = await liveRowOf(appId, agentId);
    if (to === 'active') audit.assertWritable();
    const ts = now().toISOString();
    const did =
      to === 'paused'
        ? await repo.updateLiveAgent(db, appId, agentId, { paused_at: ts, updated_at: ts }, 'active')
        : await repo.updateLiveAgent(db, appId, agentId, { paused_at: null, updated_at: ts }, 'paused');
    changed(agentId);
    if (did) {
      const input = {
        event: to === 'paused' ? ('agent.paused' as const) : ('agent.resumed' as const),
        appId,
        actor,
        outcome: 'success' as const,
        details: { agent_id: agentId, name: row.name },
      };
      // A pause only restricts and must take effect even while the audit store is down.
      if (to === 'paused') await audit.recordBestEffort(input);
      else await audit.record(input);
    }
    return toAgent(await rowOf(appId, agentId));
  }

  return {
    async create(appId, input, actor, idem) {
      audit.assertWritable();
      const prior = await replay(appId, idem);
      if (prior) return prior;
      /** A live agent has the name: the stored answer if a duplicate request just won, else 409. */
      const nameTaken = async () => {
        const raced = await replay(appId, idem);
        if (raced) return raced;
        throw new LatchkeyError('agent_name_exists', { details: { name: input.name } });
      };
      if (await repo.findLiveAgentByName(db, appId, input.name)) return nameTaken();
      const id = `agt_${randomBytes(12).toString('hex')}`;
      const scopes = normalizeScopes(input.scopes);
      const prepared = await keys.prepareAgentKey(appId, id, input.key ?? {}, scopes);
      const ts = now().toISOString();
      const row: AgentsTable = {
        id,
        app_id: appId,
        name: input.name,
        display_name: input.display_name ?? null,
        type: input.type,
        metadata: JSON.stringify(input.metadata ?? {}),
        scopes: JSON.stringify(scopes),
        rate_limit_rpm: input.policy?.rate_limit_rpm ?? null,
        created_at: ts,
        updated_at: ts,
        paused_at: null,
        revoked_at: null,
      };
      const body: CreateAgentResult = {
        agent: toAgent(row),
        api_key: prepared.apiKey,
        key: withAgentScopes(prepared.key, scopes),
        idempotent_replay: false,
      };
      try {
        await db.transaction().execute(async (tx) => {
          await repo.insertAgent(tx, row);
          await prepared.insert(tx);
          // The raw key is shown once: the stored answer never holds it.
          if (idem)
            await idempotency.save(tx, appId, idem, {
              statusCode: 201,
              body: { ...body, api_key: null, idempotent_replay: true },
            });
        });
      } catch (err) {
        // A concurrent request with the same key (primary key) or name (partial unique index) won.
        const raced = await replay(appId, idem);
        if (raced) return raced;
        if (await repo.findLiveAgentByName(db, appId, input.name)) return nameTaken();
        throw err;
      }
      changed(id);
      await audit.record({
        event: 'agent.created',
        appId,
        actor,
        outcome: 'success',
        details: { agent_id: id, name: row.name, scopes: scopes.join(' ') },
      });
      await prepared.committed(actor);
      return { statusCode: 201, body };
    },
    async list(appId, q) {
      const { rows, total } = await repo.listAgents(
        db,
        appId,
        { includeRevoked: q.include_revoked === 'true' },
        { limit: q.limit, offset: q.offset },
      );
      return { agents: rows.map(toAgent), total };
    },
    async get(appId, agentId) {
      return toAgent(await rowOf(appId, agentId));
    },
    async getByName(appId, name) {
      const row = await repo.findLiveAgentByName(db, appId, name);
      if (!row) throw new LatchkeyError('agent_not_found');
      return toAgent(row);
    },
    async update(appId, agentId, input, actor) {
      const row = await liveRowOf(appId, agentId);
      const set: Parameters<typeof repo.updateLiveAgent>[3] = {};
      const fields: string[] = [];
      if (input.scopes !== undefined) {
        const next = normalizeScopes(input.scopes);
        const lost = narrowedScopes(scopesOf(row), next);
        if (lost.length > 0) {
          throw new LatchkeyError('agent_scope_narrowing_not_supported', { details: { missing_scopes: lost } });
        }
        set.scopes = JSON.stringify(next);
        fields.push('scopes');
      }
      if (input.display_name !== undefined) {
        set.display_name = input.display_name;
        fields.push('display_name');
      }
      if (input.metadata !== undefined) {
        set.metadata = JSON.stringify(input.metadata);
        fields.push('metadata');
      }
      if (input.policy?.rate_limit_rpm !== undefined) {
        set.rate_limit_rpm = input.policy.rate_limit_rpm;
        fields.push('policy');
      }
      if (fields.length === 0) return toAgent(row);
      audit.assertWritable();
      set.updated_at = now().toISOString();
      if (!(await repo.updateLiveAgent(db, appId, agentId, set))) {
        throw new LatchkeyError('agent_revoked', { details: { agent_id: agentId } });
      }
      changed(agentId);
      await audit.record({
        event: 'agent.updated',
        appId,
        actor,
        outcome: 'success',
        details: {
          agent_id: agentId,
          fields: fields.join(' '),
          ...(set.scopes ? { scopes: (JSON.parse(set.scopes) as string[]).join(' ') } : {}),
        },
      });
      return toAgent(await rowOf(appId, agentId));
    },
    pause: (appId, agentId, actor) => transition(appId, agentId, 'paused', actor),
    resume: (appId, agentId, actor) => transition(appId, agentId, 'active', actor),
    async revoke(appId, agentId, actor) {
      const row = await rowOf(appId, agentId);
      if (!row.revoked_at) {
        const ts = now().toISOString();
        const did = await repo.updateLiveAgent(db, appId, agentId, { revoked_at: ts, updated_at: ts });
        // Refuse the agent everywhere first; its keys follow.
        changed(agentId);
        const keysRevoked = await keys.revokeAllForAgent(appId, agentId, actor);
        await deps.revokeDelegations?.(appId, agentId, actor);
        if (did) {
          await audit.recordBestEffort({
            event: 'agent.revoked',
            appId,
            actor,
            outcome: 'success',
            details: { agent_id: agentId, name: row.name, keys_revoked: keysRevoked },
          });
        }
      }
      return toAgent(await rowOf(appId, agentId));
    },
    async mintKey(appId, agentId, input, actor) {
      const row = await liveRowOf(appId, agentId);
      const minted = await keys.mintForAgent(appId, agentId, input, scopesOf(row), actor);
      return { key: withAgentScopes(minted.key, scopesOf(row)), apiKey: minted.apiKey };
    },
    async listKeys(appId, agentId, page) {
      const row = await rowOf(appId, agentId);
      const { keys: items, total } = await keys.listForAgent(appId, agentId, page);
      return { keys: items.map((k) => withAgentScopes(k, scopesOf(row))), total };
    },
    async deprecateKey(appId, agentId, keyId, actor) {
      const row = await liveRowOf(appId, agentId);
      return withAgentScopes(await keys.deprecateAgentKey(appId, agentId, keyId, actor), scopesOf(row));
    },
    async undeprecateKey(appId, agentId, keyId, actor) {
      const row = await liveRowOf(appId, agentId);
      return withAgentScopes(await keys.undeprecateAgentKey(appId, agentId, keyId, actor), scopesOf(row));
    },
    async rotateKey(appId, agentId, keyId, input, actor) {
      const row = await liveRowOf(appId, agentId);
      const scopes = scopesOf(row);
      const r = await keys.rotateAgentKey(
        appId,
        agentId,
        keyId,
        { graceSeconds: input.grace_seconds, expiresAt: input.expires_at },
        scopes,
        actor,
      );
      return {
        key: withAgentScopes(r.key, scopes),
        apiKey: r.apiKey,
        previous: withAgentScopes(r.previous, scopes),
      };
    },
    async revokeKey(appId, agentId, keyId, opts, actor) {
      const row = await rowOf(appId, agentId);
      return withAgentScopes(await keys.revokeAgentKey(appId, agentId, keyId, opts, actor), scopesOf(row));
    },
    async me(caller) {
      const row = await rowOf(caller.appId, caller.agentId);
      const key = await keys.getMeta(caller.appId, caller.keyId);
      if (!key) throw new LatchkeyError('key_not_found');
      return { agent: toAgent(row), key: key.kind === 'agent' ? withAgentScopes(key, scopesOf(row)) : key };
    },
    lookupForAuth(agentId) {
      const hit = cache.getOrLoad(agentId, async () => {
        const row = await repo.findAgentById(db, agentId);
        return {
          a: row
            ? Object.freeze({
                id: row.id,
                appId: row.app_id,
                status: agentStatus(row),
                scopes: Object.freeze(scopesOf(row)),
                rateLimitRpm: row.rate_limit_rpm,
              })
            : null,
        };
      });
      return thenMaybe(hit, ({ a }) => a ?? undefined);
    },
    async assertGrantable(appId, agentId) {
      const row = await repo.findAgent(db, appId, agentId);
      if (!row || row.revoked_at) throw new LatchkeyError('agent_not_found', { details: { agent_id: agentId } });
    },
  };
}
