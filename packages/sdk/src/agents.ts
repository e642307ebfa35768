/**
 * Agents (DESIGN §2, §5): named workload identities with their own keys (`lk_agent_…`), scopes,
 * rate limit and lifecycle (`active → paused ⇄ active → revoked`). `app.agents` manages them with an
 * app key holding `agents:read` / `agents:write`; the agent itself runs with the `Agent` client.
 */
import { LatchkeyValueError } from './errors.js';
import { toKeyMeta, type KeyMeta, type MintKeyResult, type WireKeyMeta } from './keys.js';
import type { Transport } from './transport.js';
import {
  assertHeaderValue,
  assertOptionalInt,
  assertOptionalString,
  assertString,
  isObject,
  isPlainObject,
  toIsoTimestamp,
} from './validate.js';
import { deepFreeze, seg, toDate, toDateOrNull, toPage, type Page, type WirePage } from './wire.js';

/** What an agent is: an autonomous `agent` or a plain `service` workload (informational). */
export type AgentType = 'agent' | 'service';

/** Lifecycle status; `revoked` is final. */
export type AgentStatus = 'active' | 'paused' | 'revoked';

/** An agent as stored by Latchkey. Frozen. Timestamps are `Date`s. */
export interface AgentInfo {
  /** `agt_…`. */
  readonly id: string;
  /** Lowercase `[a-z0-9_-]{1,64}`; unique among the app's live agents; immutable. */
  readonly name: string;
  readonly displayName: string | null;
  readonly type: AgentType;
  readonly status: AgentStatus;
  readonly metadata: Readonly<Record<string, string>>;
  /** The scopes every key of the agent carries (e.g. `proxy:execute`, `grants:read`). */
  readonly scopes: readonly string[];
  readonly policy: {
    /** Requests per minute shared by all the agent's keys; `null` = unlimited. */
    readonly rateLimitRpm: number | null;
  };
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly pausedAt: Date | null;
  readonly revokedAt: Date | null;
}

/** Options of one agent key. Its scopes are always the agent's. */
export interface AgentKeyOptions {
  /** Human label (≤ 200 chars). */
  readonly name?: string;
  /** Client address allow-list, e.g. `['10.0.0.0/8']`. */
  readonly cidrs?: readonly string[];
  /** When the key stops working. */
  readonly expiresAt?: Date | string;
  /** Requests per minute for this key alone (the agent's own limit applies too). */
  readonly rateLimitRpm?: number;
  /** Refuse `Authorization: Bearer` use of the key: signed requests only. */
  readonly signedOnly?: boolean;
}

/** Options of `app.agents.create()`. */
export interface CreateAgentOptions {
  /** Lowercase `[a-z0-9_-]{1,64}`, unique among the app's live agents, immutable. */
  readonly name: string;
  readonly displayName?: string;
  /** Default `'agent'`. */
  readonly type?: AgentType;
  /** At most 32 entries; keys 1–64 chars, values ≤ 512 chars. */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Scope allowlist of the agent's keys (default `['proxy:execute']`): `proxy:execute`,
   * `providers:read`, `grants:read|write|admin`. Scopes can later only widen.
   */
  readonly scopes?: readonly string[];
  readonly policy?: { readonly rateLimitRpm?: number };
  /** Options of the first key. */
  readonly key?: AgentKeyOptions;
  /**
   * Sent as `Idempotency-Key` (1–255 visible ASCII chars): retrying with the same key and options
   * returns the stored answer (`apiKey: null`, `idempotentReplay: true`) instead of a second agent.
   */
  readonly idempotencyKey?: string;
}

/** Result of `app.agents.create()`. Frozen. */
export interface CreateAgentResult {
  readonly agent: AgentInfo;
  /**
   * The first key, `lk_agent_…`, shown exactly once: store it now. `null` on an idempotent replay
   * (the raw key is never stored).
   */
  readonly apiKey: string | null;
  readonly key: KeyMeta;
  /** Whether this answer is the stored one of an earlier request with the same `idempotencyKey`. */
  readonly idempotentReplay: boolean;
}

/** Options of `app.agents.update()`. Every field is optional; scopes may only widen. */
export interface UpdateAgentOptions {
  /** `null` clears it. */
  readonly displayName?: string | null;
  /** Replaces the whole map. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** `rateLimitRpm: null` removes the limit. */
  readonly policy?: { readonly rateLimitRpm?: number | null };
  /** Every current scope must stay covered, else `AgentScopeNarrowingError`. */
  readonly scopes?: readonly string[];
}

