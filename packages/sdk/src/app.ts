/**
 * `App`: the client an application (or operator script) holds. One instance per API key; safe to
 * share across concurrent calls.
 */
import { Agent } from './agent.js';
import { AgentsClient, isAgentId } from './agents.js';
import { AuditClient } from './audit.js';
import {
  createDelegation,
  listDelegations,
  revokeDelegation,
  type CreateDelegationOptions,
  type Delegation,
} from './delegations.js';
import { forwardRequest, type RequestOptions } from './forward.js';
import {
  createManagedSecretGrant,
  getGrant,
  listGrants,
  revokeGrant,
  type CreateGrantOptions,
  type CreateGrantResult,
  type Grant,
  type ListGrantsOptions,
  type RevokeGrantResult,
  type UnifiedGrantListResult,
} from './grants.js';
import {
  IdentityClient,
  resolveIdentity,
  verifyUserToken,
  type ResolvedIdentity,
  type VerifiedUserToken,
} from './identity.js';
import { KeysClient } from './keys.js';
import { ManagedSecretsClient } from './managed-secrets.js';
import { proxyRequest, type ApprovalResult, type ProxyRequestOptions } from './proxy.js';
import { LatchkeyValueError } from './errors.js';
import type { UserTokenGetter } from './selector.js';
import { Transport, type AuthMode, type Logger } from './transport.js';

/** Options of `new App()`. */
export interface AppOptions {
  /** The API key, `lk_app_…` or `lk_agent_…`. Never sent on the wire in `signed` mode. */
  readonly apiKey: string;
  /** Latchkey's address; default `http://127.0.0.1:7070`. A path prefix is kept (`https://host/latchkey`). */
  readonly baseUrl?: string;
  /** Client-side budget per call, in milliseconds; default `30000`. */
  readonly timeout?: number;
  /** Names the calling service; sent as `latchkey-caller` and recorded as the audit actor's `caller`. */
  readonly caller?: string;
  /** A `fetch` to use instead of `globalThis.fetch` (e.g. with a custom dispatcher). */
  readonly fetch?: typeof globalThis.fetch;
  /** Receives one line per call (method, Latchkey path, status, duration); never secrets or header values. */
  readonly logger?: Logger;
  /** `'signed'` (default): every request carries an RFC 9421 signature. `'bearer'`: `Authorization: Bearer <apiKey>`. */
  readonly auth?: AuthMode;
  /**
   * Returns the current end user's ID token; `request()` and `proxyRequest()` call it when given
   * `provider` without `userToken`.
   */
  readonly userTokenGetter?: UserTokenGetter;
}

/**
 * A Latchkey client for one API key. Calls third-party APIs through Latchkey (`request`,
 * `proxyRequest`) and manages grants, managed secrets, keys and the audit trail.
 *
 * Every request is signed (RFC 9421 + RFC 9530 `Content-Digest`, DESIGN §5) unless `auth: 'bearer'`:
 * the signing key is derived once from the API key with Web Crypto and the raw key never crosses
 * the wire. Request bodies are therefore buffered in memory before sending.
 *
 * @example
 * import { App } from '@latchkey/sdk'
 * const app = new App({ apiKey: process.env.LATCHKEY_API_KEY! })
 * const res = await app.request('GET', 'https://api.stripe.com/v1/customers/{id}', {
 *   grantId, pathParams: { id: 'cus_123' }, reason: 'show billing page',
 * })
 * const customer = await res.json()
 */
export class App {
  readonly #t: Transport;
  readonly #options: AppOptions;

  /** Managed secrets: `create`, `list`, `get`, `update`, `rotate`, `delete`. */
  readonly managedSecrets: ManagedSecretsClient;
  /** API keys: `mint`, `list`, `revoke`. */
  readonly keys: KeysClient;
  /** Audit trail: `list`, `verify`. */
  readonly audit: AuditClient;
  /**
   * Agents and their keys: `create`, `list`, `get`, `getByName`, `update`, `pause`, `resume`,
   * `delete` (revoke), `mintKey`, `listKeys`, `deprecateKey`, `undeprecateKey`, `rotateKey`, `revokeKey`.
   */
  readonly agents: AgentsClient;
  /** The app's identity provider: `configureProvider`, `getProvider`. */
  readonly identity: IdentityClient;

