/**
 * `Agent`: the client an agent runs with (DESIGN §10). It holds the agent's own key (`lk_agent_…`),
 * or an app key acting as the agent (`App.getAgent()`, header `latchkey-act-as`); both have the same
 * boundary: the agent's scopes, only the grants bound to it, refused while paused or revoked.
 */
import { toAgentMe, type AgentMe, type WireAgentMe } from './agents.js';
import { toDelegation, type Delegation } from './delegations.js';
import { LatchkeyValueError } from './errors.js';
import { forwardRequest, type RequestOptions } from './forward.js';
import {
  createManagedSecretGrant,
  getGrant,
  listGrants,
  revokeGrant,
  type CreateGrantResult,
  type Grant,
  type GrantPolicyInput,
  type ListGrantsOptions,
  type RevokeGrantResult,
  type UnifiedGrantListResult,
} from './grants.js';
import { proxyRequest, type ApprovalResult, type ProxyRequestOptions } from './proxy.js';
import { Transport, type AuthMode, type Logger } from './transport.js';
import { assertGrantId, assertHeaderValue, isObject } from './validate.js';
import { seg } from './wire.js';

/** Options of `new Agent()`. */
export interface AgentOptions {
  /** The agent's key, `lk_agent_…`; or, with `actAs`, an app key `lk_app_…` holding `agents:write`. */
  readonly apiKey: string;
  /** Latchkey's address; default `http://127.0.0.1:7070`. */
  readonly baseUrl?: string;
  /** Client-side budget per call, in milliseconds; default `30000`. */
  readonly timeout?: number;
  /** Names the calling service; recorded as the audit actor's `caller`. */
  readonly caller?: string;
  /** A `fetch` to use instead of `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Receives one line per call; never secrets or header values. */
  readonly logger?: Logger;
  /** `'signed'` (default, RFC 9421) or `'bearer'`. */
  readonly auth?: AuthMode;
  /** With an app key: the agent id to act as (sent as `latchkey-act-as`). `App.getAgent()` sets it. */
  readonly actAs?: string;
}

/** Trace fields attached to every request made inside `agent.trace()` (audit only). */
export interface TraceFields {
  /** The agent run (≤ 200 printable ASCII chars). */
  readonly runId: string;
  /** The agent's role in the run, e.g. `planner`. */
  readonly role?: string;
  /** Conversation or thread id. */
  readonly threadId?: string;
  /** The tool being executed. */
  readonly tool?: string;
}

/** Options of `agent.createManagedSecretGrant()`: an agent only issues grants to itself. */
export interface AgentGrantOptions {
  /** Always the calling agent; no `agentId` (the server binds the caller). */
  readonly principal: { readonly type: 'agent'; readonly label?: string };
  readonly grantPolicy?: GrantPolicyInput;
  /** Human label (≤ 200 chars). */
  readonly label?: string;
}

/** A delegation of a user's grant to an agent (DESIGN §2). Frozen. Same shape as `Delegation`. */
export type AgentDelegation = Delegation;

type TraceHeaders = Readonly<Record<string, string>>;

/** The part of `AsyncLocalStorage` this client uses. */
interface ContextStore<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
}

/**
 * An `AsyncLocalStorage` when the runtime has one (Node.js ≥ 20.16 exposes built-ins through
 * `process.getBuiltinModule`, as do Bun and Deno); nothing is imported, so browser bundles work.
 */
function createContextStore<T>(): ContextStore<T> | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    const mod = proc?.getBuiltinModule?.('node:async_hooks') as
      { AsyncLocalStorage?: new () => ContextStore<T> } | undefined;
    return mod?.AsyncLocalStorage ? new mod.AsyncLocalStorage() : undefined;
  } catch {
    return undefined;
  }
}

const TRACE_HEADERS = {
  runId: 'latchkey-run-id',
  role: 'latchkey-role',
  threadId: 'latchkey-thread-id',
  tool: 'latchkey-tool',
} as const;

