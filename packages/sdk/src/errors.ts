/**
 * Errors the SDK throws. Every Latchkey refusal arrives as `{ error: { code, message, details?,
 * request_id } }` (DESIGN §11); {@link SERVER_ERROR_CLASSES} maps each `code` of the server's registry
 * (`@latchkey/api/errors`) to one class, so callers branch on `instanceof`, never on a message.
 * Messages never contain the API key, a header value, a request body or a full upstream URL.
 */
import type { ErrorCode } from '@latchkey/api/errors';

/** Error codes the SDK produces itself, without a server answer. */
export type ClientErrorCode =
  'invalid_argument' | 'network_error' | 'timeout' | 'provider_error' | 'unexpected_response';

/**
 * A code carried by a {@link LatchkeyError}: a server registry code, a client code, or (from a newer
 * server) a code this SDK version does not know yet.
 */
export type LatchkeyErrorCode = ErrorCode | ClientErrorCode | (string & {});

/** Fields every {@link LatchkeyError} is built from. */
export interface LatchkeyErrorInit {
  /** Stable snake_case code, e.g. `grant_expired`. */
  readonly code: LatchkeyErrorCode;
  /** HTTP status of the answer that raised it; `undefined` for errors raised before or without one. */
  readonly status?: number | undefined;
  /** Structured detail from the server, wire (snake_case) keys as sent, e.g. `{ policy_error: '…' }`. */
  readonly details?: Readonly<Record<string, unknown>> | undefined;
  /** The server's `request_id`, to quote when asking an operator to look at the logs. */
  readonly requestId?: string | undefined;
  /** The underlying error, if any. */
  readonly cause?: unknown;
}

/**
 * Base class of every error the SDK throws.
 *
 * @example
 * try { await app.getGrant(id) } catch (err) {
 *   if (err instanceof LatchkeyError) console.error(err.code, err.requestId)
 * }
 */
export class LatchkeyError extends Error {
  override readonly name: string = 'LatchkeyError';
  /** Stable snake_case code; see {@link LatchkeyErrorCode}. */
  readonly code: LatchkeyErrorCode;
  /** HTTP status, or `undefined` when no HTTP answer was involved. */
  readonly status: number | undefined;
  /** Structured detail from the server (wire keys, frozen), or `undefined`. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** The server's request id, or `undefined`. */
  readonly requestId: string | undefined;

  /**
   * @param message Human-readable text; never include a secret or header value.
   * @param init Code, status, details, request id and cause.
   */
  constructor(message: string, init: LatchkeyErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.details = init.details === undefined ? undefined : Object.freeze({ ...init.details });
    this.requestId = init.requestId;
  }
}

/**
 * Client-side misuse detected before any I/O (a missing `grantId`, both `json` and `body`, a header
 * value with a line break…). Code `invalid_argument`.
 *
 * @example
 * await app.request('GET', 'https://api.example.com', { grantId: '' }) // throws LatchkeyValueError
 */
export class LatchkeyValueError extends LatchkeyError {
  override readonly name: string = 'LatchkeyValueError';
  /** @param message Names the argument, never its value. */
  constructor(message: string) {
    super(message, { code: 'invalid_argument' });
  }
}

/**
 * Latchkey answered with an error body. Subclasses narrow it; an unknown `code` (from a newer server)
 * arrives as a plain `BackendError`. Also raised, with code `unexpected_response`, when the answer is
 * not a Latchkey answer at all (e.g. an HTML page from a load balancer).
 *
 * @example
 * catch (err) { if (err instanceof BackendError && err.status === 503) retryLater() }
 */
export class BackendError extends LatchkeyError {
  override readonly name: string = 'BackendError';
}

/**
 * The grant exists but can no longer be used; someone must re-authorize or issue a new grant.
 * Codes `grant_expired`, `grant_revoked`, `credential_revoked`, `grant_deleted`.
 *
 * @example
 * catch (err) { if (err instanceof ReAuthRequiredError) await issueNewGrant() }
 */
export class ReAuthRequiredError extends BackendError {
  override readonly name: string = 'ReAuthRequiredError';
}

/** The grant's `expires_at` has passed (`403 grant_expired`). @example err instanceof GrantExpiredError */
export class GrantExpiredError extends ReAuthRequiredError {
  override readonly name: string = 'GrantExpiredError';
}

