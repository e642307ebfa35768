/**
 * The one registry of Latchkey error codes (DESIGN §11). Every error the server returns has a stable
 * snake_case `code` from this table; the HTTP status, a user-facing message and a hint come from here.
 * The SDK maps each code to an error class, and `docs/errors.md` is generated from this table.
 */

/** One entry of the error registry. */
export interface ErrorSpec {
  /** HTTP status the server answers with. */
  readonly status: number;
  /** Default message, in product words; never includes a secret or a full upstream URL. */
  readonly message: string;
  /** What the caller can do about it. */
  readonly hint: string;
}

/** Every error code Latchkey can return, with its status, message and hint. */
export const ERROR_CODES = {
  invalid_request: {
    status: 400,
    message: 'The request is not valid.',
    hint: 'Check `details` for the fields that failed validation.',
  },
  principal_not_supported: {
    status: 400,
    message: 'User and group principals need the app’s identity provider.',
    hint: 'Configure it with PUT /v1/identity/provider, or use a `system` or `agent` principal.',
  },
  identity_discovery_failed: {
    status: 400,
    message: 'The identity provider’s OpenID configuration could not be used.',
    hint: 'Check the issuer URL: {issuer}/.well-known/openid-configuration must answer with the same `issuer` and a `jwks_uri` reachable through the egress guard (`details.reason`).',
  },
  unauthorized: {
    status: 401,
    message: 'Authentication failed.',
    hint: 'Send a valid Latchkey API key as a signed request (RFC 9421) or as `Authorization: Bearer`.',
  },
  key_revoked: {
    status: 401,
    message: 'This API key has been revoked.',
    hint: 'Mint a new key.',
  },
  key_expired: {
    status: 401,
    message: 'This API key has expired.',
    hint: 'Mint a new key.',
  },
  signed_request_required: {
    status: 401,
    message: 'This API key only accepts signed requests.',
    hint: 'Use the Latchkey SDK, which signs every request (RFC 9421).',
  },
  invalid_user_token: {
    status: 401,
    message: 'The user token is not valid.',
    hint: 'Send a current ID token from the app’s identity provider, issued for the configured audience.',
  },
  insufficient_scope: {
    status: 403,
    message: 'The API key does not have the scope this operation needs.',
    hint: 'Mint a key with the scope named in `details.required_scope`.',
  },
  ip_not_allowed: {
    status: 403,
    message: 'This API key cannot be used from this address.',
    hint: "Call from an address inside the key's CIDR allow-list.",
  },
  agent_inactive: {
    status: 403,
    message: 'This agent is paused.',
    hint: 'An operator must resume the agent; until then only GET /v1/agents/me answers.',
  },
  agent_revoked: {
    status: 403,
    message: 'This agent has been revoked.',
    hint: 'Revocation is final: create a new agent.',
  },
  grant_expired: {
    status: 403,
    message: 'The grant has expired.',
    hint: 'Issue a new grant.',
  },
  grant_revoked: {
    status: 403,
    message: 'The grant has been revoked.',
    hint: 'Issue a new grant.',
  },
  policy_violation: {
    status: 403,
    message: 'The request is not allowed by policy.',
    hint: 'See `details.policy_error` for the rule that refused it.',
  },
  egress_denied: {
    status: 403,
    message: 'The target address is not reachable through Latchkey.',
    hint: 'Private, loopback and link-local addresses are refused unless allow-listed in LATCHKEY_EGRESS_ALLOW_CIDRS.',
  },
  not_found: {
    status: 404,
    message: 'Not found.',
    hint: 'Check the method and path.',
  },
  grant_not_found: {
    status: 404,
    message: 'The grant does not exist or is not reachable with this key.',
    hint: 'Check the grant id.',
  },
  managed_secret_not_found: {
    status: 404,
    message: 'The managed secret does not exist.',
    hint: 'Check the managed secret id.',
  },
  key_not_found: {
    status: 404,
    message: 'The API key does not exist.',
    hint: 'Check the key id.',
  },
  agent_not_found: {
    status: 404,
    message: 'The agent does not exist.',
    hint: 'Check the agent id or name; revoked agents are listed with include_revoked=true.',
  },
  identity_provider_not_found: {
    status: 404,
    message: 'This app has no identity provider configured.',
    hint: 'Configure one with PUT /v1/identity/provider.',
  },
  delegation_not_found: {
    status: 404,
    message: 'The delegation does not exist or was already revoked.',
    hint: 'List the grant’s delegations with GET /v1/grants/{grant_id}/delegations.',
  },
  provider_not_found: {
    status: 404,
    message: 'The provider template does not exist.',
    hint: 'List the catalog with GET /v1/providers/catalog.',
  },
  ambiguous_grant: {
    status: 409,
    message: 'Several grants match this provider for this user.',
    hint: 'Pick one of `details.accounts` with `account` (`latchkey-account` on /v1/forward).',
  },
  identity_claims_locked: {
    status: 409,
    message: 'The claim mappings cannot change once users have been seen.',
    hint: 'Keep user_id_claim, email_claim and groups_claim as they are; issuer, audience and algorithms can change.',
  },
  provider_template_exists: {
    status: 409,
    message: 'A provider template with this id already exists.',
    hint: 'Choose another id: custom template ids may not reuse a catalog id or another template of the app.',
  },
  managed_secret_not_testable: {
    status: 409,
    message: 'This managed secret has no test endpoint.',
    hint: 'Only secrets created from a template that defines test_endpoint can be tested.',
  },
  managed_secret_slug_exists: {
    status: 409,
    message: 'A managed secret with this slug already exists.',
    hint: 'Choose another slug, or rotate the existing secret.',
  },
  idempotency_key_reused: {
    status: 409,
    message: 'This Idempotency-Key was already used with a different request.',
    hint: 'Use a new Idempotency-Key for a different request.',
  },
  agent_name_exists: {
    status: 409,
    message: 'An agent with this name already exists.',
    hint: 'Choose another name, or revoke the existing agent first.',
  },
  agent_scope_narrowing_not_supported: {
    status: 409,
    message: "An agent's scopes can only be widened.",
    hint: 'Keep every current scope (or one that covers it); to narrow, create a new agent and revoke this one.',
  },
  last_active_key: {
    status: 409,
    message: "This is the agent's last active key.",
    hint: 'Mint or rotate to a new key first, or pass force: true to leave the agent without an active key.',
  },
  key_not_active: {
    status: 409,
    message: 'The API key is revoked or expired.',
    hint: 'Mint a new key instead.',
  },
  payload_too_large: {
    status: 413,
    message: 'The request body is too large.',
    hint: 'Send a smaller body, or use /v1/forward, which streams.',
  },
  unsupported_media_type: {
    status: 415,
    message: 'The content type is not supported.',
    hint: 'Send `application/json`.',
  },
  rate_limited: {
    status: 429,
    message: 'Too many requests.',
    hint: 'Retry after the number of seconds in `Retry-After`.',
  },
  internal_error: {
    status: 500,
    message: 'Latchkey hit an internal error.',
    hint: 'Retry; if it persists, check the server logs with the request id.',
  },
  upstream_unreachable: {
    status: 502,
    message: 'The upstream service could not be reached.',
    hint: 'Check the target host, DNS and TLS configuration.',
  },
  audit_unavailable: {
    status: 503,
    message: 'The audit trail cannot be written, so secret-using calls are refused.',
    hint: 'Check the database; calls resume when the audit store is writable.',
  },
  service_unavailable: {
    status: 503,
    message: 'Latchkey is temporarily unavailable.',
    hint: 'Retry shortly.',
  },
  identity_provider_unavailable: {
    status: 503,
    message: 'The identity provider’s signing keys could not be fetched.',
    hint: 'Retry shortly; check that the jwks_uri is reachable through the egress guard.',
  },
  upstream_timeout: {
    status: 504,
    message: 'The upstream service did not answer in time.',
    hint: 'Retry, or raise the timeout.',
  },
} as const satisfies Record<string, ErrorSpec>;

/** A stable Latchkey error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Whether `code` is a registered error code. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** The JSON body of every error response (DESIGN §11). */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    message: string;
    details?: Record<string, unknown>;
    request_id: string;
  };
}
