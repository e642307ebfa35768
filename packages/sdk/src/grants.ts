/**
 * Grants: issue a managed-secret grant to a principal, read, list and revoke grants. Wire mapping is
 * explicit per field. Internal; `App` exposes these as methods.
 */
import { LatchkeyValueError } from './errors.js';
import type { Transport } from './transport.js';
import {
  assertGrantId,
  assertOptionalInt,
  assertOptionalString,
  assertString,
  isObject,
  toIsoTimestamp,
} from './validate.js';
import { deepFreeze, seg, toDate, toDateOrNull, toPage, type Page, type WirePage } from './wire.js';

/**
 * Who a grant is for (DESIGN §2). `user` (bound to the user the ID token proves) and `group` (every
 * user whose token lists the group) need the app's identity provider (until it is configured the
 * server answers `principal_not_supported`).
 */
export type Principal =
  | { readonly type: 'system'; readonly label?: string }
  | { readonly type: 'agent'; readonly agentId?: string; readonly label?: string }
  | { readonly type: 'user'; readonly userToken: string; readonly label?: string }
  | { readonly type: 'group'; readonly externalGroupId: string; readonly idpId?: string; readonly label?: string };

/** Grant lifetime. With none of the fields the grant does not expire. */
export interface GrantPolicyInput {
  /** Absolute end of the grant. */
  readonly expiresAt?: Date | string;
  /** Upper bound on the lifetime from issue, in seconds (also caps later extensions). */
  readonly maxTtlSeconds?: number;
  /** Lifetime from issue when `expiresAt` is not given, in seconds. */
  readonly defaultTtlSeconds?: number;
}

/** Options of `App.createManagedSecretGrant()`. */
export interface CreateGrantOptions {
  /** Who may use the grant. */
  readonly principal: Principal;
  /** Lifetime policy. */
  readonly grantPolicy?: GrantPolicyInput;
  /** Human label (≤ 200 chars). */
  readonly label?: string;
}

/** Derived grant status. */
export type GrantStatus = 'active' | 'expired' | 'revoked';

/** Kind of credential behind a grant. */
export type GrantKind = 'managed_secret' | 'oauth';

/** A grant. Frozen. Timestamps are `Date`s. */
export interface Grant {
  readonly grantId: string;
  readonly grantKind: GrantKind;
  readonly managedSecretId: string | null;
  readonly providerId: string | null;
  readonly principal: {
    readonly type: 'system' | 'agent' | 'user' | 'group';
    readonly label: string | null;
    readonly agentId: string | null;
    /** `user` grants: the bound app user (`usr_…`). */
    readonly appUserId: string | null;
    /** `group` grants: the IDP group id and the identity provider (`idp_…`). */
    readonly externalGroupId: string | null;
    readonly idpId: string | null;
  };
  readonly label: string | null;
  readonly status: GrantStatus;
  readonly grantPolicy: {
    readonly expiresAt: Date | null;
    readonly maxTtlSeconds: number | null;
    readonly defaultTtlSeconds: number | null;
  };
  readonly createdAt: Date;
  readonly expiresAt: Date | null;
  readonly revokedAt: Date | null;
  readonly revokedReason: string | null;
}

/** Result of `App.createManagedSecretGrant()`: the new grant. */
export type CreateGrantResult = Grant;

/** Result of `App.revokeGrant()`: the grant, now `revoked`. */
export type RevokeGrantResult = Grant;

/** Filters of `App.listGrants()`. */
export interface ListGrantsOptions {
  readonly providerId?: string;
  readonly managedSecretId?: string;
  readonly grantKind?: GrantKind;
  readonly status?: GrantStatus;
  /** Page size, 1–500 (default 100). */
  readonly limit?: number;
  /** Items to skip (default 0). */
  readonly offset?: number;
}

/** A page of grants of every kind. Frozen. */
export interface UnifiedGrantListResult extends Page {
  readonly grants: readonly Grant[];
}