/** The grant was revoked (`403 grant_revoked`). @example err instanceof GrantRevokedError */
export class GrantRevokedError extends ReAuthRequiredError {
  override readonly name: string = 'GrantRevokedError';
}

/**
 * The provider rejected the stored credential, e.g. an OAuth refresh answered `invalid_grant`
 * (`401 credential_revoked`, DESIGN §8). @example err instanceof CredentialRevokedError
 */
export class CredentialRevokedError extends ReAuthRequiredError {
  override readonly name: string = 'CredentialRevokedError';
}

/** The grant's credential was deleted (`grant_deleted`). @example err instanceof GrantDeletedError */
export class GrantDeletedError extends ReAuthRequiredError {
  override readonly name: string = 'GrantDeletedError';
}

/**
 * A resource does not exist or is not visible to this key (out-of-app objects are 404, never 403).
 * Codes `not_found`, `managed_secret_not_found`, `key_not_found`, `provider_not_found`,
 * `identity_provider_not_found`, `delegation_not_found`.
 *
 * @example
 * catch (err) { if (err instanceof NotFoundError) return null }
 */
export class NotFoundError extends BackendError {
  override readonly name: string = 'NotFoundError';
}

/**
 * The grant does not exist or this key cannot reach it (`404 grant_not_found`).
 * Also a {@link NotFoundError}. @example err instanceof GrantNotFoundError
 */
export class GrantNotFoundError extends NotFoundError {
  override readonly name: string = 'GrantNotFoundError';
}

/**
 * Several grants match a `provider` + user lookup (`409 ambiguous_grant`); `details` lists the
 * account identifiers to choose from. @example err instanceof AmbiguousGrantError
 */
export class AmbiguousGrantError extends BackendError {
  override readonly name: string = 'AmbiguousGrantError';
  /** The account identifiers to choose from with `account` (grant labels, else secret slugs). */
  readonly accounts: readonly string[];
  /** @param message Server message. @param init Error fields (`details.accounts`). */
  constructor(message: string, init: LatchkeyErrorInit) {
    super(message, init);
    const v = init.details?.['accounts'];
    this.accounts = Object.freeze(Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : []);
  }
}

/**
 * The user token (an ID token of the app's identity provider) was refused: expired, for another
 * audience or issuer, unsigned, tampered, or signed by an unknown key (`401 invalid_user_token`).
 * The reason is in the server's logs only.
 *
 * @example
 * catch (err) { if (err instanceof InvalidUserTokenError) redirectToSignIn() }
 */
export class InvalidUserTokenError extends BackendError {
  override readonly name: string = 'InvalidUserTokenError';
}

/**
 * A policy refused the call (`403 policy_violation`).
 *
 * @example
 * catch (err) { if (err instanceof PolicyViolationError) console.warn(err.policyError) }
 */
export class PolicyViolationError extends BackendError {
  override readonly name: string = 'PolicyViolationError';
  /** The server's `details.policy_error` (e.g. `body_unparseable`), or `undefined`. */
  readonly policyError: string | undefined;
  /** @param message Server message. @param init Error fields. */
  constructor(message: string, init: LatchkeyErrorInit) {
    super(message, init);
    const v = init.details?.['policy_error'];
    this.policyError = typeof v === 'string' ? v : undefined;
  }
}

/**
 * The API key lacks the scope the operation needs (`403 insufficient_scope`).
 *
 * @example
 * catch (err) { if (err instanceof InsufficientScopeError) console.warn('needs', err.requiredScope) }
 */
export class InsufficientScopeError extends BackendError {
  override readonly name: string = 'InsufficientScopeError';
  /** The server's `details.required_scope` (e.g. `grants:write`), or `undefined`. */
  readonly requiredScope: string | undefined;
  /** @param message Server message. @param init Error fields. */
  constructor(message: string, init: LatchkeyErrorInit) {
    super(message, init);
    const v = init.details?.['required_scope'];
    this.requiredScope = typeof v === 'string' ? v : undefined;
  }
}

/** Fields of a {@link RateLimitedError}. */
export interface RateLimitedErrorInit extends LatchkeyErrorInit {
  /** Milliseconds to wait, from the `Retry-After` header; `undefined` when absent or unparseable. */
  readonly retryAfterMs?: number | undefined;
}

