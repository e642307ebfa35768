import { createHmac } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { LatchkeyError } from '../../errors.js';

/** Public key id of an API key: `key_` + 24 hex of HMAC-SHA256(api_key, "latchkey-key-id-v1"). */
export function deriveKeyId(apiKey: string): string {
  return `key_${createHmac('sha256', apiKey).update('latchkey-key-id-v1').digest('hex').slice(0, 24)}`;
}

/** The first 12 characters of a key, shown in lists and audit rows. */
export function keyPrefixOf(apiKey: string): string {
  return apiKey.slice(0, 12);
}

/** Derived status of a key at `nowIso`. */
export function keyStatus(
  row: { status: string; revoked_at: string | null; expires_at: string | null },
  nowIso: string,
) {
  if (row.revoked_at) return 'revoked' as const;
  if (row.expires_at && row.expires_at <= nowIso) return 'expired' as const;
  return row.status === 'deprecated' ? ('deprecated' as const) : ('active' as const);
}

/** Whether `c` parses as a CIDR (the schema only checks its shape). */
export function isValidCidr(c: string): boolean {
  try {
    ipaddr.parseCIDR(c);
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks the options every minted key shares (app and agent keys) against the clock `now`.
 *
 * @throws LatchkeyError `invalid_request` naming the field: `expires_at` not in the future or past
 *   the year 9999 (UTC), or a CIDR that does not parse.
 */
export function assertKeyOptions(
  input: { expires_at?: string | undefined; cidrs?: readonly string[] | undefined },
  now: Date,
): void {
  if (input.expires_at && new Date(input.expires_at).getTime() <= now.getTime()) {
    throw new LatchkeyError('invalid_request', {
      message: 'expires_at must be in the future.',
      details: { field: 'expires_at' },
    });
  }
  // Past year 9999 in UTC the ISO form is "+010000-…": it breaks text ordering and the key list.
  if (input.expires_at && new Date(input.expires_at).getUTCFullYear() > 9999) {
    throw new LatchkeyError('invalid_request', {
      message: 'expires_at must be before the year 10000 (UTC).',
      details: { field: 'expires_at' },
    });
  }
  // The schema checks the CIDR shape only; an unparsable entry would store a key usable from nowhere.
  for (const c of input.cidrs ?? []) {
    if (!isValidCidr(c))
      throw new LatchkeyError('invalid_request', {
        message: 'cidrs holds an entry that is not a valid CIDR.',
        details: { field: 'cidrs' },
      });
  }
}

/** Whether a key row counts as active at `nowIso`: not revoked, not deprecated, not expired. */
export function isActiveKey(
  row: { status: string; revoked_at: string | null; expires_at: string | null },
  nowIso: string,
): boolean {
  return keyStatus(row, nowIso) === 'active';
}
