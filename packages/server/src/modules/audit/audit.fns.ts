// The chain's bytes live in `audit.chain.mjs`, plain JavaScript shared with the insert thread.
export { canonicalJson, chainHash, GENESIS_HASH } from './audit.chain.mjs';

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