/**
 * A rate limit refused the call (`429 rate_limited`).
 *
 * @example
 * catch (err) {
 *   if (err instanceof RateLimitedError) await sleep(err.retryAfterMs ?? 1000)
 * }
 */
export class RateLimitedError extends BackendError {
  override readonly name: string = 'RateLimitedError';
  /** Milliseconds to wait before retrying, from `Retry-After`; `undefined` if the server gave none. */
  readonly retryAfterMs: number | undefined;
  /** @param message Server message. @param init Error fields and `retryAfterMs`. */
  constructor(message: string, init: RateLimitedErrorInit) {
    super(message, init);
    this.retryAfterMs = init.retryAfterMs;
  }
}

/**
 * The API key was not accepted. Codes `unauthorized` (unknown key or bad signature: the server answers
 * both the same way), `signed_request_required` (a `signed_only` key sent as bearer), `ip_not_allowed`
 * (outside the key's CIDRs), `replayed_request`.
 *
 * @example
 * catch (err) { if (err instanceof AuthenticationError) console.error('check LATCHKEY_API_KEY') }
 */
export class AuthenticationError extends BackendError {
  override readonly name: string = 'AuthenticationError';
}

/** The API key was revoked (`401 key_revoked`). @example err instanceof KeyRevokedError */
export class KeyRevokedError extends AuthenticationError {
  override readonly name: string = 'KeyRevokedError';
}

/** The API key's `expires_at` has passed (`401 key_expired`). @example err instanceof KeyExpiredError */
export class KeyExpiredError extends AuthenticationError {
  override readonly name: string = 'KeyExpiredError';
}

/**
 * A conflicting object exists. Codes `managed_secret_slug_exists`, `idempotency_key_reused`,
 * `key_not_active` (a revoked or expired key cannot be deprecated or rotated), `identity_claims_locked`
 * (an identity provider's claim mappings after its first user).
 *
 * @example
 * catch (err) { if (err instanceof ConflictError) await app.managedSecrets.rotate(id, value) }
 */
export class ConflictError extends BackendError {
  override readonly name: string = 'ConflictError';
}

/**
 * Something about the calling or managed agent refused the request (DESIGN §10). Subclasses name the
 * case; an agent key that is revoked or expired raises {@link KeyRevokedError} / {@link KeyExpiredError}
 * (an {@link AuthenticationError}) instead.
 *
 * @example
 * catch (err) { if (err instanceof AgentError) console.error('agent problem:', err.code) }
 */
export class AgentError extends BackendError {
  override readonly name: string = 'AgentError';
}

/**
 * The agent is paused (`403 agent_inactive`): every call but `agent.me()` is refused until an operator
 * resumes it. @example if (err instanceof AgentInactiveError) await sleep(60_000)
 */
export class AgentInactiveError extends AgentError {
  override readonly name: string = 'AgentInactiveError';
}

/** The agent was revoked (`403 agent_revoked`); revocation is final. @example err instanceof AgentRevokedError */
export class AgentRevokedError extends AgentError {
  override readonly name: string = 'AgentRevokedError';
}

/**
 * The agent does not exist in this app (`404 agent_not_found`), e.g. a wrong id or name, a revoked
 * agent looked up by name, or `latchkey-act-as` naming another app's agent. @example err instanceof AgentNotFoundError
 */
export class AgentNotFoundError extends AgentError {
  override readonly name: string = 'AgentNotFoundError';
}

/** Another live agent of the app has this name (`409 agent_name_exists`). @example err instanceof AgentNameExistsError */
export class AgentNameExistsError extends AgentError {
  override readonly name: string = 'AgentNameExistsError';
}

/**
 * Revoking this key would leave the agent without an active key (`409 last_active_key`); pass
 * `{ force: true }` or mint a new key first. @example await app.agents.revokeKey(id, keyId, { force: true })
 */
export class LastActiveKeyError extends AgentError {
  override readonly name: string = 'LastActiveKeyError';
}

/**
 * An update would drop a scope the agent holds (`409 agent_scope_narrowing_not_supported`); scopes
 * only widen. `details.missing_scopes` lists them. @example err instanceof AgentScopeNarrowingError
 */
