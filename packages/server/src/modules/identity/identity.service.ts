import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { DEFAULT_USER_TOKEN_ALGORITHMS, type IdentityProvider, type IdentityProviderInput } from '@latchkey/api';
import type { Cache, InvalidationBus } from '../../coordination/index.js';
import { LatchkeyError } from '../../errors.js';
import type { Db, IdentityProvidersTable } from '../../store/types.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Actor } from '../keys/keys.service.js';
import {
  classifyVerifyError,
  claimsDiffer,
  discoveryUrl,
  parseIssuer,
  readDiscovery,
  readUserClaims,
  type ClaimMapping,
} from './identity.fns.js';
import type { IdpFetch } from './idp-fetch.js';
import * as repo from './identity.repo.js';

type ProviderT = z.infer<typeof IdentityProvider>;

/** Leeway for `exp`, `nbf` and `iat` (DESIGN §5: at most 60 s). */
export const USER_TOKEN_CLOCK_TOLERANCE_S = 60;
/** How often a returning user's row is refreshed at most (`last_seen_at`), unless its claims changed. */
const TOUCH_INTERVAL_MS = 60_000;

/** A user proven by a verified ID token. */
export interface VerifiedUser {
  readonly appUserId: string;
  /** The identity provider that issued the token (`idp_…`). */
  readonly idpId: string;
  readonly subject: string;
  readonly email: string | null;
  /** External group ids from the token's group claim (sorted, deduplicated). */
  readonly groups: readonly string[];
}

/** The provider as the hot path needs it (cached per replica, invalidated through the bus). */
export interface CachedProvider {
  readonly idpId: string;
  readonly issuer: string;
  readonly audience: string;
  readonly algorithms: readonly string[];
  readonly mapping: ClaimMapping;
  readonly jwksUri: string;
}

/** A cached user row: what was last written, to skip writes for a returning user. */
export interface CachedUser {
  readonly id: string;
  readonly email: string | null;
  readonly groups: string;
  readonly touchedAtMs: number;
}

/** End users of an app, proven by ID tokens of the app's identity provider (DESIGN §5). */
export interface IdentityService {
  /** @throws `identity_provider_not_found` */
  getProvider(appId: string): Promise<ProviderT>;
  /**
   * Configures (or replaces) the app's identity provider after OIDC discovery. Omitted optional
   * fields take their defaults (PUT semantics).
   * @throws `invalid_request`, `identity_claims_locked`, `identity_discovery_failed`, `audit_unavailable`
   */
  configureProvider(appId: string, input: z.infer<typeof IdentityProviderInput>, actor: Actor): Promise<ProviderT>;
  /** The app's provider id, or null when none is configured. */
  providerRef(appId: string): Promise<{ idpId: string } | null>;
  /**
   * Verifies an ID token (signature against the provider's JWKS, `iss`, `aud`, algorithm allow-list,
   * `exp`/`nbf` with 60 s leeway) and returns its user, created on first sight.
   * @throws `identity_provider_not_found`, `invalid_user_token`, `identity_provider_unavailable`
   */
  verifyUserToken(appId: string, token: string): Promise<VerifiedUser>;
}

/**
 * Creates the identity service.
 *
 * @param deps `db`, `audit`, `fetch` (egress-guarded, see `createIdpFetch`), `httpHosts` allowed over
 *   plain http, provider `cache` (kind `identity`, id = app id) and `bus`, `users` cache, `jwks`
 *   timings in milliseconds (`cooldownMs`: least time between two refetches for an unknown `kid`;
 *   `cacheMaxAgeMs`: refetch after this age), `log`, optional clock `now`.
 */
