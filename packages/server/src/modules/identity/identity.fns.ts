import { LatchkeyError } from '../../errors.js';

/** The claim mappings of an identity provider. */
export interface ClaimMapping {
  readonly userIdClaim: string;
  readonly emailClaim: string | null;
  readonly groupsClaim: string | null;
}

/** What a verified token says about its user. */
export interface UserClaims {
  readonly subject: string;
  readonly email: string | null;
  readonly groups: readonly string[];
}

/** Bounds on what is kept from a token's claims. */
export const CLAIM_LIMITS = { subject: 255, email: 320, groups: 200, group: 256 } as const;

/** Whether `url` may be fetched over plain http: its host (or host:port) is in `httpHosts`. */
export function isHttpAllowed(url: URL, httpHosts: readonly string[]): boolean {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port || '80';
  return [host, `${host}:${port}`, url.hostname, `${url.hostname}:${port}`].some((f) => httpHosts.includes(f));
}

/**
 * Checks an issuer URL (OIDC Discovery §2, RFC 8414 §2): absolute, `https` (or `http` for a host in
 * `httpHosts`), no userinfo, query or fragment. The issuer is kept exactly as given: ID tokens must
 * carry it byte for byte in `iss`.
 *
 * @returns the parsed URL.
 * @throws LatchkeyError `invalid_request` naming `issuer`.
 */
export function parseIssuer(issuer: string, httpHosts: readonly string[]): URL {
  const bad = (message: string) => new LatchkeyError('invalid_request', { message, details: { field: 'issuer' } });
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw bad('issuer must be an absolute URL.');
  }
  if (url.username || url.password || url.search || url.hash || issuer.includes('#') || issuer.includes('?'))
    throw bad('issuer must not have userinfo, a query or a fragment.');
  if (url.protocol === 'http:' && !isHttpAllowed(url, httpHosts))
    throw bad('issuer must use https (http only for hosts in LATCHKEY_EGRESS_ALLOW_HTTP_HOSTS).');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw bad('issuer must be an https URL.');
  return url;
}

/**
 * The discovery document's URL: the issuer without a trailing `/`, then
 * `/.well-known/openid-configuration` (OIDC Discovery §4.1).
 */
export function discoveryUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

/**
 * Reads the parts of an OpenID discovery document Latchkey uses: `issuer` must equal the configured
 * issuer exactly (OIDC Discovery §4.3), `jwks_uri` must be an https URL (or http for an allowed host).
 *
 * @returns the JWKS URI.
 * @throws LatchkeyError `identity_discovery_failed` with `details.reason`.
 */
export function readDiscovery(doc: unknown, issuer: string, httpHosts: readonly string[]): string {
  const fail = (reason: string) => new LatchkeyError('identity_discovery_failed', { details: { reason } });
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw fail('not_json_object');
  const d = doc as Record<string, unknown>;
  if (d['issuer'] !== issuer) throw fail('issuer_mismatch');
  const jwksUri = d['jwks_uri'];
  if (typeof jwksUri !== 'string' || jwksUri.length > 2048) throw fail('jwks_uri_missing');
  let url: URL;
  try {
    url = new URL(jwksUri);
  } catch {
    throw fail('jwks_uri_invalid');
  }
  const httpOk = url.protocol === 'http:' && isHttpAllowed(url, httpHosts);
  if ((url.protocol !== 'https:' && !httpOk) || url.username || url.password) throw fail('jwks_uri_not_https');
  return url.href;
}

/**
 * Maps a verified payload through the claim mappings. The user id must be a non-empty string;
 * the email a string (else null); groups an array of strings or a single string (other members are
 * ignored), bounded by {@link CLAIM_LIMITS}.
 *
 * @returns the user's claims, or a reason string when the user id claim is unusable.
 */
export function readUserClaims(payload: Record<string, unknown>, m: ClaimMapping): UserClaims | string {
  const subject = payload[m.userIdClaim];
  if (typeof subject !== 'string' || subject.length === 0) return 'user_id_claim_missing';
  if (subject.length > CLAIM_LIMITS.subject) return 'user_id_claim_too_long';
  const rawEmail = m.emailClaim ? payload[m.emailClaim] : undefined;
  const email = typeof rawEmail === 'string' && rawEmail.length <= CLAIM_LIMITS.email ? rawEmail : null;
  const rawGroups = m.groupsClaim ? payload[m.groupsClaim] : undefined;
  const list = typeof rawGroups === 'string' ? [rawGroups] : Array.isArray(rawGroups) ? rawGroups : [];
  const groups = [
    ...new Set(
      list.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= CLAIM_LIMITS.group),
    ),
  ]
    .slice(0, CLAIM_LIMITS.groups)
    .sort();
  return { subject, email, groups };
}

/** Whether two claim mappings differ (what locks once a user has been seen). */
export function claimsDiffer(a: ClaimMapping, b: ClaimMapping): boolean {
  return a.userIdClaim !== b.userIdClaim || a.emailClaim !== b.emailClaim || a.groupsClaim !== b.groupsClaim;
}

/**
 * Sorts a jose verification failure into "the token is bad" and "the keys could not be fetched".
 *
 * @returns `unavailable` for JWKS fetch failures (an `IdpFetchError` from the guarded fetch, jose's
 *   timeout, a non-200 or unparsable key set), otherwise `invalid` with the error's code as the
 *   reason (for logs only).
 */
export function classifyVerifyError(err: unknown): { kind: 'invalid' | 'unavailable'; reason: string } {
  const e = err as { code?: unknown; name?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (e?.name === 'IdpFetchError') return { kind: 'unavailable', reason: code || 'fetch_failed' };
  // jose's plain JOSEError (ERR_JOSE_GENERIC) is only thrown for a non-200 or non-JSON JWKS answer.
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC')
    return { kind: 'unavailable', reason: code };
  return { kind: 'invalid', reason: code || (typeof e?.name === 'string' ? e.name : 'unknown') };
}
