/**
 * End-user identity (DESIGN §5): the app's identity provider and user-token checks. Wire mapping is
 * explicit per field. Internal; `App` exposes these.
 */
import { LatchkeyValueError } from './errors.js';
import type { Transport } from './transport.js';
import { assertString, isObject } from './validate.js';
import { deepFreeze, toDate } from './wire.js';

/** Algorithms an app may accept from its identity provider (asymmetric only). */
export type UserTokenAlgorithm =
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'Ed25519';

/** Options of `app.identity.configureProvider()` (PUT semantics: omitted fields take their defaults). */
export interface IdentityProviderOptions {
  /** The OpenID Provider's issuer URL (https); `{issuer}/.well-known/openid-configuration` must name the same issuer. */
  readonly issuer: string;
  /** The `aud` the ID tokens carry (usually your OAuth client id at the IDP). */
  readonly audience: string;
  /** Accepted JWS algorithms; default `['RS256', 'ES256', 'EdDSA']`. */
  readonly algorithms?: readonly UserTokenAlgorithm[];
  /** Claim holding the stable user id; default `sub`. Locked once a user has been seen. */
  readonly userIdClaim?: string;
  /** Claim holding the email, or `null`. Locked once a user has been seen. */
  readonly emailClaim?: string | null;
  /** Claim holding the user's group ids, or `null`. Locked once a user has been seen. */
  readonly groupsClaim?: string | null;
}

/** The app's identity provider. Frozen. */
export interface IdentityProvider {
  readonly idpId: string;
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly userIdClaim: string;
  readonly emailClaim: string | null;
  readonly groupsClaim: string | null;
  /** Discovered from the issuer's OpenID configuration. */
  readonly jwksUri: string;
  /** Whether the claim mappings are locked (a user has been seen). */
  readonly claimsLocked: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Result of `app.verifyUserToken()`. Frozen. */
export interface VerifiedUserToken {
  readonly valid: true;
  readonly appUserId: string;
  readonly subject: string;
  readonly email: string | null;
  readonly groups: readonly string[];
}

/** Result of `app.resolveIdentity()`. Frozen. */
export interface ResolvedIdentity {
  readonly appUserId: string;
  /** External group ids from the token's group claim. */
  readonly groupIds: readonly string[];
  readonly userStatus: 'active';
}

/** Wire body of `PUT /v1/identity/provider`. */
export interface WireIdentityProviderInput {
  issuer: string;
  audience: string;
  algorithms?: UserTokenAlgorithm[];
  user_id_claim?: string;
  email_claim?: string | null;
  groups_claim?: string | null;
}

/** Wire form of the identity provider. */
export interface WireIdentityProvider {
  idp_id: string;
  issuer: string;
  audience: string;
  algorithms: string[];
  user_id_claim: string;
  email_claim: string | null;
  groups_claim: string | null;
  jwks_uri: string;
  claims_locked: boolean;
  created_at: string;
  updated_at: string;
}

/** Wire body of `POST /v1/identity/verify` and `/resolve`. */
export interface WireUserTokenBody {
  user_token: string;
}

/** Wire answer of `POST /v1/identity/verify`. */
export interface WireVerifyUserTokenResult {
  valid: true;
  app_user_id: string;
  subject: string;
  email: string | null;
  groups: string[];
}

/** Wire answer of `POST /v1/identity/resolve`. */
export interface WireResolveIdentityResult {
  app_user_id: string;
  group_ids: string[];
  user_status: 'active';
}

function assertClaim(v: unknown, name: string): void {
  if (v !== undefined && v !== null) assertString(v, name, 200);
}

/** Maps provider options to the wire. @throws {LatchkeyValueError} On bad arguments. */
export function toWireIdentityProvider(o: IdentityProviderOptions): WireIdentityProviderInput {
  if (!isObject(o)) throw new LatchkeyValueError('options must be an object with issuer and audience.');
  assertString(o.issuer, 'issuer', 2048);
  assertString(o.audience, 'audience', 512);
  assertClaim(o.userIdClaim, 'userIdClaim');
  assertClaim(o.emailClaim, 'emailClaim');
  assertClaim(o.groupsClaim, 'groupsClaim');
  if (o.userIdClaim === null) throw new LatchkeyValueError('userIdClaim cannot be null.');
  const w: WireIdentityProviderInput = { issuer: o.issuer, audience: o.audience };
  if (o.algorithms !== undefined) {
    if (!Array.isArray(o.algorithms) || o.algorithms.length === 0) {
      throw new LatchkeyValueError('algorithms must be a non-empty array.');
    }
    w.algorithms = [...o.algorithms];
  }
  if (o.userIdClaim !== undefined) w.user_id_claim = o.userIdClaim;
  if (o.emailClaim !== undefined) w.email_claim = o.emailClaim;
  if (o.groupsClaim !== undefined) w.groups_claim = o.groupsClaim;
  return w;
}

/** Maps the wire provider to a frozen {@link IdentityProvider}. */
export function toIdentityProvider(w: WireIdentityProvider): IdentityProvider {
  return deepFreeze({
    idpId: w.idp_id,
    issuer: w.issuer,
    audience: w.audience,
    algorithms: [...w.algorithms],
    userIdClaim: w.user_id_claim,
    emailClaim: w.email_claim,
    groupsClaim: w.groups_claim,
    jwksUri: w.jwks_uri,
    claimsLocked: w.claims_locked,
    createdAt: toDate(w.created_at),
    updatedAt: toDate(w.updated_at),
  });
}

function tokenBody(userToken: string): WireUserTokenBody {
  assertString(userToken, 'userToken', 8192);
  return { user_token: userToken };
}

/**
 * The app's identity provider: `configureProvider` (`PUT /v1/identity/provider`, `identity:write`)
 * and `getProvider` (`GET`, `identity:read`).
 */
export class IdentityClient {
  readonly #t: Transport;
  /** @param transport The app's transport. */
  constructor(transport: Transport) {
    this.#t = transport;
  }