function traceHeaders(fields: TraceFields): Record<string, string> {
  if (!isObject(fields)) throw new LatchkeyValueError('trace fields must be an object with a runId.');
  if (typeof fields.runId !== 'string' || fields.runId.trim() === '') {
    throw new LatchkeyValueError('runId must be a non-empty string.');
  }
  const out: Record<string, string> = {};
  for (const [k, header] of Object.entries(TRACE_HEADERS) as [keyof TraceFields, string][]) {
    const v = fields[k];
    if (v === undefined) continue;
    assertHeaderValue(v, k);
    if (v.length > 200) throw new LatchkeyValueError(`${k} must be at most 200 characters.`);
    if (v.trim() !== '') out[header] = v.trim();
  }
  return out;
}

/**
 * A Latchkey client for one agent. Calls third-party APIs through the grants bound to the agent,
 * issues grants to itself, and tags calls with trace fields for the audit trail.
 *
 * @example
 * import { Agent } from '@latchkey/sdk'
 * const agent = new Agent({ apiKey: process.env.LATCHKEY_AGENT_KEY! })
 * await agent.trace({ runId: 'run-42', tool: 'search' }, async () => {
 *   const res = await agent.request('GET', 'https://api.github.com/user', { grantId })
 *   console.log(res.status)
 * })
 */
export class Agent {
  readonly #t: Transport;
  readonly #traces: ContextStore<TraceHeaders> | undefined;
  /** Used only where no AsyncLocalStorage exists: the innermost running trace. */
  #current: TraceHeaders | undefined;

