import { z } from 'zod';
import { Label, PageInfo, Timestamp } from './common.js';

/**
 * The principal a grant binds to (DESIGN §2). `user` and `group` need the app's identity provider
 * (refused with `principal_not_supported` until one is configured): a `user` grant binds to the
 * app user proven by `user_token` (an ID token of that provider); a `group` grant to every user whose
 * token lists `external_group_id` in its group claim (`idp_id`, if given, must name the app's provider).
 */
export const PrincipalInput = z.discriminatedUnion('type', [
  z.object({ type: z.literal('system'), label: Label.optional() }).strict(),
  z
    .object({
      type: z.literal('agent'),
      agent_id: z
        .string()
        .regex(/^agt_[A-Za-z0-9]{8,64}$/, 'not an agent id')
        .optional(),
      label: Label.optional(),
    })
    .strict(),
  z.object({ type: z.literal('user'), user_token: z.string().min(1).max(8192), label: Label.optional() }).strict(),
  z
    .object({
      type: z.literal('group'),
      external_group_id: z.string().min(1).max(256),
      idp_id: z.string().max(80).optional(),
      label: Label.optional(),
    })
    .strict(),
]);

/**
 * Grant lifetime policy, all optional:
 * - `expires_at`: absolute end of the grant.
 * - `default_ttl_seconds`: lifetime from issue when `expires_at` is not given.
 * - `max_ttl_seconds`: upper bound on the lifetime from issue (also for later extensions); an
 *   `expires_at` or default TTL beyond it is refused.
 * With none of them the grant does not expire.
 */
export const GrantPolicy = z
  .object({
    expires_at: Timestamp.optional(),
    max_ttl_seconds: z
      .number()
      .int()
      .min(1)
      .max(10 * 365 * 86_400)
      .optional(),
    default_ttl_seconds: z
      .number()
      .int()
      .min(1)
      .max(10 * 365 * 86_400)
      .optional(),
  })
  .strict();

/** Body of `POST /v1/managed-secrets/{id}/grants`. */
export const CreateGrantBody = z
  .object({ principal: PrincipalInput, grant_policy: GrantPolicy.optional(), label: Label.optional() })
  .strict();

/** Grant status, derived from timestamps. */
export const GrantStatus = z.enum(['active', 'expired', 'revoked']);

/** A grant as returned by the API. */
export const Grant = z.object({
  grant_id: z.string().uuid(),
  grant_kind: z.enum(['managed_secret', 'oauth']),
  managed_secret_id: z.string().nullable(),
  provider_id: z.string().nullable(),
  principal: z.object({
    type: z.enum(['system', 'agent', 'user', 'group']),
    label: z.string().nullable(),
    agent_id: z.string().nullable(),
    /** `user` grants: the app user the grant is bound to. */
    app_user_id: z.string().nullable(),
    /** `group` grants: the IDP group id and the identity provider it belongs to. */
    external_group_id: z.string().nullable(),
    idp_id: z.string().nullable(),
  }),
  label: z.string().nullable(),
  status: GrantStatus,
  grant_policy: z.object({
    expires_at: Timestamp.nullable(),
    max_ttl_seconds: z.number().int().nullable(),
    default_ttl_seconds: z.number().int().nullable(),
  }),
  created_at: Timestamp,
  expires_at: Timestamp.nullable(),
  revoked_at: Timestamp.nullable(),
  revoked_reason: z.string().nullable(),
});

/** Query of `GET /v1/grants`. */
export const ListGrantsQuery = z.object({
  provider_id: z.string().max(64).optional(),
  managed_secret_id: z.string().max(80).optional(),
  grant_kind: z.enum(['managed_secret', 'oauth']).optional(),
  status: GrantStatus.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
});

/** Response of `GET /v1/grants`. */
export const GrantList = z.object({ grants: z.array(Grant), ...PageInfo });

/** Body of `POST /v1/grants/{grant_id}/revoke`. */
export const RevokeGrantBody = z.object({ reason: z.string().max(500).optional() }).strict();

/** Path params naming a grant. */
export const GrantIdParams = z.object({ grant_id: z.string().uuid('not a grant id') });
