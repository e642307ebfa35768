import { LatchkeyError } from '../../errors.js';

/** Grant lifetime inputs (seconds for TTLs, ISO for the absolute end). */
export interface GrantPolicyInput {
  expires_at?: string | undefined;
  max_ttl_seconds?: number | undefined;
  default_ttl_seconds?: number | undefined;
}

/** 9999-12-31T23:59:59.999Z: the last instant an ISO-8601 timestamp with a 4-digit year can name. */
export const MAX_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Computes a grant's expiry from its policy at issue time `now`:
 * - `expires_at` given: it is the end; it must be in the future and, with `max_ttl_seconds`, within it.
 * - else `default_ttl_seconds` given: the end is `now + default_ttl_seconds` (≤ `max_ttl_seconds`).
 * - else `max_ttl_seconds` given: the end is `now + max_ttl_seconds`.
 * - else the grant does not expire (null).
 *
 * @throws LatchkeyError `invalid_request` naming the field when the inputs contradict each other.
 */
export function computeExpiry(policy: GrantPolicyInput | undefined, now: Date): string | null {
  if (!policy) return null;
  const { expires_at, max_ttl_seconds: max, default_ttl_seconds: def } = policy;
  const bad = (message: string, field: string) =>
    new LatchkeyError('invalid_request', { message, details: { field: `grant_policy.${field}` } });
  if (def !== undefined && max !== undefined && def > max)
    throw bad('default_ttl_seconds cannot exceed max_ttl_seconds.', 'default_ttl_seconds');
  const t = now.getTime();
  if (expires_at !== undefined) {
    const end = new Date(expires_at).getTime();
    if (!(end > t)) throw bad('expires_at must be in the future.', 'expires_at');
    // An offset can push 9999-12-31 past year 9999 in UTC: stored as "+010000-…", it would break the
    // text ordering of timestamps and the response schema of every list holding the grant.
    if (end > MAX_TIMESTAMP_MS) throw bad('expires_at must be before the year 10000 (UTC).', 'expires_at');
    if (max !== undefined && end > t + max * 1000)
      throw bad('expires_at is beyond max_ttl_seconds from now.', 'expires_at');
    return new Date(end).toISOString();
  }
  if (def !== undefined) return new Date(t + def * 1000).toISOString();
  if (max !== undefined) return new Date(t + max * 1000).toISOString();
  return null;
}

/** Derived grant status at `nowIso` (DESIGN: state is derived, not stored twice). */
export function grantStatus(
  g: { revoked_at: string | null; expires_at: string | null },
  nowIso: string,
): 'active' | 'expired' | 'revoked' {
  if (g.revoked_at) return 'revoked';
  if (g.expires_at && g.expires_at <= nowIso) return 'expired';
  return 'active';
}