  /**
   * @param options `{ apiKey, baseUrl?, timeout? (ms), caller?, fetch?, logger?, auth?, actAs? }`.
   * @throws {LatchkeyValueError} On a malformed option, an app key without `actAs`, or an agent key
   *   with `actAs`. The message never quotes the key.
   */
  constructor(options: AgentOptions) {
    if (!isObject(options)) throw new LatchkeyValueError('options must be an object with an apiKey.');
    const key = typeof options.apiKey === 'string' ? options.apiKey : '';
    if (options.actAs === undefined && !key.startsWith('lk_agent_')) {
      throw new LatchkeyValueError('apiKey must be an agent key (lk_agent_…); an app key needs actAs.');
    }
    if (options.actAs !== undefined && !key.startsWith('lk_app_')) {
      throw new LatchkeyValueError('actAs is only for app keys (lk_app_…).');
    }
    this.#traces = createContextStore<TraceHeaders>();
    this.#t = new Transport({
      ...options,
      contextHeaders: () => (this.#traces ? this.#traces.getStore() : this.#current),
    });
  }

  /**
   * The calling agent and key. Works while the agent is paused (its `status` says so).
   *
   * @returns Frozen `{ agent, key }`.
   * @throws {AgentRevokedError} `agent_revoked`. {@link AuthenticationError} Unknown or revoked key.
   * @example const { agent } = await agent.me(); if (agent.status === 'paused') await backOff()
   */
  me(): Promise<AgentMe> {
    return this.#t.json('GET', '/v1/agents/me', {}, (w: WireAgentMe) => toAgentMe(w));
  }

  /**
   * Runs `fn` with trace fields: every request this agent makes inside it (awaited or not, as far
   * as AsyncLocalStorage follows) carries `latchkey-run-id`, `latchkey-role`, `latchkey-thread-id` and
   * `latchkey-tool`, which the audit rows record. Nested traces inherit and override fields. Fields
   * given to a single `request()` win. In runtimes without AsyncLocalStorage, concurrent traces on one
   * `Agent` overlap: give the fields per request instead.
   *
   * @param fields `{ runId, role?, threadId?, tool? }` (printable ASCII, ≤ 200 chars each).
   * @param fn The work to trace; its result is returned.
   * @throws {LatchkeyValueError} On bad fields, before `fn` runs. Whatever `fn` throws.
   * @example
   * await agent.trace({ runId, role: 'researcher', tool: 'fetch_issue' }, () =>
   *   agent.proxyRequest({ method: 'GET', url: 'https://api.github.com/issues/1', grantId }))
   */
  async trace<T>(fields: TraceFields, fn: () => T | Promise<T>): Promise<T> {
    const parent = this.#traces ? this.#traces.getStore() : this.#current;
    const merged = Object.freeze({ ...parent, ...traceHeaders(fields) });
    if (typeof fn !== 'function') throw new LatchkeyValueError('fn must be a function.');
    if (this.#traces) return await this.#traces.run(merged, fn);
    this.#current = merged;
    try {
      return await fn();
    } finally {
      this.#current = parent;
    }
  }

  /**
   * Calls a third-party API through `ANY /v1/forward` with a grant bound to this agent (see
   * `App.request`). Needs `proxy:execute`.
   *
   * @throws {AgentInactiveError | AgentRevokedError} The agent is paused or revoked.
   * @throws {GrantNotFoundError} The grant is not bound to this agent (404, never 403).
   * @example const res = await agent.request('GET', 'https://api.github.com/user', { grantId })
   */
  request(method: string, url: string, options: RequestOptions): Promise<Response> {
    return forwardRequest(this.#t, method, url, options);
  }

  /**
   * Calls a third-party API through the JSON envelope `POST /v1/proxy` (see `App.proxyRequest`).
   *
   * @throws {AgentInactiveError | AgentRevokedError | GrantNotFoundError} As for {@link Agent.request}.
   * @example const r = await agent.proxyRequest({ method: 'GET', url, grantId })
   */
  proxyRequest(options: ProxyRequestOptions): Promise<ApprovalResult> {
    return proxyRequest(this.#t, options);
  }

  /**
   * Issues a grant on a managed secret to this agent itself (the only principal an agent may name).
   * Needs `grants:write`.
   *
   * @param managedSecretId `ms_…`.
   * @param options `{ principal: { type: 'agent', label? }, grantPolicy?, label? }`.
   * @throws {LatchkeyValueError} Any other principal, or an `agentId`, before any I/O.
   * @throws {NotFoundError} `managed_secret_not_found`. {@link InsufficientScopeError} Without `grants:write`.
   * @example const { grantId } = await agent.createManagedSecretGrant(msId, { principal: { type: 'agent', label: 'run-42' } })
   */
  createManagedSecretGrant(managedSecretId: string, options: AgentGrantOptions): Promise<CreateGrantResult> {
    const p = isObject(options) ? (options.principal as unknown) : undefined;
    if (!isObject(p) || (p as { type?: unknown }).type !== 'agent' || 'agentId' in (p as object)) {
      throw new LatchkeyValueError("An agent issues grants only to itself: principal { type: 'agent', label? }.");
    }
    return createManagedSecretGrant(this.#t, managedSecretId, options);
  }

  /**
   * Lists the grants bound to this agent. Needs `grants:read`.
   *
   * @param options As for `App.listGrants`.
   * @example const { grants } = await agent.listGrants({ status: 'active' })
   */
  listGrants(options?: ListGrantsOptions): Promise<UnifiedGrantListResult> {
    return listGrants(this.#t, options);
  }

  /**
   * Reads one grant bound to this agent. Needs `grants:read`.
   *
   * @throws {GrantNotFoundError} Also for grants bound to others.
   * @example const g = await agent.getGrant(grantId)
   */
  getGrant(grantId: string): Promise<Grant> {
    return getGrant(this.#t, grantId);
  }

  /**
   * Revokes a grant bound to this agent. Needs `grants:write`.
   *
   * @throws {GrantNotFoundError} Also for grants bound to others.
   * @example await agent.revokeGrant(grantId, { reason: 'run finished' })
   */
  revokeGrant(grantId: string, options?: { readonly reason?: string }): Promise<RevokeGrantResult> {
    return revokeGrant(this.#t, grantId, options);
  }

  /**
   * Gives up this agent's delegation of a user's grant (`DELETE /v1/grants/{grant_id}/delegation`);
   * the user's grant itself stays intact.
   *
   * @param grantId The delegated grant's UUID.
   * @returns The delegation, now `revoked` (frozen).
   * @throws {GrantNotFoundError} No live delegation of that grant to this agent.
   * @example await agent.revokeDelegation(grantId)
   */
  async revokeDelegation(grantId: string): Promise<AgentDelegation> {
    assertGrantId(grantId);
    return this.#t.json('DELETE', `/v1/grants/${seg(grantId)}/delegation`, {}, toDelegation);
  }
}
