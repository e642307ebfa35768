import { z } from 'zod';
import { Timestamp } from './common.js';

/**
 * End-user identity (DESIGN §5 "End users"): each app may configure one OpenID Provider whose ID
 * tokens (JWTs) prove who a user is. Latchkey verifies them against the provider's JWKS and maps
 * their claims to an `app_user`.
 */

/** JWS algorithms an app may accept from its identity provider: asymmetric only, never `none` or HS*. */
export const USER_TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

/** One accepted algorithm. */
export const UserTokenAlgorithm = z.enum(USER_TOKEN_ALGORITHMS);

/** The default algorithm allow-list. */
export const DEFAULT_USER_TOKEN_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const;

/** A JWT claim name (top-level member of the payload), e.g. `sub`, `email`, `https://example.com/groups`. */
export const ClaimName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** A user token: a compact JWS (three base64url segments), at most 8192 characters. */
export const UserToken = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/, 'not a compact JWT');

/** An app user id, `usr_…`. */
export const AppUserId = z.string().regex(/^usr_[A-Za-z0-9]{8,64}$/, 'not an app user id');

/** An identity provider id, `idp_…` (stable while the issuer stays the same). */
export const IdpId = z.string().regex(/^idp_[A-Za-z0-9]{8,64}$/, 'not an identity provider id');

/**
 * Body of `PUT /v1/identity/provider`. `issuer` must be `https` (or `http` for a host in
 * `LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS`) and equal the `issuer` of its OpenID discovery document.
 * The claim mappings lock once the first user has been seen.
 */
export const IdentityProviderInput = z
  .object({
    issuer: z.string().min(1).max(2048),
    /** The `aud` the ID tokens must carry (usually the app's OAuth client id at the IDP). */
    audience: z.string().min(1).max(512),
    algorithms: z.array(UserTokenAlgorithm).min(1).max(USER_TOKEN_ALGORITHMS.length).optional(),
    /** Claim holding the stable user id; default `sub`. */
    user_id_claim: ClaimName.optional(),
    email_claim: ClaimName.nullable().optional(),
    /** Claim holding the user's group ids (an array of strings, or one string). */
    groups_claim: ClaimName.nullable().optional(),
  })
  .strict();

/** The configured identity provider (`GET`/`PUT /v1/identity/provider`). */
export const IdentityProvider = z.object({
  idp_id: z.string(),
  issuer: z.string(),
  audience: z.string(),
  algorithms: z.array(z.string()),
  user_id_claim: z.string(),
  email_claim: z.string().nullable(),
  groups_claim: z.string().nullable(),
  /** Discovered from `{issuer}/.well-known/openid-configuration`. */
  jwks_uri: z.string(),
  /** Whether the claim mappings are locked (a user has been seen). */
  claims_locked: z.boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

/** Body of `POST /v1/identity/verify` and `POST /v1/identity/resolve`. */
export const UserTokenBody = z.object({ user_token: UserToken }).strict();

/** Response of `POST /v1/identity/verify`: the verified user (created on first sight). */
export const VerifyUserTokenResult = z.object({
  valid: z.literal(true),
  app_user_id: z.string(),
  subject: z.string(),
  email: z.string().nullable(),
  groups: z.array(z.string()),
});

/** Response of `POST /v1/identity/resolve`: who the user is for grant resolution. */
export const ResolveIdentityResult = z.object({
  app_user_id: z.string(),
  /** External group ids from the token's group claim. */
  group_ids: z.array(z.string()),
  user_status: z.enum(['active']),
});
