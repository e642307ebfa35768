import { z } from 'zod';
import { Label, PageInfo, Timestamp } from './common.js';
import { Cidr, KeyMeta } from './keys.js';

/**
 * An agent's name: lowercase letters, digits, `_` and `-`, 1–64 characters. Unique among the app's
 * agents that are not revoked, and immutable (DESIGN §2).
 */
export const AgentName = z.string().regex(/^[a-z0-9_-]{1,64}$/, 'lowercase letters, digits, _ and -, at most 64');

/** An agent id, `agt_…`. */
export const AgentId = z.string().regex(/^agt_[A-Za-z0-9]{8,64}$/, 'not an agent id');

/** What an agent is: an autonomous `agent` or a plain `service` workload (informational). */
export const AgentType = z.enum(['agent', 'service']);

/** Agent lifecycle status: `active → paused ⇄ active → revoked` (revoked is final). */
export const AgentStatus = z.enum(['active', 'paused', 'revoked']);

/**
 * A scope an agent's keys may carry. Narrower than app key scopes: an agent calls APIs
 * (`proxy:execute`), reads the provider catalog, and reads, issues (to itself only) and revokes its
 * own grants. It can never hold `*`, `keys:*`, `agents:*`, `secrets:*` or `audit:*`, so an agent key
 * cannot mint keys, create agents, touch stored credentials or read the app's audit trail.
 */
export const AgentScope = z
  .string()
  .regex(
    /^(proxy:execute|providers:read|grants:(read|write|admin)(:[A-Za-z0-9_-]{1,64})?)$/,
    'not a scope an agent may hold (proxy:execute, providers:read, grants:read|write|admin)',
  );

/** An agent's scope allowlist (deduplicated by the server). */
export const AgentScopes = z.array(AgentScope).max(50);

/** Operator metadata: at most 32 entries, keys 1–64 characters, values at most 512 characters. */
export const AgentMetadata = z
  .record(z.string().min(1).max(64), z.string().max(512))
  .refine((v) => Object.keys(v).length <= 32, { message: 'at most 32 metadata entries' });

/** Requests per minute, shared by every replica. */
const Rpm = z.number().int().min(1).max(1_000_000);

/** Per-agent policy at creation: `rate_limit_rpm` is shared by all the agent's keys. */
export const AgentPolicyInput = z.object({ rate_limit_rpm: Rpm.optional() }).strict();

/** Per-agent policy in an update: `rate_limit_rpm: null` removes the limit. */
export const AgentPolicyUpdate = z.object({ rate_limit_rpm: Rpm.nullable().optional() }).strict();

/**
 * Options of one agent key (`lk_agent_…`). Its scopes are always the agent's (read when the key is
 * used, so widening the agent's scopes applies to existing keys).
 */
export const AgentKeyOptions = z
  .object({
    name: Label.optional(),
    /** Client address allow-list (CIDRs); empty or absent = anywhere. */
    cidrs: z.array(Cidr).max(50).optional(),
    /** When the key stops working. */
    expires_at: Timestamp.optional(),
    /** Requests per minute for this key alone (the agent's own limit applies too). */
    rate_limit_rpm: Rpm.optional(),
    /** Refuse `Authorization: Bearer` use: signed requests (RFC 9421) only. */
    signed_only: z.boolean().optional(),
  })
  .strict();

/** Body of `POST /v1/agents`. */
export const CreateAgentBody = z
  .object({
    name: AgentName,
    display_name: Label.optional(),
    type: AgentType.default('agent'),
    metadata: AgentMetadata.optional(),
    scopes: AgentScopes.default(['proxy:execute']),
    policy: AgentPolicyInput.optional(),
    /** Options of the first key. */
    key: AgentKeyOptions.optional(),
  })
  .strict();

/** Body of `PATCH /v1/agents/{agent_id}`. Scopes may only widen (every current scope must stay covered). */
export const UpdateAgentBody = z
  .object({
    display_name: Label.nullable().optional(),
    metadata: AgentMetadata.optional(),
    policy: AgentPolicyUpdate.optional(),
    scopes: AgentScopes.optional(),
  })
  .strict();

/** An agent as returned by the API. `status` is derived from `paused_at` / `revoked_at`. */
export const Agent = z.object({
  id: z.string(),
  name: z.string(),
  display_name: z.string().nullable(),
  type: AgentType,
  status: AgentStatus,
  metadata: z.record(z.string(), z.string()),
  scopes: z.array(z.string()),
  policy: z.object({ rate_limit_rpm: z.number().int().nullable() }),
  created_at: Timestamp,
  updated_at: Timestamp,
  paused_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
});

/**
 * Response of `POST /v1/agents`: the agent, its first key's metadata and the raw key, shown once.
 * A replay of the same `Idempotency-Key` and body answers the stored response with `api_key: null`
 * and `idempotent_replay: true` (the raw key is never stored).
 */
export const CreateAgentResponse = z.object({
  agent: Agent,
  api_key: z.string().nullable(),
  key: KeyMeta,
  idempotent_replay: z.boolean(),
});

/** Query of `GET /v1/agents`. `include_revoked=true` lists revoked agents too. */
export const ListAgentsQuery = z.object({
  include_revoked: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

/** Response of `GET /v1/agents`. */
export const AgentList = z.object({ agents: z.array(Agent), ...PageInfo });

/** Path params naming an agent. */
export const AgentIdParams = z.object({ agent_id: AgentId });

/** Path params naming an agent by name. */
export const AgentNameParams = z.object({ name: AgentName });

/** Path params naming one key of an agent. */
export const AgentKeyParams = z.object({
  agent_id: AgentId,
  key_id: z.string().regex(/^key_[A-Za-z0-9]{8,64}$/, 'not a key id'),
});

/** Body of `POST /v1/agents/{agent_id}/keys`. */
export const MintAgentKeyBody = AgentKeyOptions;

/** Response of `POST /v1/agents/{agent_id}/keys`: the key metadata and the raw key, shown once. */
export const MintAgentKeyResponse = z.object({ key: KeyMeta, api_key: z.string() });

/** Response of `GET /v1/agents/{agent_id}/keys`. */
export const AgentKeyList = z.object({ keys: z.array(KeyMeta), ...PageInfo });

/**
 * Body of `POST /v1/agents/{agent_id}/keys/{key_id}/rotate`: mints a new key and deprecates the old
 * one, which keeps working for `grace_seconds` (default 3600, at most 30 days; 0 ends it now).
 */
export const RotateAgentKeyBody = z
  .object({
    grace_seconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(3600),
    /** Expiry of the new key. */
    expires_at: Timestamp.optional(),
  })
  .strict();

/** Response of the rotate route: the new key (shown once) and the old key, now deprecated. */
export const RotateAgentKeyResponse = z.object({ key: KeyMeta, api_key: z.string(), previous_key: KeyMeta });

/** Body of `POST /v1/agents/{agent_id}/keys/{key_id}/revoke`; `force` is needed for the last active key. */
export const RevokeAgentKeyBody = z.object({ force: z.boolean().default(false) }).strict();

/** Response of `GET /v1/agents/me`: the calling agent and the calling key's metadata. */
export const AgentMe = z.object({ agent: Agent, key: KeyMeta });

/** Header an app key sends to act as one of its agents (needs `agents:write`). */
export const ACT_AS_HEADER = 'latchkey-act-as';

/** Header carrying an idempotency key on create endpoints (DESIGN §11). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
