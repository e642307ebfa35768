import { hash } from 'node:crypto';

/** prev_hash of the first row of every chain. */
export const GENESIS_HASH = '0'.repeat(64);
const DOMAIN = 'latchkey-audit-v1';

/**
 * Canonical JSON: object keys sorted at every depth, no whitespace, `undefined` members dropped.
 * Used for the hash chain, so the same record always hashes the same on every replica.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** hash = SHA-256("latchkey-audit-v1" | prev_hash | canonical JSON of the record), hex (DESIGN §9). */
export function chainHash(prevHash: string, canonicalRecord: string): string {
  // One-shot `crypto.hash` (Node ≥ 20.12): no Hash object per row.
  return hash('sha256', `${DOMAIN}|${prevHash}|${canonicalRecord}`, 'hex');
}

/**
 * Redacts query values from a URL for audit rows: `https://h/p?a=1&b=2` → `https://h/p?a=[REDACTED]&b=[REDACTED]`.
 * Fragments and userinfo are dropped.
 */
export function redactUrl(url: URL): string {
  // Most calls carry no query: skip building URLSearchParams (measurable on the hot path).
  if (url.search === '') return `${url.protocol}//${url.host}${url.pathname}`;
  const keys = [...url.searchParams.keys()];
  const q = keys.length ? `?${keys.map((k) => `${encodeURIComponent(k)}=[REDACTED]`).join('&')}` : '';
  return `${url.protocol}//${url.host}${url.pathname}${q}`;
}