export class AgentScopeNarrowingError extends AgentError {
  override readonly name: string = 'AgentScopeNarrowingError';
}

/**
 * Latchkey could not complete the call to the third-party API. Codes `upstream_unreachable` (502:
 * DNS, connect or TLS failure), `upstream_timeout` (504), `egress_denied` (403: the target address is
 * private or not allowed). Not an upstream 4xx/5xx: those are {@link ProviderAPIError}.
 *
 * @example
 * catch (err) { if (err instanceof UpstreamError && err.code === 'upstream_timeout') retry() }
 */
export class UpstreamError extends BackendError {
  override readonly name: string = 'UpstreamError';
}

/**
 * The audit trail cannot be written, so Latchkey refused a secret-using call without contacting the
 * upstream (`503 audit_unavailable`, DESIGN §9). Safe to retry. @example err instanceof AuditUnavailableError
 */
export class AuditUnavailableError extends BackendError {
  override readonly name: string = 'AuditUnavailableError';
}

/** Fields of a {@link ProviderAPIError}. */
export interface ProviderAPIErrorInit {
  /** Upstream HTTP status (≥ 400). */
  readonly statusCode: number;
  /** Upstream response headers, lowercase names. */
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** Upstream response body as text, cut at 64 KiB characters. */
  readonly responseBody: string;
}

/**
 * The third-party API answered with status ≥ 400. Raised only when the call asked for it with
 * `throwOnProviderError: true`; otherwise the upstream answer is returned as-is. Code `provider_error`.
 *
 * @example
 * try { await app.request('GET', url, { grantId, throwOnProviderError: true }) }
 * catch (err) { if (err instanceof ProviderAPIError && err.statusCode === 404) return null }
 */
export class ProviderAPIError extends LatchkeyError {
  override readonly name: string = 'ProviderAPIError';
  /** Upstream HTTP status. Same as `status`. */
  readonly statusCode: number;
  /** Upstream response headers (frozen, lowercase names). */
  readonly responseHeaders: Readonly<Record<string, string>>;
  /** Upstream response body as text (at most 64 KiB characters). */
  readonly responseBody: string;
  /** @param init Upstream status, headers and body. */
  constructor(init: ProviderAPIErrorInit) {
    super(`The provider API answered HTTP ${init.statusCode}.`, { code: 'provider_error', status: init.statusCode });
    this.statusCode = init.statusCode;
    this.responseHeaders = Object.freeze({ ...init.responseHeaders });
    this.responseBody = init.responseBody;
  }
}

/**
 * Latchkey could not be reached (DNS, connection refused, TLS, reset). Code `network_error`; the
 * original error is in `cause`.
 *
 * @example
 * catch (err) { if (err instanceof NetworkError) console.error('is Latchkey running?') }
 */
export class NetworkError extends LatchkeyError {
  override readonly name: string = 'NetworkError';
  /** @param message What failed. @param init Code (defaults to `network_error`) and cause. */
  constructor(message: string, init: Partial<LatchkeyErrorInit> = {}) {
    super(message, { ...init, code: init.code ?? 'network_error' });
  }
}

/**
 * The client-side `timeout` budget ran out before Latchkey answered. Code `timeout`.
 *
 * @example
 * catch (err) { if (err instanceof TimeoutError) console.warn(`gave up after ${err.timeoutMs} ms`) }
 */
export class TimeoutError extends NetworkError {
  override readonly name: string = 'TimeoutError';
  /** The budget that ran out, in milliseconds. */
  readonly timeoutMs: number;
  /** @param timeoutMs Budget in milliseconds. */
  constructor(timeoutMs: number) {
    super(`Latchkey did not answer within ${timeoutMs} ms.`, { code: 'timeout' });
    this.timeoutMs = timeoutMs;
  }
}

/** A constructor of a server-side error class. */
export type BackendErrorClass = new (message: string, init: RateLimitedErrorInit) => BackendError;

/**
 * The one table from server `error.code` to SDK class (DESIGN §10). It must list every code of the
 * `ERROR_CODES` registry (checked by the type below and by a test); it also lists codes DESIGN
 * §4.1/§5/§8 plan that the registry does not have yet, so this SDK already types them.
 */