/** Wire form of a principal in a create body. */
export type WirePrincipalInput =
  | { type: 'system'; label?: string }
  | { type: 'agent'; agent_id?: string; label?: string }
  | { type: 'user'; user_token: string; label?: string }
  | { type: 'group'; external_group_id: string; idp_id?: string; label?: string };

/** Wire body of `POST /v1/managed-secrets/{id}/grants`. */
export interface WireCreateGrantBody {
  principal: WirePrincipalInput;
  grant_policy?: { expires_at?: string; max_ttl_seconds?: number; default_ttl_seconds?: number };
  label?: string;
}

/** Wire form of a grant. */
export interface WireGrant {
  grant_id: string;
  grant_kind: GrantKind;
  managed_secret_id: string | null;
  provider_id: string | null;
  principal: {
    type: 'system' | 'agent' | 'user' | 'group';
    label: string | null;
    agent_id: string | null;
    app_user_id: string | null;
    external_group_id: string | null;
    idp_id: string | null;
  };
  label: string | null;
  status: GrantStatus;
  grant_policy: { expires_at: string | null; max_ttl_seconds: number | null; default_ttl_seconds: number | null };
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_reason: string | null;
}

/** Wire answer of `GET /v1/grants`. */
export interface WireGrantList extends WirePage {
  grants: WireGrant[];
}

const MAX_TTL = 10 * 365 * 86_400;

function withLabel<T extends object>(wire: T, label: string | undefined): T & { label?: string } {
  assertOptionalString(label, 'principal.label', 200);
  return label === undefined ? wire : { ...wire, label };
}

/** Maps a principal to the wire. @throws {LatchkeyValueError} On an unknown type or missing field. */
export function toWirePrincipal(p: Principal): WirePrincipalInput {
  if (!isObject(p)) throw new LatchkeyValueError('principal must be an object with a type.');
  switch (p.type) {
    case 'system':
      return withLabel({ type: 'system' as const }, p.label);
    case 'agent': {
      assertOptionalString(p.agentId, 'principal.agentId', 80);
      const w: WirePrincipalInput = { type: 'agent' };
      if (p.agentId !== undefined) w.agent_id = p.agentId;
      return withLabel(w, p.label);
    }
    case 'user':
      assertString(p.userToken, 'principal.userToken', 8192);
      return withLabel({ type: 'user' as const, user_token: p.userToken }, p.label);
    case 'group': {
      assertString(p.externalGroupId, 'principal.externalGroupId', 256);
      assertOptionalString(p.idpId, 'principal.idpId', 256);
      const w: WirePrincipalInput = { type: 'group', external_group_id: p.externalGroupId };
      if (p.idpId !== undefined) w.idp_id = p.idpId;
      return withLabel(w, p.label);
    }
    default:
      throw new LatchkeyValueError("principal.type must be 'system', 'agent', 'user' or 'group'.");
  }
}

/** Maps create-grant options to the wire body. @throws {LatchkeyValueError} On bad arguments. */
export function toWireCreateGrant(options: CreateGrantOptions): WireCreateGrantBody {
  if (!isObject(options)) throw new LatchkeyValueError('options must be an object with a principal.');
  const body: WireCreateGrantBody = { principal: toWirePrincipal(options.principal) };
  const gp = options.grantPolicy;
  if (gp !== undefined) {
    if (!isObject(gp)) throw new LatchkeyValueError('grantPolicy must be an object.');
    assertOptionalInt(gp.maxTtlSeconds, 'grantPolicy.maxTtlSeconds', 1, MAX_TTL);
    assertOptionalInt(gp.defaultTtlSeconds, 'grantPolicy.defaultTtlSeconds', 1, MAX_TTL);
    const w: NonNullable<WireCreateGrantBody['grant_policy']> = {};
    if (gp.expiresAt !== undefined) w.expires_at = toIsoTimestamp(gp.expiresAt, 'grantPolicy.expiresAt');
    if (gp.maxTtlSeconds !== undefined) w.max_ttl_seconds = gp.maxTtlSeconds;
    if (gp.defaultTtlSeconds !== undefined) w.default_ttl_seconds = gp.defaultTtlSeconds;
    body.grant_policy = w;
  }
  assertOptionalString(options.label, 'label', 200);
  if (options.label !== undefined) body.label = options.label;
  return body;
}