  /**
   * Configures (or replaces) the app's identity provider. The server fetches
   * `{issuer}/.well-known/openid-configuration` through its egress guard and keeps its `jwks_uri`.
   *
   * @param options `{ issuer, audience, algorithms?, userIdClaim? = 'sub', emailClaim?, groupsClaim? }`.
   * @returns The provider (frozen).
   * @throws {LatchkeyValueError} Bad arguments, before any I/O.
   * @throws {ConflictError} `identity_claims_locked`: claim mappings changed after users were seen.
   * @throws {BackendError} `identity_discovery_failed` (see `details.reason`), `invalid_request`.
   * @example
   * await app.identity.configureProvider({
   *   issuer: 'https://login.example.com', audience: 'my-client-id', groupsClaim: 'groups',
   * })
   */
  configureProvider(options: IdentityProviderOptions): Promise<IdentityProvider> {
    const body = toWireIdentityProvider(options);
    return this.#t.json('PUT', '/v1/identity/provider', { body }, toIdentityProvider);
  }

  /**
   * Reads the app's identity provider.
   *
   * @throws {NotFoundError} `identity_provider_not_found`.
   * @example const { issuer, claimsLocked } = await app.identity.getProvider()
   */
  getProvider(): Promise<IdentityProvider> {
    return this.#t.json('GET', '/v1/identity/provider', {}, toIdentityProvider);
  }
}

/** `POST /v1/identity/verify`. */
export async function verifyUserToken(t: Transport, userToken: string): Promise<VerifiedUserToken> {
  return t.json('POST', '/v1/identity/verify', { body: tokenBody(userToken) }, (w: WireVerifyUserTokenResult) =>
    deepFreeze({
      valid: true as const,
      appUserId: w.app_user_id,
      subject: w.subject,
      email: w.email,
      groups: [...w.groups],
    }),
  );
}

/** `POST /v1/identity/resolve`. */
export async function resolveIdentity(t: Transport, userToken: string): Promise<ResolvedIdentity> {
  return t.json('POST', '/v1/identity/resolve', { body: tokenBody(userToken) }, (w: WireResolveIdentityResult) =>
    deepFreeze({ appUserId: w.app_user_id, groupIds: [...w.group_ids], userStatus: w.user_status }),
  );
}