  /**
   * @param options `{ apiKey, baseUrl?, timeout? (ms), caller?, fetch?, logger?, auth?, userTokenGetter? }`.
   * @throws {LatchkeyValueError} On a malformed API key, base URL, timeout, caller or auth mode, or
   *   when no `fetch` is available. The message never quotes the key.
   */
  constructor(options: AppOptions) {
    this.#t = new Transport(options ?? ({} as AppOptions));
    this.#options = { ...options };
    this.managedSecrets = new ManagedSecretsClient(this.#t);
    this.keys = new KeysClient(this.#t);
    this.audit = new AuditClient(this.#t);
    this.agents = new AgentsClient(this.#t);
    this.identity = new IdentityClient(this.#t);
    if (options?.userTokenGetter !== undefined && typeof options.userTokenGetter !== 'function') {
      throw new LatchkeyValueError('userTokenGetter must be a function.');
    }
  }

  /**
   * An {@link Agent} that acts as one of this app's agents with this app key: every request carries
   * `latchkey-act-as: <agent id>`, and the server gives it the agent's identity, scopes, grants and
   * state checks (the same boundary as the agent's own key). Audit rows name the agent and this
   * key's prefix. Needs `agents:write` (or `*`).
   *
   * @param idOrName `agt_…` or the agent's name (looked up among live agents).
   * @returns The acting `Agent`.
   * @throws {AgentNotFoundError} No such agent in this app.
   * @throws {InsufficientScopeError} Without `agents:read` for the lookup.
   * @example
   * const bot = await app.getAgent('research-bot')
   * const { grants } = await bot.listGrants() // only the grants bound to research-bot
   */
  async getAgent(idOrName: string): Promise<Agent> {
    if (typeof idOrName !== 'string' || idOrName.length === 0) {
      throw new LatchkeyValueError('idOrName must be an agent id (agt_…) or name.');
    }
    const info = isAgentId(idOrName) ? await this.agents.get(idOrName) : await this.agents.getByName(idOrName);
    return new Agent({ ...this.#options, actAs: info.id });
  }

  /**
   * Calls a third-party API through `ANY /v1/forward`, streaming the answer back. Latchkey checks the
   * grant and every policy, injects the credential and returns the upstream's status, headers and
   * body unchanged (a 3xx is returned, never followed).
   *
   * @param method Any HTTP method (uppercased before signing and sending).
   * @param url Absolute upstream URL; `{name}` placeholders are filled from `pathParams`.
   * @param options `{ grantId | provider (+ userToken?, account?), json? | body?, extraHeaders?,
   *   queryParams?, pathParams?, reason?,
   *   context?, runId?, threadId?, tool?, role?, signal?, timeout? (ms, until response headers),
   *   throwOnProviderError? }`. A body is buffered fully before sending (it is signed).
   * @returns The upstream's WHATWG `Response`; its body streams (SSE works).
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {GrantNotFoundError} `grant_not_found`. {@link ReAuthRequiredError} `grant_expired`,
   *   `grant_revoked`, … {@link PolicyViolationError} `policy_violation`. {@link UpstreamError}
   *   `upstream_unreachable`, `upstream_timeout`, `egress_denied`. {@link RateLimitedError},
   *   {@link AuthenticationError}, {@link InsufficientScopeError}, {@link AuditUnavailableError}.
   * @throws {ProviderAPIError} With `throwOnProviderError` and an upstream status ≥ 400.
   * @throws {TimeoutError} No response headers within `timeout`. {@link NetworkError} Latchkey unreachable.
   * @example
   * const res = await app.request('POST', 'https://api.openai.com/v1/chat/completions', {
   *   grantId, json: { model: 'gpt-4o-mini', stream: true, messages }, runId, tool: 'chat',
   * })
   * for await (const chunk of res.body!) process.stdout.write(chunk)
   */
  request(method: string, url: string, options: RequestOptions): Promise<Response> {
    return forwardRequest(this.#t, method, url, options, this.#options.userTokenGetter);
  }

  /**
   * Calls a third-party API through the JSON envelope `POST /v1/proxy`: the upstream body comes back
   * buffered (capped by the server, default 10 MiB) and base64-decoded.
   *
   * @param options `{ method, url, grantId | provider (+ userToken?, account?), headers?, json? | body? (Uint8Array | string),
   *   queryParams?, pathParams? (filled by the server), reason?, context?, signal?, timeout? (ms),
   *   throwOnProviderError? }`.
   * @returns Frozen `{ statusCode, headers, body: Uint8Array, bodyTruncated, text(), json() }`.
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {BackendError} A subclass per `error.code`, as for {@link App.request}.
   * @throws {ProviderAPIError} With `throwOnProviderError` and an upstream status ≥ 400.
   * @throws {TimeoutError | NetworkError} Latchkey did not answer in time / is unreachable.
   * @example
   * const r = await app.proxyRequest({ method: 'GET', url: 'https://api.github.com/user', grantId })
   * if (r.statusCode === 200) console.log(r.json<{ login: string }>().login)
   */
  proxyRequest(options: ProxyRequestOptions): Promise<ApprovalResult> {
    return proxyRequest(this.#t, options, this.#options.userTokenGetter);
  }

  /**
   * Issues a grant binding a managed secret to a principal. Needs `grants:write`.
   *
   * @param managedSecretId `ms_…`.
   * @param options `{ principal: { type: 'system', label? } | { type: 'agent', agentId?, label? } |
   *   { type: 'user', userToken, label? } | { type: 'group', externalGroupId, idpId?, label? },
   *   grantPolicy?: { expiresAt? (Date | ISO string), maxTtlSeconds?, defaultTtlSeconds? }, label? }`.
   * @returns The new grant (frozen), with `grantId` to pass to `request()`.
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {NotFoundError} `managed_secret_not_found`.
   * @throws {BackendError} `principal_not_supported` (user/group without an IDP), `invalid_request`.
   * @example
   * const { grantId } = await app.createManagedSecretGrant('ms_abc123def456', {
   *   principal: { type: 'system', label: 'billing-worker' },
   *   grantPolicy: { defaultTtlSeconds: 86_400 },
   * })
   */
  createManagedSecretGrant(managedSecretId: string, options: CreateGrantOptions): Promise<CreateGrantResult> {
    return createManagedSecretGrant(this.#t, managedSecretId, options);
  }

  /**
   * Reads one grant. Needs `grants:read`.
   *
   * @param grantId The grant's UUID.
   * @returns The grant (frozen); `status` is derived by the server from its timestamps.
   * @throws {LatchkeyValueError} When `grantId` is not a UUID.
   * @throws {GrantNotFoundError} `grant_not_found` (also for grants of other apps).
   * @example const g = await app.getGrant(grantId); if (g.status !== 'active') reissue()
   */
  getGrant(grantId: string): Promise<Grant> {
    return getGrant(this.#t, grantId);
  }

  /**
   * Lists grants of every kind. Needs `grants:read`.
   *
   * @param options `{ providerId?, managedSecretId?, grantKind? ('oauth' | 'managed_secret'),
   *   status? ('active' | 'expired' | 'revoked'), limit = 100 (1–500), offset = 0 }`.
   * @returns Frozen `{ grants, total, limit, offset, hasMore }`.
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {InsufficientScopeError} Without `grants:read`.
   * @example const { grants } = await app.listGrants({ managedSecretId, status: 'active' })
   */
  listGrants(options?: ListGrantsOptions): Promise<UnifiedGrantListResult> {
    return listGrants(this.#t, options);
  }

  /**
   * Revokes a grant; every replica refuses it within a second. Needs `grants:write`.
   *
   * @param grantId The grant's UUID.
   * @param options `{ reason? }` (≤ 500 chars, recorded on the grant and in the audit trail).
   * @returns The grant, now `status: 'revoked'` (frozen).
   * @throws {LatchkeyValueError} When `grantId` is not a UUID.
   * @throws {GrantNotFoundError} `grant_not_found`.
   * @example await app.revokeGrant(grantId, { reason: 'user left the project' })
   */
  revokeGrant(grantId: string, options?: { readonly reason?: string }): Promise<RevokeGrantResult> {
    return revokeGrant(this.#t, grantId, options);
  }

  /**
   * Verifies an end user's ID token against the app's identity provider (signature via its JWKS,
   * issuer, audience, algorithm allow-list, expiry) and returns the user, created on first sight.
   * Needs `identity:read`.
   *
   * @param jwt The user's ID token.
   * @returns Frozen `{ valid: true, appUserId, subject, email, groups }`.
   * @throws {InvalidUserTokenError} `invalid_user_token`: expired, wrong audience or issuer, unsigned, tampered.
   * @throws {NotFoundError} `identity_provider_not_found`.
   * @example const { appUserId } = await app.verifyUserToken(req.headers.authorization!.slice(7))
   */
  verifyUserToken(jwt: string): Promise<VerifiedUserToken> {
    return verifyUserToken(this.#t, jwt);
  }

  /**
   * Resolves who an ID token's user is for grant resolution. Needs `identity:read`.
   *
   * @param jwt The user's ID token.
   * @returns Frozen `{ appUserId, groupIds, userStatus }`.
   * @throws {InvalidUserTokenError} `invalid_user_token`. {@link NotFoundError} `identity_provider_not_found`.
   * @example const { groupIds } = await app.resolveIdentity(idToken)
   */
  resolveIdentity(jwt: string): Promise<ResolvedIdentity> {
    return resolveIdentity(this.#t, jwt);
  }

  /**
   * Delegates a user's grant to an agent; the user consents by presenting their ID token. Only
   * grants to a `user` principal can be delegated. Needs `grants:write` (app keys only).
   *
   * @param grantId The user grant's UUID.
   * @param options `{ agentId, userToken }`.
   * @returns The delegation (frozen); an existing live one is returned as is.
   * @throws {GrantNotFoundError} Also when the token's user does not own the grant.
   * @throws {AgentNotFoundError} `agent_not_found`. {@link InvalidUserTokenError} `invalid_user_token`.
   * @example await app.createDelegation(grantId, { agentId: 'agt_…', userToken: idToken })
   */
  createDelegation(grantId: string, options: CreateDelegationOptions): Promise<Delegation> {
    return createDelegation(this.#t, grantId, options);
  }

  /**
   * Lists a grant's delegations. Needs `grants:read`.
   *
   * @param options `{ includeRevoked? = false }`.
   * @throws {GrantNotFoundError} `grant_not_found`.
   * @example const active = await app.listDelegations(grantId)
   */
  listDelegations(grantId: string, options?: { readonly includeRevoked?: boolean }): Promise<readonly Delegation[]> {
    return listDelegations(this.#t, grantId, options);
  }

  /**
   * Revokes an agent's delegation of a user's grant; the grant itself stays intact, and the agent
   * is refused (`grant_not_found`) on every replica within a second. Needs `grants:write`.
   *
   * @returns The delegation, now `revoked` (frozen).
   * @throws {NotFoundError} `delegation_not_found`. {@link GrantNotFoundError} `grant_not_found`.
   * @example await app.revokeDelegation(grantId, 'agt_0123456789abcdef')
   */
  revokeDelegation(grantId: string, agentId: string): Promise<Delegation> {
    return revokeDelegation(this.#t, grantId, agentId);
  }
}