export const SERVER_ERROR_CLASSES = Object.freeze({
  invalid_request: BackendError,
  principal_not_supported: BackendError,
  unauthorized: AuthenticationError,
  key_revoked: KeyRevokedError,
  key_expired: KeyExpiredError,
  signed_request_required: AuthenticationError,
  insufficient_scope: InsufficientScopeError,
  ip_not_allowed: AuthenticationError,
  grant_expired: GrantExpiredError,
  grant_revoked: GrantRevokedError,
  policy_violation: PolicyViolationError,
  egress_denied: UpstreamError,
  not_found: NotFoundError,
  grant_not_found: GrantNotFoundError,
  managed_secret_not_found: NotFoundError,
  key_not_found: NotFoundError,
  provider_not_found: NotFoundError,
  provider_template_exists: ConflictError,
  managed_secret_not_testable: ConflictError,
  managed_secret_slug_exists: ConflictError,
  idempotency_key_reused: ConflictError,
  payload_too_large: BackendError,
  unsupported_media_type: BackendError,
  rate_limited: RateLimitedError,
  internal_error: BackendError,
  upstream_unreachable: UpstreamError,
  audit_unavailable: AuditUnavailableError,
  service_unavailable: BackendError,
  upstream_timeout: UpstreamError,
  agent_inactive: AgentInactiveError,
  agent_revoked: AgentRevokedError,
  agent_not_found: AgentNotFoundError,
  agent_name_exists: AgentNameExistsError,
  agent_scope_narrowing_not_supported: AgentScopeNarrowingError,
  last_active_key: LastActiveKeyError,
  key_not_active: ConflictError,
  invalid_user_token: InvalidUserTokenError,
  identity_discovery_failed: BackendError,
  identity_provider_not_found: NotFoundError,
  identity_claims_locked: ConflictError,
  identity_provider_unavailable: BackendError,
  delegation_not_found: NotFoundError,
  ambiguous_grant: AmbiguousGrantError,
  // Planned by DESIGN, not in the registry yet.
  credential_revoked: CredentialRevokedError,
  grant_deleted: GrantDeletedError,
  replayed_request: AuthenticationError,
} satisfies Record<ErrorCode, BackendErrorClass> & Record<string, BackendErrorClass>) as Readonly<
  Record<ErrorCode, BackendErrorClass> & Record<string, BackendErrorClass | undefined>
>;

const MAX_MESSAGE_LENGTH = 500;

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 *
 * @param value Header value, or `null`.
 * @param nowMs Clock for the HTTP-date form, Unix milliseconds.
 * @returns Milliseconds to wait (≥ 0), or `undefined` when absent or unparseable.
 */
export function parseRetryAfter(value: string | null, nowMs: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // HTTP-dates always end in GMT; requiring it stops Date.parse from reading '-5' as a year.
  const at = /GMT$/.test(v) ? Date.parse(v) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Builds the error for a Latchkey error answer.
 *
 * @param status HTTP status.
 * @param body Parsed JSON body, or `undefined` when it was not JSON.
 * @param headers Response headers (for `Retry-After`).
 * @returns A {@link BackendError} subclass chosen by {@link SERVER_ERROR_CLASSES}.
 */
export function errorFromResponse(status: number, body: unknown, headers: Headers): BackendError {
  const err = isRecord(body) ? body['error'] : undefined;
  if (!isRecord(err) || typeof err['code'] !== 'string') {
    return new BackendError(`Latchkey answered HTTP ${status} without a Latchkey error body.`, {
      code: 'unexpected_response',
      status,
    });
  }
  const code = err['code'];
  const Class: BackendErrorClass = Object.hasOwn(SERVER_ERROR_CLASSES, code)
    ? SERVER_ERROR_CLASSES[code]!
    : BackendError;
  const message =
    typeof err['message'] === 'string' && err['message'].length > 0
      ? err['message'].slice(0, MAX_MESSAGE_LENGTH)
      : `Latchkey refused the request (${code}).`;
  return new Class(message, {
    code,
    status,
    details: isRecord(err['details']) ? err['details'] : undefined,
    requestId: typeof err['request_id'] === 'string' ? err['request_id'] : undefined,
    retryAfterMs: parseRetryAfter(headers.get('retry-after')),
  });
}