/** Maps a wire grant to a frozen {@link Grant}. */
export function toGrant(w: WireGrant): Grant {
  return deepFreeze({
    grantId: w.grant_id,
    grantKind: w.grant_kind,
    managedSecretId: w.managed_secret_id,
    providerId: w.provider_id,
    principal: {
      type: w.principal.type,
      label: w.principal.label,
      agentId: w.principal.agent_id,
      appUserId: w.principal.app_user_id,
      externalGroupId: w.principal.external_group_id,
      idpId: w.principal.idp_id,
    },
    label: w.label,
    status: w.status,
    grantPolicy: {
      expiresAt: toDateOrNull(w.grant_policy.expires_at),
      maxTtlSeconds: w.grant_policy.max_ttl_seconds,
      defaultTtlSeconds: w.grant_policy.default_ttl_seconds,
    },
    createdAt: toDate(w.created_at),
    expiresAt: toDateOrNull(w.expires_at),
    revokedAt: toDateOrNull(w.revoked_at),
    revokedReason: w.revoked_reason,
  });
}

/** `POST /v1/managed-secrets/{id}/grants`. */
export async function createManagedSecretGrant(
  t: Transport,
  managedSecretId: string,
  options: CreateGrantOptions,
): Promise<CreateGrantResult> {
  assertString(managedSecretId, 'managedSecretId', 80);
  const body = toWireCreateGrant(options);
  return t.json('POST', `/v1/managed-secrets/${seg(managedSecretId)}/grants`, { body }, toGrant);
}

/** `GET /v1/grants/{grant_id}`. */
export async function getGrant(t: Transport, grantId: string): Promise<Grant> {
  assertGrantId(grantId);
  return t.json('GET', `/v1/grants/${seg(grantId)}`, {}, toGrant);
}

/** `GET /v1/grants`. */
export async function listGrants(t: Transport, options: ListGrantsOptions = {}): Promise<UnifiedGrantListResult> {
  if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
  assertOptionalInt(options.limit, 'limit', 1, 500);
  assertOptionalInt(options.offset, 'offset', 0, 1_000_000_000);
  assertOptionalString(options.providerId, 'providerId', 64);
  assertOptionalString(options.managedSecretId, 'managedSecretId', 80);
  assertOptionalString(options.grantKind, 'grantKind', 20);
  assertOptionalString(options.status, 'status', 20);
  return t.json(
    'GET',
    '/v1/grants',
    {
      query: {
        provider_id: options.providerId,
        managed_secret_id: options.managedSecretId,
        grant_kind: options.grantKind,
        status: options.status,
        limit: options.limit ?? 100,
        offset: options.offset ?? 0,
      },
    },
    (w: WireGrantList) => Object.freeze({ grants: Object.freeze(w.grants.map(toGrant)), ...toPage(w) }),
  );
}

/** `POST /v1/grants/{grant_id}/revoke`. */
export async function revokeGrant(
  t: Transport,
  grantId: string,
  options: { readonly reason?: string } = {},
): Promise<RevokeGrantResult> {
  assertGrantId(grantId);
  if (!isObject(options)) throw new LatchkeyValueError('options must be an object.');
  assertOptionalString(options.reason, 'reason', 500);
  const body = options.reason === undefined ? {} : { reason: options.reason };
  return t.json('POST', `/v1/grants/${seg(grantId)}/revoke`, { body }, toGrant);
}
