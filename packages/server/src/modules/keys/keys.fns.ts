import { createHmac } from 'node:crypto';

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