/** Options of `app.agents.list()`. */
export interface ListAgentsOptions {
  /** List revoked agents too (default `false`). */
  readonly includeRevoked?: boolean;
  /** Page size, 1–500 (default 100). */
  readonly limit?: number;
  /** Items to skip (default 0). */
  readonly offset?: number;
}

/** A page of agents. Frozen. */
export interface AgentList extends Page {
  readonly agents: readonly AgentInfo[];
}

/** A page of an agent's keys. Frozen. */
export interface AgentKeyList extends Page {
  readonly keys: readonly KeyMeta[];
}

/** Options of `app.agents.rotateKey()`. */
export interface RotateAgentKeyOptions {
  /** How long the old key keeps working, in seconds (default 3600, at most 30 days; 0 ends it now). */
  readonly graceSeconds?: number;
  /** Expiry of the new key. */
  readonly expiresAt?: Date | string;
}

/** Result of `app.agents.rotateKey()`. Frozen. */
export interface RotateAgentKeyResult {
  /** The new key's metadata. */
  readonly key: KeyMeta;
  /** The new key, `lk_agent_…`, shown exactly once. */
  readonly apiKey: string;
  /** The old key, now `deprecated`, expiring after the grace period. */
  readonly previousKey: KeyMeta;
}

/** Result of `agent.me()`. Frozen. */
export interface AgentMe {
  readonly agent: AgentInfo;
  /** The calling key: the agent's own, or the app key acting as the agent. */
  readonly key: KeyMeta;
}

/** Wire form of an agent key's options. */
export interface WireAgentKeyOptions {
  name?: string;
  cidrs?: string[];
  expires_at?: string;
  rate_limit_rpm?: number;
  signed_only?: boolean;
}

/** Wire body of `POST /v1/agents`. */
export interface WireCreateAgentBody {
  name: string;
  display_name?: string;
  type?: AgentType;
  metadata?: Record<string, string>;
  scopes?: string[];
  policy?: { rate_limit_rpm?: number };
  key?: WireAgentKeyOptions;
}

/** Wire body of `PATCH /v1/agents/{agent_id}`. */
export interface WireUpdateAgentBody {
  display_name?: string | null;
  metadata?: Record<string, string>;
  policy?: { rate_limit_rpm?: number | null };
  scopes?: string[];
}

/** Wire form of an agent. */
export interface WireAgent {
  id: string;
  name: string;
  display_name: string | null;
  type: AgentType;
  status: AgentStatus;
  metadata: Record<string, string>;
  scopes: string[];
  policy: { rate_limit_rpm: number | null };
  created_at: string;
  updated_at: string;
  paused_at: string | null;
  revoked_at: string | null;
}

/** Wire answer of `POST /v1/agents`. */
export interface WireCreateAgentResponse {
  agent: WireAgent;
  api_key: string | null;
  key: WireKeyMeta;
  idempotent_replay: boolean;
}

/** Wire answer of `GET /v1/agents`. */
export interface WireAgentList extends WirePage {
  agents: WireAgent[];
}

/** Wire body of the rotate route. */
export interface WireRotateAgentKeyBody {
  grace_seconds?: number;
  expires_at?: string;
}

/** Wire answer of the rotate route. */
export interface WireRotateAgentKeyResponse {
  key: WireKeyMeta;
  api_key: string;
  previous_key: WireKeyMeta;
}

/** Wire answer of `GET /v1/agents/me`. */
export interface WireAgentMe {
  agent: WireAgent;
  key: WireKeyMeta;
}

const AGENT_ID = /^agt_[A-Za-z0-9]{8,64}$/;
const AGENT_NAME = /^[a-z0-9_-]{1,64}$/;
const KEY_ID = /^key_[A-Za-z0-9]{8,64}$/;
const RPM_MAX = 1_000_000;

/** Whether `v` looks like an agent id (`agt_…`) rather than a name. */
export function isAgentId(v: string): boolean {
  return AGENT_ID.test(v);
}

/** @throws {LatchkeyValueError} Unless `v` is an agent id. */
export function assertAgentId(v: unknown, name = 'agentId'): asserts v is string {
  if (typeof v !== 'string' || !AGENT_ID.test(v)) throw new LatchkeyValueError(`${name} must be an agent id (agt_…).`);
}