export function createIdentityService(deps: {
  db: Db;
  audit: Pick<AuditService, 'record' | 'recordBestEffort' | 'assertWritable'>;
  fetch: IdpFetch;
  httpHosts: readonly string[];
  cache: Cache<{ p: CachedProvider | null }>;
  users: Cache<CachedUser>;
  bus: Pick<InvalidationBus, 'publish'>;
  jwks: { cooldownMs: number; cacheMaxAgeMs: number };
  log: Pick<Logger, 'debug' | 'warn'>;
  now?: () => Date;
}): IdentityService {
  const { db, audit, cache, users, bus, log } = deps;
  const now = deps.now ?? (() => new Date());
  // One remote key set per app; jose refetches it on an unknown `kid` (after the cooldown) and when stale.
  const keySets = new Map<string, { jwksUri: string; get: JWTVerifyGetKey }>();

  function toCached(r: IdentityProvidersTable): CachedProvider {
    return Object.freeze({
      idpId: r.id,
      issuer: r.issuer,
      audience: r.audience,
      algorithms: Object.freeze(JSON.parse(r.algorithms) as string[]),
      mapping: { userIdClaim: r.user_id_claim, emailClaim: r.email_claim, groupsClaim: r.groups_claim },
      jwksUri: r.jwks_uri,
    });
  }

  async function toProvider(r: IdentityProvidersTable): Promise<ProviderT> {
    return {
      idp_id: r.id,
      issuer: r.issuer,
      audience: r.audience,
      algorithms: JSON.parse(r.algorithms) as string[],
      user_id_claim: r.user_id_claim,
      email_claim: r.email_claim,
      groups_claim: r.groups_claim,
      jwks_uri: r.jwks_uri,
      claims_locked: await repo.hasUsers(db, r.app_id),
      created_at: r.created_at,
      updated_at: r.updated_at,
    };
  }

  async function loadProvider(appId: string): Promise<CachedProvider | null> {
    const { p } = await cache.getOrLoad(appId, async () => {
      const row = await repo.findProvider(db, appId);
      return { p: row ? toCached(row) : null };
    });
    return p;
  }

  function keySetFor(appId: string, p: CachedProvider): JWTVerifyGetKey {
    const hit = keySets.get(appId);
    if (hit && hit.jwksUri === p.jwksUri) return hit.get;
    const get = createRemoteJWKSet(new URL(p.jwksUri), {
      [customFetch]: deps.fetch,
      cooldownDuration: deps.jwks.cooldownMs,
      cacheMaxAge: deps.jwks.cacheMaxAgeMs,
      timeoutDuration: 5_000,
    });
    keySets.set(appId, { jwksUri: p.jwksUri, get });
    return get;
  }

  /** Fetches the discovery document (no redirects, bounded, through the egress guard). */
  async function discover(issuer: string): Promise<string> {
    let doc: unknown;
    try {
      const res = await deps.fetch(discoveryUrl(issuer).href, {});
      if (res.status !== 200)
        throw new LatchkeyError('identity_discovery_failed', {
          details: { reason: 'http_status', status: res.status },
        });
      doc = await res.json();
    } catch (err) {
      if (err instanceof LatchkeyError) throw err;
      const code = (err as { code?: unknown }).code;
      const reason = err instanceof SyntaxError ? 'not_json' : typeof code === 'string' ? code : 'unreachable';
      throw new LatchkeyError('identity_discovery_failed', { details: { reason }, cause: err });
    }
    return readDiscovery(doc, issuer, deps.httpHosts);
  }

  async function ensureUser(appId: string, p: CachedProvider, c: Exclude<ReturnType<typeof readUserClaims>, string>) {
    const key = `${appId}\n${p.issuer}\n${c.subject}`;
    const groups = JSON.stringify(c.groups);
    const at = now();
    const hit = users.get(key);
    if (hit && hit.email === c.email && hit.groups === groups && at.getTime() - hit.touchedAtMs < TOUCH_INTERVAL_MS)
      return hit.id;
    const nowIso = at.toISOString();
    let row = await repo.findUser(db, appId, p.issuer, c.subject);
    if (!row) {
      const fresh = {
        id: `usr_${randomBytes(12).toString('hex')}`,
        app_id: appId,
        idp_issuer: p.issuer,
        subject: c.subject,
        email: c.email,
        groups,
        first_seen_at: nowIso,
        last_seen_at: nowIso,
      };
      if (await repo.insertUserIfAbsent(db, fresh)) {
        row = fresh;
        await audit.recordBestEffort({
          event: 'app_user.created',
          appId,
          outcome: 'success',
          appUserId: fresh.id,
          details: { idp_id: p.idpId },
        });
      } else {
        // Created concurrently by another request.
        row = (await repo.findUser(db, appId, p.issuer, c.subject))!;
      }
    } else if (
      row.email !== c.email ||
      row.groups !== groups ||
      at.getTime() - Date.parse(row.last_seen_at) >= TOUCH_INTERVAL_MS
    ) {
      await repo.touchUser(db, row.id, { email: c.email, groups, last_seen_at: nowIso });
    }
    users.set(key, { id: row.id, email: c.email, groups, touchedAtMs: at.getTime() });
    return row.id;
  }

  return {
    async getProvider(appId) {
      const row = await repo.findProvider(db, appId);
      if (!row) throw new LatchkeyError('identity_provider_not_found');
      return toProvider(row);
    },

    async configureProvider(appId, input, actor) {
      audit.assertWritable();
      parseIssuer(input.issuer, deps.httpHosts);
      const mapping: ClaimMapping = {
        userIdClaim: input.user_id_claim ?? 'sub',
        emailClaim: input.email_claim ?? null,
        groupsClaim: input.groups_claim ?? null,
      };
      const existing = await repo.findProvider(db, appId);
      if (existing && (await repo.hasUsers(db, appId))) {
        const before = {
          userIdClaim: existing.user_id_claim,
          emailClaim: existing.email_claim,
          groupsClaim: existing.groups_claim,
        };
        if (claimsDiffer(before, mapping))
          throw new LatchkeyError('identity_claims_locked', {
            details: {
              user_id_claim: before.userIdClaim,
              email_claim: before.emailClaim,
              groups_claim: before.groupsClaim,
            },
          });
      }
      // Network before any write (CONVENTIONS rule 5).
      const jwksUri = await discover(input.issuer);
      const ts = now().toISOString();
      const row: IdentityProvidersTable = {
        app_id: appId,
        // The id names the issuer: group grants made for one issuer never match another's groups.
        id: existing && existing.issuer === input.issuer ? existing.id : `idp_${randomBytes(12).toString('hex')}`,
        issuer: input.issuer,
        audience: input.audience,
        algorithms: JSON.stringify([...new Set(input.algorithms ?? DEFAULT_USER_TOKEN_ALGORITHMS)]),
        user_id_claim: mapping.userIdClaim,
        email_claim: mapping.emailClaim,
        groups_claim: mapping.groupsClaim,
        jwks_uri: jwksUri,
        created_at: existing?.created_at ?? ts,
        updated_at: ts,
      };
      await repo.upsertProvider(db, row);
      bus.publish('identity', appId);
      await audit.record({
        event: 'identity.provider.configured',
        appId,
        actor,
        outcome: 'success',
        details: { idp_id: row.id, issuer: row.issuer, audience: row.audience, algorithms: row.algorithms },
      });
      return toProvider(row);
    },

    async providerRef(appId) {
      const p = await loadProvider(appId);
      return p ? { idpId: p.idpId } : null;
    },

    async verifyUserToken(appId, token) {
      const p = await loadProvider(appId);
      if (!p) throw new LatchkeyError('identity_provider_not_found');
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, keySetFor(appId, p), {
          issuer: p.issuer,
          audience: p.audience,
          algorithms: [...p.algorithms],
          clockTolerance: USER_TOKEN_CLOCK_TOLERANCE_S,
          // A token without an expiry would prove the user forever.
          requiredClaims: ['exp'],
          currentDate: now(),
        }));
      } catch (err) {
        const c = classifyVerifyError(err);
        if (c.kind === 'unavailable') {
          log.warn({ app_id: appId, reason: c.reason }, 'identity provider keys could not be fetched');
          throw new LatchkeyError('identity_provider_unavailable', { headers: { 'retry-after': '1' } });
        }
        log.debug({ app_id: appId, reason: c.reason }, 'user token refused');
        throw new LatchkeyError('invalid_user_token');
      }
      const claims = readUserClaims(payload, p.mapping);
      if (typeof claims === 'string') {
        log.debug({ app_id: appId, reason: claims }, 'user token refused');
        throw new LatchkeyError('invalid_user_token');
      }
      const appUserId = await ensureUser(appId, p, claims);
      return Object.freeze({ appUserId, idpId: p.idpId, ...claims });
    },
  };
}