function assertAgentName(v: unknown): asserts v is string {
  if (typeof v !== 'string' || !AGENT_NAME.test(v)) {
    throw new LatchkeyValueError('name must be 1 to 64 lowercase letters, digits, _ or -.');
  }
}

function assertKeyId(v: unknown): asserts v is string {
  if (typeof v !== 'string' || !KEY_ID.test(v)) throw new LatchkeyValueError('keyId must be a key id (key_…).');
}

function stringList(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw new LatchkeyValueError(`${name} must be an array of strings.`);
  }
  return [...(v as string[])];
}

function stringMap(v: unknown, name: string): Record<string, string> {
  if (!isPlainObject(v) || !Object.values(v).every((x) => typeof x === 'string')) {
    throw new LatchkeyValueError(`${name} must be an object of string values.`);
  }
  return { ...(v as Record<string, string>) };
}

/** Maps agent key options to the wire. @throws {LatchkeyValueError} On bad arguments. */
export function toWireAgentKeyOptions(o: AgentKeyOptions): WireAgentKeyOptions {
  if (!isObject(o)) throw new LatchkeyValueError('key options must be an object.');
  assertOptionalString(o.name, 'name', 200);
  assertOptionalInt(o.rateLimitRpm, 'rateLimitRpm', 1, RPM_MAX);
  const w: WireAgentKeyOptions = {};
  if (o.name !== undefined) w.name = o.name;
  if (o.cidrs !== undefined) w.cidrs = stringList(o.cidrs, 'cidrs');
  if (o.expiresAt !== undefined) w.expires_at = toIsoTimestamp(o.expiresAt, 'expiresAt');
  if (o.rateLimitRpm !== undefined) w.rate_limit_rpm = o.rateLimitRpm;
  if (o.signedOnly !== undefined) {
    if (typeof o.signedOnly !== 'boolean') throw new LatchkeyValueError('signedOnly must be a boolean.');
    w.signed_only = o.signedOnly;
  }
  return w;
}

/** Maps create options to the wire body. @throws {LatchkeyValueError} On bad arguments. */
export function toWireCreateAgent(o: CreateAgentOptions): WireCreateAgentBody {
  if (!isObject(o)) throw new LatchkeyValueError('options must be an object with a name.');
  assertAgentName(o.name);
  assertOptionalString(o.displayName, 'displayName', 200);
  const w: WireCreateAgentBody = { name: o.name };
  if (o.displayName !== undefined) w.display_name = o.displayName;
  if (o.type !== undefined) {
    if (o.type !== 'agent' && o.type !== 'service') throw new LatchkeyValueError("type must be 'agent' or 'service'.");
    w.type = o.type;
  }
  if (o.metadata !== undefined) w.metadata = stringMap(o.metadata, 'metadata');
  if (o.scopes !== undefined) w.scopes = stringList(o.scopes, 'scopes');
  if (o.policy !== undefined) {
    if (!isObject(o.policy)) throw new LatchkeyValueError('policy must be an object.');
    assertOptionalInt(o.policy.rateLimitRpm, 'policy.rateLimitRpm', 1, RPM_MAX);
    w.policy = o.policy.rateLimitRpm === undefined ? {} : { rate_limit_rpm: o.policy.rateLimitRpm };
  }
  if (o.key !== undefined) w.key = toWireAgentKeyOptions(o.key);
  return w;
}

/** Maps update options to the wire body. @throws {LatchkeyValueError} On bad arguments. */
export function toWireUpdateAgent(o: UpdateAgentOptions): WireUpdateAgentBody {
  if (!isObject(o)) throw new LatchkeyValueError('options must be an object.');
  const w: WireUpdateAgentBody = {};
  if (o.displayName !== undefined) {
    if (o.displayName !== null) assertString(o.displayName, 'displayName', 200);
    w.display_name = o.displayName;
  }
  if (o.metadata !== undefined) w.metadata = stringMap(o.metadata, 'metadata');
  if (o.scopes !== undefined) w.scopes = stringList(o.scopes, 'scopes');
  if (o.policy !== undefined) {
    if (!isObject(o.policy)) throw new LatchkeyValueError('policy must be an object.');
    const rpm = o.policy.rateLimitRpm;
    if (rpm !== undefined && rpm !== null) assertOptionalInt(rpm, 'policy.rateLimitRpm', 1, RPM_MAX);
    w.policy = rpm === undefined ? {} : { rate_limit_rpm: rpm };
  }
  return w;
}

/** Maps a wire agent to a frozen {@link AgentInfo}. */
export function toAgentInfo(w: WireAgent): AgentInfo {
  return deepFreeze({
    id: w.id,
    name: w.name,
    displayName: w.display_name,
    type: w.type,
    status: w.status,
    metadata: { ...w.metadata },
    scopes: [...w.scopes],
    policy: { rateLimitRpm: w.policy.rate_limit_rpm },
    createdAt: toDate(w.created_at),
    updatedAt: toDate(w.updated_at),
    pausedAt: toDateOrNull(w.paused_at),
    revokedAt: toDateOrNull(w.revoked_at),
  });
}

/** Maps the wire answer of `GET /v1/agents/me`. */
export function toAgentMe(w: WireAgentMe): AgentMe {
  return Object.freeze({ agent: toAgentInfo(w.agent), key: toKeyMeta(w.key) });
}

/**
 * `app.agents`: create and manage the app's agents and their keys. Needs an app key with
 * `agents:read` (list, get) or `agents:write` (everything else); agent keys are always refused.
 */
export class AgentsClient {
  readonly #t: Transport;

  /** @internal Obtain through `app.agents`. */
  constructor(transport: Transport) {
    this.#t = transport;
  }

  /**
   * Creates an agent and its first key. The raw key is in the result once and never again.
   *
   * @param options `{ name, displayName?, type? ('agent' | 'service'), metadata?, scopes? =
   *   ['proxy:execute'], policy?: { rateLimitRpm? }, key?: { name?, cidrs?, expiresAt?, rateLimitRpm?,
   *   signedOnly? }, idempotencyKey? }`.
   * @returns `{ agent, apiKey, key, idempotentReplay }` (frozen).
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {AgentNameExistsError} `agent_name_exists`. {@link ConflictError} `idempotency_key_reused`.
   * @throws {InsufficientScopeError} Without `agents:write`, or with an agent key.
   * @example
   * const { agent, apiKey } = await app.agents.create({
   *   name: 'research-bot', scopes: ['proxy:execute', 'grants:read'], policy: { rateLimitRpm: 600 },
   *   idempotencyKey: 'create-research-bot-1',
   * })
   */
  async create(options: CreateAgentOptions): Promise<CreateAgentResult> {
    const body = toWireCreateAgent(options);
    const headers: Record<string, string> = {};
    if (options.idempotencyKey !== undefined) {
      assertString(options.idempotencyKey, 'idempotencyKey', 255);
      assertHeaderValue(options.idempotencyKey, 'idempotencyKey');
      headers['idempotency-key'] = options.idempotencyKey;
    }
    return this.#t.json('POST', '/v1/agents', { body, headers }, (w: WireCreateAgentResponse) =>
      Object.freeze({
        agent: toAgentInfo(w.agent),
        apiKey: w.api_key,
        key: toKeyMeta(w.key),
        idempotentReplay: w.idempotent_replay,
      }),
    );
  }

  /**
   * Lists the app's agents, newest first.
   *
   * @param options `{ includeRevoked? = false, limit = 100 (1–500), offset = 0 }`.
   * @returns A frozen page `{ agents, total, limit, offset, hasMore }`.
   * @throws {InsufficientScopeError} Without `agents:read`.
   * @example const { agents } = await app.agents.list({ includeRevoked: true })
   */
  async list(options: ListAgentsOptions = {}): Promise<AgentList> {
    if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
    assertOptionalInt(options.limit, 'limit', 1, 500);
    assertOptionalInt(options.offset, 'offset', 0, 1_000_000_000);
    if (options.includeRevoked !== undefined && typeof options.includeRevoked !== 'boolean') {
      throw new LatchkeyValueError('includeRevoked must be a boolean.');
    }
    return this.#t.json(
      'GET',
      '/v1/agents',
      {
        query: {
          include_revoked: options.includeRevoked === undefined ? undefined : String(options.includeRevoked),
          limit: options.limit ?? 100,
          offset: options.offset ?? 0,
        },
      },
      (w: WireAgentList) => Object.freeze({ agents: Object.freeze(w.agents.map(toAgentInfo)), ...toPage(w) }),
    );
  }

  /**
   * Reads one agent (revoked ones too).
   *
   * @param agentId `agt_…`.
   * @throws {AgentNotFoundError} `agent_not_found`.
   * @example const a = await app.agents.get('agt_0123456789abcdef01234567')
   */
  async get(agentId: string): Promise<AgentInfo> {
    assertAgentId(agentId);
    return this.#t.json('GET', `/v1/agents/${seg(agentId)}`, {}, toAgentInfo);
  }

  /**
   * Reads the app's live (not revoked) agent with this name.
   *
   * @param name The agent's name.
   * @throws {AgentNotFoundError} `agent_not_found`.
   * @example const a = await app.agents.getByName('research-bot')
   */
  async getByName(name: string): Promise<AgentInfo> {
    assertAgentName(name);
    return this.#t.json('GET', `/v1/agents/by-name/${seg(name)}`, {}, toAgentInfo);
  }

  /**
   * Updates an agent's display name, metadata, rate limit or scopes. Scopes may only widen, and the
   * new scopes apply to the agent's existing keys at once.
   *
   * @param agentId `agt_…`.
   * @param options `{ displayName?, metadata?, policy?: { rateLimitRpm? }, scopes? }`.
   * @throws {AgentScopeNarrowingError} `agent_scope_narrowing_not_supported`.
   * @throws {AgentNotFoundError | AgentRevokedError} Missing or revoked agent.
   * @example await app.agents.update(id, { scopes: ['proxy:execute', 'grants:write'] })
   */
  async update(agentId: string, options: UpdateAgentOptions): Promise<AgentInfo> {
    assertAgentId(agentId);
    const body = toWireUpdateAgent(options);
    return this.#t.json('PATCH', `/v1/agents/${seg(agentId)}`, { body }, toAgentInfo);
  }

  /**
   * Pauses an agent: every call with its keys but `agent.me()` gets `AgentInactiveError`, on every
   * replica within a second. Idempotent.
   *
   * @throws {AgentNotFoundError | AgentRevokedError} Missing or revoked agent.
   * @example await app.agents.pause(id)
   */
  async pause(agentId: string): Promise<AgentInfo> {
    assertAgentId(agentId);
    return this.#t.json('POST', `/v1/agents/${seg(agentId)}/pause`, {}, toAgentInfo);
  }

  /**
   * Resumes a paused agent. Idempotent.
   *
   * @throws {AgentNotFoundError | AgentRevokedError} Missing or revoked agent.
   * @example await app.agents.resume(id)
   */
  async resume(agentId: string): Promise<AgentInfo> {
    assertAgentId(agentId);
    return this.#t.json('POST', `/v1/agents/${seg(agentId)}/resume`, {}, toAgentInfo);
  }

  /**
   * Revokes an agent (final) and all its keys; its name becomes free again. Idempotent.
   *
   * @throws {AgentNotFoundError} `agent_not_found`.
   * @example await app.agents.delete(id)
   */
  async delete(agentId: string): Promise<AgentInfo> {
    assertAgentId(agentId);
    return this.#t.json('POST', `/v1/agents/${seg(agentId)}/revoke`, {}, toAgentInfo);
  }

  /**
   * Mints another key for the agent (`lk_agent_…`), shown once.
   *
   * @param options `{ name?, cidrs?, expiresAt?, rateLimitRpm?, signedOnly? }`.
   * @throws {AgentNotFoundError | AgentRevokedError} Missing or revoked agent.
   * @example const { apiKey } = await app.agents.mintKey(id, { cidrs: ['10.0.0.0/8'] })
   */
  async mintKey(agentId: string, options: AgentKeyOptions = {}): Promise<MintKeyResult> {
    assertAgentId(agentId);
    const body = toWireAgentKeyOptions(options);
    return this.#t.json(
      'POST',
      `/v1/agents/${seg(agentId)}/keys`,
      { body },
      (w: { key: WireKeyMeta; api_key: string }) => Object.freeze({ key: toKeyMeta(w.key), apiKey: w.api_key }),
    );
  }

  /**
   * Lists the agent's keys (metadata only, every status).
   *
   * @param options `{ limit = 100 (1–500), offset = 0 }`.
   * @throws {AgentNotFoundError} `agent_not_found`.
   * @example const { keys } = await app.agents.listKeys(id)
   */
  async listKeys(
    agentId: string,
    options: { readonly limit?: number; readonly offset?: number } = {},
  ): Promise<AgentKeyList> {
    assertAgentId(agentId);
    if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
    assertOptionalInt(options.limit, 'limit', 1, 500);
    assertOptionalInt(options.offset, 'offset', 0, 1_000_000_000);
    return this.#t.json(
      'GET',
      `/v1/agents/${seg(agentId)}/keys`,
      { query: { limit: options.limit ?? 100, offset: options.offset ?? 0 } },
      (w: WirePage & { keys: WireKeyMeta[] }) =>
        Object.freeze({ keys: Object.freeze(w.keys.map(toKeyMeta)), ...toPage(w) }),
    );
  }

  /**
   * Deprecates a key: it keeps working, and every response to it carries
   * `latchkey-key-deprecated: true` (the SDK logs a warning once).
   *
   * @throws {NotFoundError} `key_not_found`. {@link ConflictError} `key_not_active` (revoked or expired).
   * @example await app.agents.deprecateKey(id, keyId)
   */
  async deprecateKey(agentId: string, keyId: string): Promise<KeyMeta> {
    assertAgentId(agentId);
    assertKeyId(keyId);
    return this.#t.json('POST', `/v1/agents/${seg(agentId)}/keys/${seg(keyId)}/deprecate`, {}, toKeyMeta);
  }

  /**
   * Makes a deprecated key active again (an expiry set by a rotation stays).
   *
   * @throws {NotFoundError} `key_not_found`. {@link ConflictError} `key_not_active`.
   * @example await app.agents.undeprecateKey(id, keyId)
   */
  async undeprecateKey(agentId: string, keyId: string): Promise<KeyMeta> {
    assertAgentId(agentId);
    assertKeyId(keyId);
    return this.#t.json('POST', `/v1/agents/${seg(agentId)}/keys/${seg(keyId)}/undeprecate`, {}, toKeyMeta);
  }

  /**
   * Rotates a key: mints a new one (same name, CIDRs, RPM, `signedOnly`) and deprecates the old one,
   * which keeps working for `graceSeconds`.
   *
   * @param options `{ graceSeconds = 3600 (0 – 30 days), expiresAt? (of the new key) }`.
   * @returns `{ key, apiKey, previousKey }`; `apiKey` is shown once.
   * @throws {NotFoundError} `key_not_found`. {@link ConflictError} `key_not_active`.
   * @example const { apiKey } = await app.agents.rotateKey(id, keyId, { graceSeconds: 600 })
   */
  async rotateKey(agentId: string, keyId: string, options: RotateAgentKeyOptions = {}): Promise<RotateAgentKeyResult> {
    assertAgentId(agentId);
    assertKeyId(keyId);
    if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
    assertOptionalInt(options.graceSeconds, 'graceSeconds', 0, 30 * 86_400);
    const body: WireRotateAgentKeyBody = {};
    if (options.graceSeconds !== undefined) body.grace_seconds = options.graceSeconds;
    if (options.expiresAt !== undefined) body.expires_at = toIsoTimestamp(options.expiresAt, 'expiresAt');
    return this.#t.json(
      'POST',
      `/v1/agents/${seg(agentId)}/keys/${seg(keyId)}/rotate`,
      { body },
      (w: WireRotateAgentKeyResponse) =>
        Object.freeze({ key: toKeyMeta(w.key), apiKey: w.api_key, previousKey: toKeyMeta(w.previous_key) }),
    );
  }

  /**
   * Revokes a key (idempotent). Revoking the agent's last active key needs `{ force: true }`.
   *
   * @throws {LastActiveKeyError} `last_active_key`. {@link NotFoundError} `key_not_found`.
   * @example await app.agents.revokeKey(id, oldKeyId)
   */
  async revokeKey(agentId: string, keyId: string, options: { readonly force?: boolean } = {}): Promise<KeyMeta> {
    assertAgentId(agentId);
    assertKeyId(keyId);
    if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
    if (options.force !== undefined && typeof options.force !== 'boolean') {
      throw new LatchkeyValueError('force must be a boolean.');
    }
    return this.#t.json(
      'POST',
      `/v1/agents/${seg(agentId)}/keys/${seg(keyId)}/revoke`,
      { body: options.force === undefined ? {} : { force: options.force } },
      toKeyMeta,
    );
  }
}
